"""Both directions of one SMTP session in, the client connection's events out (sans I/O).

Theory of operation
-------------------
The observer is the client connection's state machine in the OBSERVER role
(h11 runs both sides through one machine; so do we): the client's bytes are
cut into commands by :class:`~inspector.smtp.command_parser.CommandParser`
and handed to the machine with ``observe``; the server's bytes go through
the same :class:`~inspector.smtp.reply.ReplyParser` as a live probe, and the
machine matches replies to commands in order (RFC 2920 §3.1). So a capture
gives the same :class:`~inspector.smtp.events.Greeting`,
:class:`~inspector.smtp.events.EhloReply`,
:class:`~inspector.smtp.events.StartTlsReady`, ... as a live session, plus
what only a bystander sees (the client's commands, message bodies, TLS
records of both sides).

Feed ``client_data``/``server_data`` in capture order and read events with
``next_event`` until ``NEED_DATA``; ``close()`` ends both streams.

The STARTTLS boundary (RFC 3207 §4.2): after the 220 the server must wait
for the client's ClientHello, so every server byte before the client's first
byte after the 220 is injected; they come out as one
:class:`~inspector.smtp.events.InjectedData` when the client starts TLS (or
the session ends), then :class:`~inspector.smtp.events.TlsStarted`. From
there both directions go through :class:`~inspector.tls.reader.TlsReader`,
until they turn to ciphertext.

Events never depend on how the bytes were cut into segments.
"""

from __future__ import annotations

from collections import deque

from ..errors import RemoteProtocolError
from ..tls.reader import TlsReader
from . import commands
from .command_parser import CommandLine, CommandParser, MessageData, SaslLine
from .connection import OBSERVER, ClientConnection, State
from .events import (
    NEED_DATA,
    ClientCommand,
    ClientPipelined,
    CommandReply,
    ConnectionClosed,
    Event,
    InjectedData,
    MessageBody,
    ServerGaveUp,
    StartTlsReady,
    TlsRecordEvent,
    TlsStarted,
)

#: Injected bytes kept as evidence (the rest is only counted).
INJECTED_KEPT = 4096
#: The command the observer records for the end of a message body (RFC 5321 §4.1.1.4).
END_OF_DATA = commands.Command(".")


def observed_command(line: CommandLine) -> commands.Command:
    """A parsed command line as a :class:`~inspector.smtp.commands.Command` (data, never re-sent)."""
    argument = line.argument
    args = tuple(argument.split(" ")) if argument else ()
    if line.verb == "AUTH":
        return commands.AuthCommand("AUTH", args)
    return commands.Command(line.verb, args)




