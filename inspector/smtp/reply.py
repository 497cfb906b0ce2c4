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

Servers send the same few replies in every session (``250 2.1.5 Ok``, their
EHLO list), mostly one whole reply per segment. A chunk that arrives at a
reply boundary and is exactly one reply is remembered by its bytes
(:data:`SEEN_LIMIT` of them, each at most :data:`SEEN_MAX_BYTES`), and the
next time those bytes arrive the same frozen :class:`Reply` is handed out
without parsing: equal to what parsing gives, anomalies included, so the
events do not change.
"""

from __future__ import annotations

import re

from ..errors import RemoteProtocolError
from ..frozen import field, frozen

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

#: Whole replies remembered by their bytes (then forgotten all at once), and the largest kept.
SEEN_LIMIT = 4096
SEEN_MAX_BYTES = 1024
_DEFAULT_LIMITS = (HARD_LINE_LIMIT, HARD_LINES_PER_REPLY, HARD_REPLY_BYTES)

_ENHANCED = re.compile(rb"^([245])\.(\d{1,3})\.(\d{1,3})(?=[ \t]|$)")


class _cached:
    """A property computed once per (immutable) reply and kept in its ``__dict__``.

    A non-data descriptor: once the value is in the instance's dict it is found there first.
    The parser stores ``code`` up front. Fields, equality and hashing are unchanged.
    """

    def __init__(self, function) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value


@frozen
class Anomaly:
    """A break of the reply grammar, with the bytes that show it."""

    kind: str
    evidence: str
    line_index: int

    def describe(self) -> str:
        return f"{self.kind} (line {self.line_index + 1}): {self.evidence}"


@frozen
class ReplyLine:
    raw: bytes          #: the line exactly as received, terminator included
    code: bytes         #: the first three octets (may be malformed)
    separator: bytes    #: b"-", b" ", b"" (code-only line) or whatever stood there
    text: str           #: what follows the separator, decoded for display
    terminator: bytes   #: b"\r\n", b"\n" (bare LF) or b"" (cut by end of stream)


@frozen
class Reply:
    """One complete reply: every line, its code, enhanced code and anomalies."""

    lines: tuple[ReplyLine, ...]
    anomalies: tuple[Anomaly, ...] = field(default=())

    @_cached
    def code(self) -> int | None:
        """The reply code of the final line, or None when it is not three digits."""
        code = self.lines[-1].code
        return int(code) if len(code) == 3 and code.isdigit() else None

    @_cached
    def enhanced_code(self) -> str | None:
        """RFC 3463 status code (``class.subject.detail``) of the first line, if any."""
        text = self.lines[0].text
        if text[1:2] != "." or text[:1] not in "245":   # cannot match: skip the pattern
            return None
        match = _ENHANCED.match(text.encode("utf-8", "surrogateescape"))
        return match.group(0).decode() if match else None

    @property
    def raw(self) -> bytes:
        return b"".join(line.raw for line in self.lines)

    @_cached
    def texts(self) -> tuple[str, ...]:
        return tuple(line.text for line in self.lines)

    @_cached
    def text(self) -> str:
        lines = self.lines
        return lines[0].text if len(lines) == 1 else "\n".join(self.texts)

    @property
    def is_positive(self) -> bool:
        code = self.code
        return code is not None and 200 <= code < 400

    def summary(self) -> str:
        """First line as the server wrote it, for one-line messages."""
        first = self.lines[0]
        return (first.code + first.separator).decode("ascii", "backslashreplace") + first.text


def _show(data: bytes, limit: int = 60) -> str:
    shown = repr(bytes(data[:limit]))
    return shown + ("..." if len(data) > limit else "")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


#: bytes of one whole reply -> the Reply they parse to (under the default caps)
_SEEN: dict[bytes, Reply] = {}


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
        #: replies are remembered only under the default caps (others would judge differently)
        self._remember = (max_line_length, max_lines, max_reply_bytes) == _DEFAULT_LIMITS
        self._ready: Reply | None = None   #: a remembered reply, received but not handed out
        self._whole: bytes | None = None   #: the chunk received at a reply boundary, if alone

    @property
    def buffered(self) -> bytes:
        """Bytes received but not yet part of a complete reply."""
        ready = self._ready.raw if self._ready is not None else b""
        return ready + b"".join(line.raw for line in self._lines) + bytes(self._buffer)

    def take_buffered(self) -> bytes:
        """Remove and return every byte not yet part of a complete reply.

        Used at the STARTTLS boundary (RFC 3207 §4.2): those bytes must never
        be parsed as replies, nor fed to TLS.
        """
        data = self.buffered
        self._ready = self._whole = None
        self._buffer.clear()
        self._scanned = 0
        self._lines.clear()
        self._anomalies.clear()
        self._reply_bytes = self._anomaly_count = 0
        return data

    def receive(self, data: bytes) -> None:
        """Buffer bytes; nothing is parsed until ``next_reply``."""
        if (self._buffer or self._lines or self._ready is not None or not self._remember
                or type(data) is not bytes):
            self._whole = None
        elif (reply := _SEEN.get(data)) is not None:
            self._ready = reply
            return
        else:
            self._whole = data if len(data) <= SEEN_MAX_BYTES else None
        self._buffer += data

    def next_reply(self) -> Reply | None:
        """Parse buffered lines up to the end of one reply; None if it is not complete.

        Raises:
            RemoteProtocolError: a line or a reply passed the hard caps.
        """
        if self._ready is not None:
            reply, self._ready = self._ready, None
            return reply
        buffer = self._buffer
        if not buffer:      # (then ``_scanned`` is 0 already): the common "nothing more" answer
            return None
        start = 0                       # lines before this offset are parsed (deleted at the end)
        scan = self._scanned
        try:
            while True:
                newline = buffer.find(b"\n", scan)
                if newline < 0:
                    left = len(buffer) - start
                    self._scanned = left
                    if left > self._max_line_length:
                        raise RemoteProtocolError(
                            f"reply line longer than {self._max_line_length} bytes without a line "
                            f"end (starts {_show(buffer[start:])})")
                    return None
                raw = bytes(buffer[start:newline + 1])
                start = scan = newline + 1
                self._scanned = 0
                if len(raw) > self._max_line_length:
                    raise RemoteProtocolError(
                        f"reply line of {len(raw)} bytes is over the {self._max_line_length}-byte cap")
                reply = self._add_line(raw)
                if reply is not None:
                    whole, self._whole = self._whole, None
                    if whole is not None and len(whole) == start == len(buffer):
                        if len(_SEEN) >= SEEN_LIMIT:
                            _SEEN.clear()
                        _SEEN[bytes(whole)] = reply
                    return reply
        finally:
            if start:
                del buffer[:start]

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
        lines = self._lines
        index = len(lines)
        if index >= self._max_lines:
            raise RemoteProtocolError(f"reply has more than {self._max_lines} lines")
        self._reply_bytes += len(raw)
        if self._reply_bytes > self._max_reply_bytes:
            raise RemoteProtocolError(f"reply of more than {self._max_reply_bytes:,} bytes "
                                      f"({index + 1} lines so far)")
        if raw[-2:] == b"\r\n":
            body, terminator = raw[:-2], b"\r\n"
        else:
            body, terminator = raw[:-1], b"\n"
            self._anomaly(Anomaly("bare-lf", f"line ends in LF without CR: {_show(raw)}", index))
        code, separator, text = body[:3], body[3:4], body[4:]
        # Each check is a cheap test first; the anomaly (rare) is built only when it fails.
        if b"\r" in body:
            self._anomaly(Anomaly("bare-cr", f"CR inside the line: {_show(raw)}", index))
        if len(raw) > RFC_REPLY_LINE_LIMIT:
            self._anomaly(Anomaly(
                "line-too-long", f"{len(raw)} octets, RFC 5321 §4.5.3.1.5 allows 512", index))
        if code not in _CODES_IN_RANGE:
            if not (len(code) == 3 and code.isdigit()):
                self._anomaly(Anomaly("non-digit-code", f"reply code {_show(code)} in {_show(raw)}",
                                      index))
            else:
                self._anomaly(Anomaly("code-out-of-range", f"reply code {code.decode()}", index))
        if separator != b" " and separator != b"-" and separator:
            self._anomaly(Anomaly(
                "bad-separator", f"{_show(separator)} after the code, expected '-' or ' '", index))
            text = body[3:]
        if index and code != lines[0].code:
            self._anomaly(Anomaly(
                "code-mismatch",
                f"line has code {_show(code)}, the reply began with {_show(lines[0].code)}",
                index))
        # RFC 3463 §2: an enhanced code's class must be the reply's; only a differing first
        # octet followed by "." can be a mismatch, so the pattern runs only then.
        if text[1:2] == b"." and text[:1] != code[:1] and (enhanced := _ENHANCED.match(text)):
            self._anomaly(Anomaly(
                "enhanced-class-mismatch",
                f"enhanced code {enhanced.group(0).decode()} under reply code {_decode(code)} "
                "(RFC 3463 §2: the class must match)", index))

        lines.append(ReplyLine(raw, code, separator, text.decode("utf-8", "backslashreplace"),
                               terminator))
        if separator == b"-":
            return None
        kept = self._anomalies
        if self._anomaly_count > len(kept):
            kept.append(Anomaly("more-anomalies", f"{self._anomaly_count - len(kept)} more anomalies "
                                "in this reply, not kept", index))
        reply = Reply(tuple(lines), tuple(kept))
        reply.__dict__["code"] = int(code) if len(code) == 3 and code.isdigit() else None
        self._lines = []
        if kept:
            self._anomalies = []
        self._reply_bytes = self._anomaly_count = 0
        return reply

    def _anomaly(self, anomaly: Anomaly) -> None:
        """Keep up to MAX_ANOMALIES per reply; count all of them."""
        self._anomaly_count += 1
        if len(self._anomalies) < MAX_ANOMALIES:
            self._anomalies.append(anomaly)


#: Three-digit codes whose first digit is 2-5 and second 0-5 (RFC 5321 §4.2).
_CODES_IN_RANGE = frozenset(b"%d%d%d" % (a, b, c) for a in range(2, 6) for b in range(6) for c in range(10))
