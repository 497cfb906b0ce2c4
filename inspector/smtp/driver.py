"""The one SMTP driver: the client connection's NEED_DATA loop over a byte source and sink.

Used by every step of ``probe``, by the AUTH step, by the TLS audit's
preamble and by the fuzzer. The I/O stays with the caller: ``recv(until)``
returns the next bytes (``b""`` at the end of the stream) and ``send(data,
until)`` writes; both raise the project's transport errors, which pass
through unchanged, as does :class:`~inspector.errors.RemoteProtocolError`
from the parser. ``on_event`` sees every event, in order, before the caller
does (the probe judges each one with :func:`inspector.rules.session.judge_event`).
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import PeerClosed
from .commands import Command
from .connection import ClientConnection, State
from .events import NEED_DATA, Event, InjectedData, UnsolicitedReply


class SmtpDriver:
    """Pumps one :class:`ClientConnection`; not thread-safe."""

    def __init__(self, smtp: ClientConnection, recv: Callable[[float | None], bytes],
                 send: Callable[[bytes, float | None], None], *,
                 on_event: Callable[[Event], None] | None = None) -> None:
        self.smtp = smtp
        self._recv = recv
        self._send = send
        self._on_event = on_event

    def next_event(self, until: float | None = None, *, unsolicited: bool = False) -> Event:
        """The next event that answers something (unsolicited replies go to ``on_event`` only).

        With ``unsolicited=True`` an unsolicited reply is returned to the caller
        instead, without ``on_event`` (the command-injection check wants it).
        """
        while True:
            event = self.smtp.next_event()
            if event is NEED_DATA:
                if self.smtp.state is State.CLOSED:
                    raise PeerClosed("the server's stream already ended")
                self.smtp.receive_data(self._recv(until))
                continue
            if unsolicited and isinstance(event, UnsolicitedReply):
                return event
            if self._on_event is not None:
                self._on_event(event)
            if isinstance(event, UnsolicitedReply):
                continue
            return event

    def send(self, command: Command, until: float | None = None, *, pipelined_noop: bool = False) -> bytes:
        """Encode (checked by the state machine) and write one command; returns the bytes written."""
        data = self.smtp.send(command, pipelined_noop=pipelined_noop)
        self._send(data, until)
        return data

    def send_group(self, group: list[Command], until: float | None = None) -> list[bytes]:
        """Pipelining (RFC 2920 §3.1): encode every command, then write them all at once.

        Returns each command's bytes; the replies come back in order through ``next_event``.
        """
        encoded = [self.smtp.send(command) for command in group]
        self._send(b"".join(encoded), until)
        return encoded

    def command(self, command: Command, until: float | None = None, *,
                pipelined_noop: bool = False) -> Event:
        """Send one command and return the next event (its reply, or the end of the stream)."""
        self.send(command, until, pipelined_noop=pipelined_noop)
        return self.next_event(until)

    def take_injected(self, waiting: bytes = b"") -> bytes:
        """After a STARTTLS 220: hand ``waiting`` bytes in, return every byte buffered past the 220."""
        if waiting:
            self.smtp.receive_data(waiting)
        injected = b""
        while isinstance(event := self.smtp.next_event(), InjectedData):
            injected += event.data
        if injected and self._on_event is not None:
            self._on_event(InjectedData(injected))  # one event, however the bytes were cut
        return injected
