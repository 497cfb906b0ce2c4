"""Reply parser: bytes in, complete SMTP replies out (RFC 5321 §4.2).

Theory of operation: bytes are buffered and cut into lines at LF. Each line
keeps its raw bytes and its terminator, so a bare LF or a missing separator
is evidence rather than something silently repaired. Lines are grouped into a
reply until a line whose fourth octet is not ``-`` (RFC 5321 §4.2.1). Breaks
of the grammar become :class:`Anomaly` records on the reply; only the hard
caps (line length, lines and bytes per reply) raise :class:`RemoteProtocolError`,
because past them no honest server exists and memory must stay bounded.

The buffer is scanned from where the previous search stopped, so feeding n
bytes costs O(n) however they are split (the h11 receive-buffer rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import RemoteProtocolError

#: RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF.
RFC_REPLY_LINE_LIMIT = 512
#: Past this a line is not kept at all (smtplib uses 8192 too).
HARD_LINE_LIMIT = 8192
#: Past this many lines one reply is refused (real EHLO replies have < 40).
HARD_LINES_PER_REPLY = 1000
#: Past this many bytes one reply is refused, whatever its lines (real EHLO replies: < 1 KB). Lines
#: and line count alone let 1,000 lines of 8 KB through: 8 MB that cost half a gigabyte parsed.
HARD_REPLY_BYTES = 64 * 1024
#: Anomalies kept per reply; past this only their number grows (a hostile reply repeats one).
MAX_ANOMALIES = 16

_ENHANCED = re.compile(rb"^([245])\.(\d{1,3})\.(\d{1,3})(?=[ \t]|$)")


@dataclass(frozen=True)
class Anomaly:
    """A break of the reply grammar, with the bytes that show it."""

    kind: str
    evidence: str
    line_index: int

    def describe(self) -> str:
        return f"{self.kind} (line {self.line_index + 1}): {self.evidence}"


@dataclass(frozen=True)
class ReplyLine:
    raw: bytes          #: the line exactly as received, terminator included
    code: bytes         #: the first three octets (may be malformed)
    separator: bytes    #: b"-", b" ", b"" (code-only line) or whatever stood there
    text: str           #: what follows the separator, decoded for display
    terminator: bytes   #: b"\r\n", b"\n" (bare LF) or b"" (cut by end of stream)


@dataclass(frozen=True)
class Reply:
    """One complete reply: every line, its code, enhanced code and anomalies."""

    lines: tuple[ReplyLine, ...]
    anomalies: tuple[Anomaly, ...] = field(default=())

    @property
    def code(self) -> int | None:
        """The reply code of the final line, or None when it is not three digits."""
        code = self.lines[-1].code
        return int(code) if len(code) == 3 and code.isdigit() else None

    @property
    def enhanced_code(self) -> str | None:
        """RFC 3463 status code (``class.subject.detail``) of the first line, if any."""
        match = _ENHANCED.match(self.lines[0].text.encode("utf-8", "surrogateescape"))
        return match.group(0).decode() if match else None

    @property
    def raw(self) -> bytes:
        return b"".join(line.raw for line in self.lines)

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(line.text for line in self.lines)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def is_positive(self) -> bool:
        return self.code is not None and 200 <= self.code < 400

    def summary(self) -> str:
        """First line as the server wrote it, for one-line messages."""
        first = self.lines[0]
        return (first.code + first.separator).decode("ascii", "backslashreplace") + first.text


def _show(data: bytes, limit: int = 60) -> str:
    shown = repr(bytes(data[:limit]))
    return shown + ("..." if len(data) > limit else "")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


class ReplyParser:
    """Incremental parser; ``feed`` returns the replies completed by the new bytes."""

    def __init__(self, *, max_line_length: int = HARD_LINE_LIMIT,
                 max_lines: int = HARD_LINES_PER_REPLY,
                 max_reply_bytes: int = HARD_REPLY_BYTES) -> None:
        self._buffer = bytearray()
        self._max_reply_bytes = max_reply_bytes
        self._reply_bytes = 0
        self._anomaly_count = 0
        self._scanned = 0
        self._lines: list[ReplyLine] = []
        self._anomalies: list[Anomaly] = []
        self._max_line_length = max_line_length
        self._max_lines = max_lines

    @property
    def buffered(self) -> bytes:
        """Bytes received but not yet part of a complete reply."""
        return b"".join(line.raw for line in self._lines) + bytes(self._buffer)

    def take_buffered(self) -> bytes:
        """Remove and return every byte not yet part of a complete reply.

        Used at the STARTTLS boundary (RFC 3207 §4.2): those bytes must never
        be parsed as replies, nor fed to TLS.
        """
        data = self.buffered
        self._buffer.clear()
        self._scanned = 0
        self._lines.clear()
        self._anomalies.clear()
        self._reply_bytes = self._anomaly_count = 0
        return data

    def receive(self, data: bytes) -> None:
        """Buffer bytes; nothing is parsed until ``next_reply``."""
        self._buffer += data

    def next_reply(self) -> Reply | None:
        """Parse buffered lines up to the end of one reply; None if it is not complete.

        Raises:
            RemoteProtocolError: a line or a reply passed the hard caps.
        """
        while True:
            newline = self._buffer.find(b"\n", self._scanned)
            if newline < 0:
                self._scanned = len(self._buffer)
                if len(self._buffer) > self._max_line_length:
                    raise RemoteProtocolError(
                        f"reply line longer than {self._max_line_length} bytes without a line end "
                        f"(starts {_show(self._buffer)})")
                return None
            raw = bytes(self._buffer[: newline + 1])
            del self._buffer[: newline + 1]
            self._scanned = 0
            if len(raw) > self._max_line_length:
                raise RemoteProtocolError(
                    f"reply line of {len(raw)} bytes is over the {self._max_line_length}-byte cap")
            reply = self._add_line(raw)
            if reply is not None:
                return reply

    def feed(self, data: bytes) -> list[Reply]:
        """Buffer ``data`` and return every reply it completes."""
        self.receive(data)
        replies = []
        while (reply := self.next_reply()) is not None:
            replies.append(reply)
        return replies

    def feed_eof(self) -> bytes:
        """The stream ended: return the bytes of an unfinished reply (maybe empty)."""
        return self.take_buffered()

    def _add_line(self, raw: bytes) -> Reply | None:
        index = len(self._lines)
        if index >= self._max_lines:
            raise RemoteProtocolError(f"reply has more than {self._max_lines} lines")
        self._reply_bytes += len(raw)
        if self._reply_bytes > self._max_reply_bytes:
            raise RemoteProtocolError(f"reply of more than {self._max_reply_bytes:,} bytes "
                                      f"({index + 1} lines so far)")
        anomalies = _BoundedAnomalies(self)
        if raw.endswith(b"\r\n"):
            body, terminator = raw[:-2], b"\r\n"
        else:
            body, terminator = raw[:-1], b"\n"
            anomalies.append(Anomaly("bare-lf", f"line ends in LF without CR: {_show(raw)}", index))
        if b"\r" in body:
            anomalies.append(Anomaly("bare-cr", f"CR inside the line: {_show(raw)}", index))
        if len(raw) > RFC_REPLY_LINE_LIMIT:
            anomalies.append(Anomaly(
                "line-too-long", f"{len(raw)} octets, RFC 5321 §4.5.3.1.5 allows 512", index))

        code, separator, text = body[:3], body[3:4], body[4:]
        if not (len(code) == 3 and code.isdigit()):
            anomalies.append(Anomaly("non-digit-code", f"reply code {_show(code)} in {_show(raw)}", index))
        elif not (b"2" <= code[:1] <= b"5" and code[1:2] <= b"5"):
            anomalies.append(Anomaly("code-out-of-range", f"reply code {code.decode()}", index))
        if separator not in (b"-", b" ", b""):
            anomalies.append(Anomaly(
                "bad-separator", f"{_show(separator)} after the code, expected '-' or ' '", index))
            text = body[3:]
        if index and code != self._lines[0].code:
            anomalies.append(Anomaly(
                "code-mismatch",
                f"line has code {_show(code)}, the reply began with {_show(self._lines[0].code)}",
                index))
        enhanced = _ENHANCED.match(text)
        if enhanced and code[:1] != enhanced.group(1):
            anomalies.append(Anomaly(
                "enhanced-class-mismatch",
                f"enhanced code {enhanced.group(0).decode()} under reply code {_decode(code)} "
                "(RFC 3463 §2: the class must match)", index))

        self._lines.append(ReplyLine(raw, code, separator, _decode(text), terminator))
        if separator == b"-":
            return None
        kept = self._anomalies
        if self._anomaly_count > len(kept):
            kept.append(Anomaly("more-anomalies", f"{self._anomaly_count - len(kept)} more anomalies "
                                "in this reply, not kept", index))
        reply = Reply(tuple(self._lines), tuple(kept))
        self._lines = []
        self._anomalies = []
        self._reply_bytes = self._anomaly_count = 0
        return reply


class _BoundedAnomalies:
    """Appends to the parser's anomaly list up to MAX_ANOMALIES, and counts all of them."""

    __slots__ = ("_parser",)

    def __init__(self, parser: ReplyParser) -> None:
        self._parser = parser

    def append(self, anomaly: Anomaly) -> None:
        parser = self._parser
        parser._anomaly_count += 1
        if len(parser._anomalies) < MAX_ANOMALIES:
            parser._anomalies.append(anomaly)
