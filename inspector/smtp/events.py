"""Events the client connection hands to its caller. Don't subclass these."""

from __future__ import annotations

from ..frozen import field, frozen
from .capabilities import Capabilities
from .commands import Command
from .reply import Reply


class Event:
    """Base of everything ``ClientConnection.next_event`` returns."""


@frozen
class Greeting(Event):
    """The server's opening reply (RFC 5321 §4.3.1: 220, or 554/421)."""

    reply: Reply


@frozen
class CommandReply(Event):
    """The reply to one command we sent."""

    command: Command
    reply: Reply


@frozen
class EhloReply(CommandReply):
    """A 250 reply to EHLO, with its capabilities parsed."""

    capabilities: Capabilities


@frozen
class StartTlsReady(CommandReply):
    """220 to STARTTLS: the caller must now run the TLS handshake (RFC 3207 §4)."""


@frozen
class AuthChallenge(CommandReply):
    """334 to AUTH or to a SASL response: the client must answer (RFC 4954 §4)."""

    @property
    def challenge_text(self) -> str:
        """The base64 text after ``334 `` (decoded by the caller)."""
        return self.reply.lines[0].text.strip() if self.reply.lines else ""


@frozen
class UnsolicitedReply(Event):
    """A reply that arrived while no command was waiting for one."""

    reply: Reply


@frozen
class InjectedData(Event):
    """Bytes that arrived after the STARTTLS 220 and before TLS began (RFC 3207 §4.2).

    They are reported and dropped: never parsed as replies, never fed to TLS.
    """

    data: bytes


@frozen
class ConnectionClosed(Event):
    """The server's stream ended; ``partial`` holds an unfinished reply's bytes.

    ``unanswered`` lists the commands still waiting for a reply.
    """

    partial: bytes = b""
    unanswered: tuple[Command, ...] = field(default=(), compare=False)


# -- events only the observer emits (it also reads the client's bytes) ------------------

@frozen
class ClientCommand(Event):
    """A command line the client sent; ``raw`` as on the wire (may hold a secret)."""

    command: Command
    raw: bytes


@frozen
class MessageBody(Event):
    """One message body after DATA's 354 or in a BDAT chunk (counted, never kept).

    ``complete`` is False when the stream ended inside it.
    """

    size: int
    complete: bool


@frozen
class TlsStarted(Event):
    """TLS begins: ``mode`` "starttls" (the client's first byte after the 220) or "implicit"."""

    mode: str


@frozen
class TlsRecordEvent(Event):
    """One event of the TLS reader (:mod:`inspector.tls.reader`) for one side of the session."""

    from_client: bool
    event: object

    @property
    def sender(self) -> str:
        return "client" if self.from_client else "server"


@frozen
class ClientPipelined(Event):
    """Bytes the client sent after STARTTLS before the server's 220 (RFC 3207 §4.2)."""

    data: bytes


@frozen
class ServerGaveUp(Event):
    """The server's stream broke the reply grammar beyond recovery; it is not parsed further."""

    reason: str


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


#: Sentinel returned by ``next_event`` when more bytes are needed.
NEED_DATA = _NeedData()
