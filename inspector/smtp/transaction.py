"""The mail transaction's commands and message bytes, sans I/O (RFC 5321 §3.3, §4.5.2; RFC 3030).

``MAIL FROM``, ``RCPT TO``, ``DATA`` with the message body, and ``BDAT``
chunks are plain :class:`~inspector.smtp.commands.Command` values; the client
connection matches their replies in order (RFC 2920 §3.1) and, after a 354
to DATA, accepts only a :class:`MessageContent` (the body, dot-stuffed, with
the end-of-data line). Nothing here does I/O.
"""

from __future__ import annotations

from ..errors import LocalProtocolError
from ..frozen import field, frozen
from .commands import Command

#: RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
TEXT_LINE_LIMIT = 998
#: RFC 5321 §4.1.1.4: the line that ends the message body.
END_OF_DATA = b".\r\n"


@frozen
class MessageContent(Command):
    """The message body after DATA's 354 (its verb stays DATA so the reply is matched to it).

    ``message`` is the RFC 5322 message with CRLF line ends, not yet dot-stuffed.
    """

    verb: str = "DATA"
    message: bytes = field(default=b"", repr=False)

    def encode(self) -> bytes:
        return dot_stuff(self.message) + END_OF_DATA


@frozen
class BdatChunk(Command):
    """``BDAT size [LAST]`` and its chunk of octets (RFC 3030 §2): never dot-stuffed."""

    verb: str = "BDAT"
    chunk: bytes = field(default=b"", repr=False)
    last: bool = True

    def encode(self) -> bytes:
        args = (str(len(self.chunk)), "LAST") if self.last else (str(len(self.chunk)),)
        return Command("BDAT", args).encode() + self.chunk


def _address(address: str) -> str:
    if any(ch in address for ch in "<> \r\n\0"):
        raise LocalProtocolError(f"not a mailbox: {address!r}")
    return f"<{address}>"


def mail_from(address: str, params: tuple[str, ...] = ()) -> Command:
    """``MAIL FROM:<address> [params]`` (RFC 5321 §4.1.1.2); ``""`` is the null sender."""
    return Command("MAIL", (f"FROM:{_address(address)}", *params))


def rcpt_to(address: str, params: tuple[str, ...] = ()) -> Command:
    """``RCPT TO:<address> [params]`` (RFC 5321 §4.1.1.3)."""
    return Command("RCPT", (f"TO:{_address(address)}", *params))


def data() -> Command:
    return Command("DATA")


def rset() -> Command:
    return Command("RSET")


def dot_stuff(message: bytes) -> bytes:
    """RFC 5321 §4.5.2: a line that begins with "." gets one more; the body ends with CRLF."""
    if message and not message.endswith(b"\r\n"):
        message += b"\r\n"
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def stuffed_lines(message: bytes) -> int:
    """How many lines dot-stuffing changes."""
    return message.count(b"\r\n.") + (1 if message.startswith(b".") else 0)


@frozen
class LineEndings:
    """What the line ends of a message file look like (RFC 5321 §2.3.8: CRLF only)."""

    bare_lf: int      #: LF without CR before it
    bare_cr: int      #: CR without LF after it
    longest: int      #: the longest line, in octets without its CRLF

    @property
    def clean(self) -> bool:
        return not self.bare_lf and not self.bare_cr


def line_endings(message: bytes) -> LineEndings:
    crlf = message.count(b"\r\n")
    lines = message.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    return LineEndings(bare_lf=message.count(b"\n") - crlf, bare_cr=message.count(b"\r") - crlf,
                       longest=max((len(line) for line in lines), default=0))


def to_crlf(message: bytes) -> bytes:
    """Every bare LF or CR becomes CRLF (the ``--fix-line-ends`` repair)."""
    return message.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def has_8bit(message: bytes) -> bool:
    """RFC 6152: octets above 127 need BODY=8BITMIME."""
    return any(byte > 127 for byte in message)


def needs_smtputf8(address: str) -> bool:
    """RFC 6531 §3.3: a non-ASCII mailbox needs the SMTPUTF8 extension."""
    return not address.isascii()
