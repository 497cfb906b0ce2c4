"""The client's side of an SMTP stream, sans I/O: bytes in, command lines out.

Used where both directions are observed (``replay``). The client's stream
is lines of ``verb [SP args] CRLF`` (RFC 5321 §4.1.1), except:

* after a 354 reply to DATA, the message body up to ``CRLF . CRLF``
  (RFC 5321 §4.1.1.4), which is counted, not split into lines;
* after ``BDAT n``, exactly n octets of message data (RFC 3030 §2);
* after a 334 reply to AUTH, one line of SASL response (RFC 4954 §4).

Which mode applies next depends on the server's replies, so the caller
(who sees both directions) switches it with :meth:`expect_data` and
:meth:`expect_sasl_response`. Lines are capped; a longer "line" is handed out
cut, with ``overlong=True``.
"""

from __future__ import annotations

from ..frozen import frozen

#: RFC 5321 §4.5.3.1.4 allows 512 octets; far past it nothing is a command line any more.
MAX_LINE = 8192
_END_OF_DATA = b"\r\n.\r\n"


@frozen
class CommandLine:
    raw: bytes
    verb: str          #: upper-cased first word
    argument: str      #: the rest, decoded for display
    overlong: bool = False


@frozen
class SaslLine:
    raw: bytes         #: the whole line, terminator included (may hold a secret)


@frozen
class MessageData:
    """Message bytes (DATA body or a BDAT chunk); ``complete`` at its end."""

    size: int
    complete: bool


COMMAND, DATA, BDAT, SASL = "command", "data", "bdat", "sasl"
#: The common verbs as sent, already decoded and upper-cased.
_VERBS = {verb.encode(): verb for verb in ("EHLO", "HELO", "MAIL", "RCPT", "DATA", "QUIT", "RSET",
                                          "NOOP", "STARTTLS", "AUTH", "BDAT", "VRFY", "LHLO")}


class CommandParser:
    """Incremental; ``next_item`` returns a CommandLine, SaslLine, MessageData or None."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.mode = COMMAND
        self._bdat_left = 0
        self._data_size = 0
        #: True when the previous DATA body began right after ``DATA CRLF`` (start of a line).
        self._at_line_start = True

    def receive(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def take_buffered(self) -> bytes:
        """Remove and return every unparsed byte (used at the STARTTLS boundary)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def expect_data(self) -> None:
        """The server said 354: what follows is a message body (RFC 5321 §4.1.1.4)."""
        self.mode = DATA
        self._data_size = 0
        self._at_line_start = True

    def expect_sasl_response(self) -> None:
        """The server said 334: the next line is a SASL response (RFC 4954 §4)."""
        self.mode = SASL

    def next_item(self):
        buf = self._buffer
        if not buf:
            return None
        mode = self.mode
        if mode == DATA:
            return self._data()
        if mode == BDAT:
            take = min(self._bdat_left, len(buf))
            del buf[:take]
            self._bdat_left -= take
            if self._bdat_left == 0:
                self.mode = COMMAND
            return MessageData(take, self._bdat_left == 0)
        newline = buf.find(b"\n")
        if newline < 0:
            if len(buf) <= MAX_LINE:
                return None
            newline = MAX_LINE - 1
            overlong = True
        else:
            overlong = newline >= MAX_LINE
        raw = bytes(buf[:newline + 1])
        del buf[:newline + 1]
        if mode == SASL:
            self.mode = COMMAND
            return SaslLine(raw)
        line = raw.rstrip(b"\r\n")
        verb, _, argument = line.partition(b" ")
        verb_text = _VERBS.get(verb)
        if verb_text is None:
            verb_text = verb.decode("ascii", "replace").upper()
        if verb_text == "BDAT":
            words = argument.split()
            if words and words[0].isascii() and words[0].isdigit() and len(words[0]) < 12:
                self._bdat_left = int(words[0])
                if self._bdat_left:
                    self.mode = BDAT
        return CommandLine(raw, verb_text, argument.decode("utf-8", "backslashreplace"), overlong)

    def _data(self) -> MessageData:
        """Consume body bytes up to the end-of-data line, keeping 4 bytes to find a split marker."""
        buf = self._buffer
        if self._at_line_start and buf[:3] == b".\r\n":
            # An empty body: the dot line comes right after DATA's 354.
            del buf[:3]
            self.mode = COMMAND
            return MessageData(0, True)
        end = buf.find(_END_OF_DATA)
        if end >= 0:
            size = end + 2
            del buf[:end + len(_END_OF_DATA)]
            self._data_size += size
            self.mode = COMMAND
            return MessageData(size, True)
        take = max(0, len(buf) - (len(_END_OF_DATA) - 1))
        if take == 0:
            return None
        del buf[:take]
        self._at_line_start = False
        self._data_size += take
        return MessageData(take, False)