class SessionObserver:
    """One SMTP session seen from the side. Not thread-safe; one per session."""

    def __init__(self, *, implicit_tls: bool = False) -> None:
        self._smtp = ClientConnection(role=OBSERVER)
        self._commands = CommandParser()
        self._events: deque[Event] = deque()
        #: The same queue, for a caller that takes the events one by one (``popleft``) without
        #: the list ``events()`` makes.
        self.queue = self._events
        self._client_tls: TlsReader | None = None
        self._server_tls: TlsReader | None = None
        self._injected: bytearray | None = None   #: not None between the 220 and the ClientHello
        self.injected_total = 0
        self._server_broken = False
        self._closed = False
        self._body = 0                              #: bytes of the message body so far
        self._bdat: bool | None = None              #: a BDAT chunk follows: is it the LAST one?
        self._auth: dict | None = None              #: the AUTH exchange in progress
        if implicit_tls:
            self._smtp.implicit_tls_established()
            self._start_tls("implicit")

    # -- input -------------------------------------------------------------------------
    def client_data(self, data: bytes) -> None:
        if not data or self._closed:
            return
        if self._injected is not None:
            self._end_injection_window()
        if self._client_tls is not None:
            self._tls(data, from_client=True)
            return
        self._commands.receive(data)
        self._read_commands()

    def server_data(self, data: bytes) -> None:
        if not data or self._closed:
            return
        if self._injected is not None:
            self._inject(data)
            return
        if self._server_tls is not None:
            self._tls(data, from_client=False)
            return
        if self._server_broken:
            return
        self._smtp.receive_data(data)
        self._read_replies()

    def close(self) -> None:
        """Both streams ended (FIN, RST, or the end of the capture)."""
        if self._closed:
            return
        if self._injected is not None:
            self._end_injection_window(start_tls=False)
        if self._body:
            self._events.append(MessageBody(self._body, False))
        for from_client, reader in ((True, self._client_tls), (False, self._server_tls)):
            if reader is not None:
                self._events.extend(TlsRecordEvent(from_client, e) for e in reader.feed_eof())
        if not self._server_broken and self._server_tls is None:
            self._smtp.receive_data(b"")
            self._read_replies()
        else:
            self._events.append(ConnectionClosed())
        self._closed = True

    def next_event(self) -> Event | object:
        return self._events.popleft() if self._events else NEED_DATA

    def events(self) -> list[Event]:
        """Every event ready now (drains the queue)."""
        events = self._events
        if not events:
            return []
        out = list(events)
        events.clear()
        return out

    @property
    def secure(self) -> bool:
        return self._smtp.secure

    @property
    def server_in_clear(self) -> bool:
        """True while the server's bytes are plaintext (SMTP, or injected before the ClientHello)."""
        return self._server_tls is None

    # -- the client's side -------------------------------------------------------------
    def _read_commands(self) -> None:
        parser = self._commands
        append = self._events.append
        while self._client_tls is None and (item := parser.next_item()) is not None:
            kind = type(item)
            if kind is CommandLine and self._auth is not None and self._early_sasl_response():
                # RFC 4954 §4: until AUTH's final reply every client line is a SASL response,
                # even one pipelined before its 334 (it may be the password: never a command).
                self._auth["early"] += 1
                item, kind = SaslLine(item.raw), SaslLine
            if kind is CommandLine:
                command = observed_command(item)
                verb = item.verb
                if verb == "AUTH":
                    self._auth = {"initial": len(command.args) > 1, "early": 0,
                                  "mechanism": command.args[0].upper() if command.args else ""}
                smtp = self._smtp
                if smtp.state is State.STARTTLS_SENT:
                    append(ClientPipelined(item.raw))
                append(ClientCommand(command, item.raw))
                smtp.observe(command)
                if verb == "BDAT" and parser.mode == "bdat":
                    self._bdat = len(command.args) > 1 and command.args[1].upper() == "LAST"
            elif kind is SaslLine:
                payload = item.raw.rstrip(b"\r\n").decode("ascii", "replace")
                command = commands.SaslResponse(payload=payload)
                append(ClientCommand(command, item.raw))
                self._smtp.observe(command)
            elif kind is MessageData:
                self._body += item.size  # one event per message, however the body was cut
                if item.complete and self._bdat is not None:
                    # RFC 3030 §2: the server replies to the BDAT command itself; a message
                    # ends with the LAST chunk.
                    last, self._bdat = self._bdat, None
                    if last:
                        append(MessageBody(self._body, True))
                        self._body = 0
                elif item.complete:
                    append(MessageBody(self._body, True))
                    self._body = 0
                    self._smtp.observe(END_OF_DATA)

    def _early_sasl_response(self) -> bool:
        """An AUTH exchange is open and its mechanism may still send a line before the next 334."""
        auth = self._auth
        if auth is None:
            return False
        one_shot = auth["mechanism"] in ("PLAIN", "XOAUTH2", "OAUTHBEARER", "EXTERNAL")
        return not (one_shot and auth["initial"])

    # -- the server's side -------------------------------------------------------------
    def _read_replies(self) -> None:
        smtp = self._smtp
        while True:
            try:
                event = smtp.next_event()
            except RemoteProtocolError as exc:
                self._server_broken = True
                self._events.append(ServerGaveUp(str(exc)))
                return
            if event is NEED_DATA:
                return
            if isinstance(event, InjectedData):
                self._injected += event.data[:INJECTED_KEPT - len(self._injected)]
                self.injected_total += len(event.data)
                continue
            self._events.append(event)
            if isinstance(event, CommandReply):
                self._after_reply(event)
            if isinstance(event, ConnectionClosed):
                return

    def _after_reply(self, event: CommandReply) -> None:
        verb, code = event.command.verb.upper(), event.reply.code
        if isinstance(event, StartTlsReady):
            self._injected = bytearray()
            pipelined = self._commands.take_buffered()
            self._read_replies()          # what came with the 220 is injected
            if pipelined:
                self.client_data(pipelined)  # the client's own TLS bytes, sent early
        elif verb == "AUTH" and code == 334:
            if self._auth is not None and self._auth["early"]:
                self._auth["early"] -= 1         # its response was pipelined and is already read
            else:
                self._commands.expect_sasl_response()
        elif verb == "AUTH":
            self._auth = None                    # the exchange's final reply
        elif verb == "DATA" and code == 354:
            self._commands.expect_data()
        if self._commands.buffered:    # client lines that waited for this reply
            self._read_commands()

    def _inject(self, data: bytes) -> None:
        self._injected += data[:max(0, INJECTED_KEPT - len(self._injected))]
        self.injected_total += len(data)

    def _end_injection_window(self, *, start_tls: bool = True) -> None:
        injected, self._injected = bytes(self._injected), None
        if injected:
            self._events.append(InjectedData(injected))
        if start_tls:
            self._smtp.tls_established()
            self._start_tls("starttls")

    # -- TLS -------------------------------------------------------------------------
    def _start_tls(self, mode: str) -> None:
        self._client_tls, self._server_tls = TlsReader(), TlsReader()
        self._events.append(TlsStarted(mode))

    def _tls(self, data: bytes, *, from_client: bool) -> None:
        reader = self._client_tls if from_client else self._server_tls
        self._events.extend(TlsRecordEvent(from_client, e) for e in reader.feed(data))
