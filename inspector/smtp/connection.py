"""One SMTP session's state machine, sans I/O (the h11 model), read by role.

Theory of operation
-------------------
``receive_data(bytes)`` buffers what the server sent (``b""`` means end of
stream); ``next_event()`` returns the next :mod:`events` object or
``NEED_DATA``. The machine is the same for both roles (h11's
``_process_event(role, event)``):

* ``ClientConnection`` (role CLIENT): ``send(command)`` checks the command
  against the state and returns the bytes to write. The caller owns the
  socket and the TLS layer.
* :class:`~inspector.smtp.observer.SessionObserver` (role OBSERVER) reads
  the client's bytes too and reports each command with ``observe(command)``,
  which never refuses: a real client may break the rules, and the observer
  only records what happened.

States::

    GREETING ──220──▶ READY ◀──────────────────────────────┐
                        │ send(STARTTLS)                    │ tls_established()
                        ▼                                   │
                  STARTTLS_SENT ──220──▶ TLS_PENDING ───────┘
                        │ other code
                        ▼
                      READY
    READY ──AUTH, 334──▶ SASL_CHALLENGE ──send(SaslResponse)──▶ READY (awaiting reply)
    READY ──DATA, 354──▶ MESSAGE_BODY ──send(MessageContent)──▶ READY (awaiting reply)
    any state ──EOF──▶ CLOSED           any hard error ──▶ ERROR

Rules:

1. Replies are matched to commands in the order sent (RFC 2920 §3.1), so
   pipelined commands are allowed; STARTTLS must end a pipelined group
   (RFC 3207 §4.2 with RFC 2920 §3.1), so nothing may be sent after it until
   its reply arrives. The one deliberate exception is ``send(STARTTLS,
   pipelined_noop=True)``, used only by the server command-injection check
   (``probe --check-injection``; RFC 3207 §4.2, CVE-2011-0411).
2. The STARTTLS boundary is explicit: after a 220 to STARTTLS, every byte
   already buffered or received before ``tls_established()`` is handed out
   as :class:`InjectedData`, never parsed (RFC 3207 §4.2; the NO STARTTLS
   "response injection" class). After TLS, capabilities learned in plaintext
   are forgotten and EHLO must be sent again (RFC 3207 §4.2).
3. AUTH (RFC 4954 §4): a 334 reply to AUTH or to a SASL response is an
   :class:`AuthChallenge`; then only a :class:`SaslResponse` (base64 or
   ``*``) may be sent, and nothing else until it is.
4. DATA (RFC 5321 §4.1.1.4): in the CLIENT role, a 354 reply to DATA
   means only the message body (:class:`~inspector.smtp.transaction.MessageContent`,
   dot-stuffed, ending with the dot line) may be sent next. A 354 matched to
   any other command (a pipelined group answered out of order, or a missing
   reply) changes nothing: the caller's rules report it.
5. A hard protocol error (line or reply over the caps) moves the connection
   to ERROR and is raised as :class:`RemoteProtocolError`; every later call
   raises too. Anything else that escapes ``next_event`` is a bug.
"""

from __future__ import annotations

import enum
from collections import deque

from ..errors import LocalProtocolError, RemoteProtocolError
from .capabilities import Capabilities
from .commands import Command, SaslResponse, noop
from .events import (
    NEED_DATA,
    AuthChallenge,
    CommandReply,
    ConnectionClosed,
    EhloReply,
    Event,
    Greeting,
    InjectedData,
    StartTlsReady,
    UnsolicitedReply,
)
from .reply import Reply, ReplyParser
from .transaction import MessageContent

#: The command pipelined after STARTTLS by ``send(..., pipelined_noop=True)``.
NOOP = noop()


class State(enum.Enum):
    GREETING = "greeting"          #: waiting for the server's first reply
    READY = "ready"                #: commands may be sent
    STARTTLS_SENT = "starttls-sent"  #: waiting for the reply to STARTTLS
    TLS_PENDING = "tls-pending"    #: 220 received; the caller must do the handshake
    SASL_CHALLENGE = "sasl-challenge"  #: 334 to AUTH received; a SASL response must follow
    MESSAGE_BODY = "message-body"  #: 354 to DATA received; the message body must follow
    CLOSED = "closed"
    ERROR = "error"


CLIENT, OBSERVER = "client", "observer"
#: The states as module constants: an Enum member looked up on its class costs several times a
#: plain name, and the hot paths below test the state on every reply and command.
_GREETING, _READY, _STARTTLS_SENT, _TLS_PENDING, _CLOSED, _ERROR = (
    State.GREETING, State.READY, State.STARTTLS_SENT, State.TLS_PENDING, State.CLOSED, State.ERROR)

class ClientConnection:
    """One SMTP session seen from the client (or, role OBSERVER, from the side).

    Not thread-safe; one per connection.
    """

    #: Server bytes one session may send in all (RFC 5321 replies are small; a probe reads a few KB).
    MAX_SESSION_BYTES = 1024 * 1024

    def __init__(self, *, role: str = CLIENT, max_session_bytes: int | None = None,
                 **parser_limits) -> None:
        self.role = role
        self._parser = ReplyParser(**parser_limits)
        self._max_session_bytes = max_session_bytes or self.MAX_SESSION_BYTES
        self._received = 0
        self._parser_limits = parser_limits
        self._pending: deque[Command] = deque()
        self._eof = False
        self._pipelined_noop = False
        self.state = State.GREETING
        #: True once ``tls_established`` was called.
        self.secure = False
        #: Capabilities from the last successful EHLO in the current security context.
        self.capabilities: Capabilities | None = None

    # -- input -----------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the server; ``b""`` marks the end of the stream."""
        if self.state is _ERROR:
            raise RemoteProtocolError("connection is in the error state")
        if data:
            self._received += len(data)
            if self._received > self._max_session_bytes:
                self.state = _ERROR
                raise RemoteProtocolError(f"the server sent more than {self._max_session_bytes:,} "
                                          "bytes in this session")
            self._parser.receive(data)
        else:
            self._eof = True

    def next_event(self) -> Event | object:
        """Return the next event, or ``NEED_DATA`` when no complete one is buffered.

        Raises:
            RemoteProtocolError: the server passed a hard cap; the state is now ERROR.
        """
        state = self.state
        if state is _ERROR:
            raise RemoteProtocolError("connection is in the error state")
        if state is _CLOSED:
            return NEED_DATA
        if state is _TLS_PENDING:
            leftover = self._parser.take_buffered()
            if leftover:
                return InjectedData(leftover)
        else:
            try:
                reply = self._parser.next_reply()
            except RemoteProtocolError:
                self.state = _ERROR
                raise
            if reply is not None:
                return self._dispatch(reply)
        if self._eof:
            self.state = _CLOSED
            unanswered, self._pending = tuple(self._pending), deque()
            return ConnectionClosed(self._parser.feed_eof(), unanswered)
        return NEED_DATA

    # -- output ----------------------------------------------------------
    def send(self, command: Command, *, pipelined_noop: bool = False) -> bytes:
        """Encode a command after checking that the state allows it.

        Args:
            pipelined_noop: only with STARTTLS, and only to test the *server*:
                return ``STARTTLS\r\nNOOP\r\n`` as one write, breaking on
                purpose the rule that nothing may follow STARTTLS before its
                reply (RFC 3207 §4.2 with RFC 2920 §3.1). A correct server
                discards the buffered NOOP when TLS starts, so after a 220 no
                reply to it is expected: one arriving inside TLS comes out as
                :class:`UnsolicitedReply` (the CVE-2011-0411 class). If
                STARTTLS is refused the server runs the NOOP in plaintext, so
                its reply is then matched to the NOOP as usual.

        Raises:
            LocalProtocolError: nothing may be sent now (before the greeting,
                after STARTTLS until its reply, before the TLS handshake, or
                once closed), the command itself is malformed, or
                ``pipelined_noop`` was given with a command other than STARTTLS.
        """
        if isinstance(command, SaslResponse):
            if self.state is not State.SASL_CHALLENGE:
                raise LocalProtocolError(f"no AUTH challenge to answer in state {self.state.value}")
        elif isinstance(command, MessageContent):
            if self.state is not State.MESSAGE_BODY:
                raise LocalProtocolError(f"no 354 to DATA: cannot send a message body in state "
                                         f"{self.state.value}")
        elif self.state is not State.READY:
            raise LocalProtocolError(f"cannot send {command.verb} in state {self.state.value}")
        is_starttls = command.verb.upper() == "STARTTLS"
        if pipelined_noop and not is_starttls:
            raise LocalProtocolError(f"pipelined_noop is only for STARTTLS, not {command.verb}")
        data = command.encode()
        self.state = State.READY
        self._pending.append(command)
        if is_starttls:
            self.state = State.STARTTLS_SENT
            self._pipelined_noop = pipelined_noop
            if pipelined_noop:
                data += NOOP.encode()
        return data

    def observe(self, command: Command) -> None:
        """Role OBSERVER: the client sent ``command`` (never refused: we only watch)."""
        if self.role != OBSERVER:
            raise LocalProtocolError("observe() is for the observer role; a client uses send()")
        state = self.state
        if state is _CLOSED or state is _ERROR or state is _TLS_PENDING:
            return
        if state is not _GREETING:
            self.state = _READY
        self._pending.append(command)
        if command.verb.upper() == "STARTTLS" and not isinstance(command, SaslResponse):
            self.state = _STARTTLS_SENT

    def tls_established(self) -> None:
        """The caller finished the TLS handshake: forget plaintext state (RFC 3207 §4.2)."""
        if self.state is not State.TLS_PENDING:
            raise LocalProtocolError(f"no STARTTLS to complete in state {self.state.value}")
        if self._parser.buffered:
            raise LocalProtocolError("bytes received after the STARTTLS 220 were not read out "
                                     "with next_event() before the handshake")
        self._parser = ReplyParser(**self._parser_limits)
        self._pending.clear()  # a command pipelined after STARTTLS died with the plaintext
        self.capabilities = None
        self.secure = True
        self.state = State.READY

    def implicit_tls_established(self) -> None:
        """TLS was set up before any SMTP byte (RFC 8314 §3.3): same session, secure from the start."""
        if self.state is not State.GREETING or self._parser.buffered:
            raise LocalProtocolError("implicit TLS must start before the greeting")
        self.secure = True

    @property
    def pending_commands(self) -> tuple[Command, ...]:
        return tuple(self._pending)

    # -- internals -------------------------------------------------------
    def _dispatch(self, reply: Reply) -> Event:
        if self.state is _GREETING:
            self.state = _READY
            return Greeting(reply)
        if not self._pending:
            return UnsolicitedReply(reply)
        command = self._pending.popleft()
        verb = command.verb.upper()
        if verb == "STARTTLS":
            pipelined, self._pipelined_noop = self._pipelined_noop, False
            if reply.code == 220:
                # From here on nothing is parsed until tls_established().
                self.state = _TLS_PENDING
                return StartTlsReady(command, reply)
            self.state = _READY
            if pipelined:
                # Refused: the server reads on in plaintext and answers the NOOP too.
                self._pending.appendleft(NOOP)
        if verb == "AUTH" and reply.code == 334:
            self.state = State.SASL_CHALLENGE
            return AuthChallenge(command, reply)
        if (verb == "DATA" and reply.code == 354 and self.role == CLIENT
                and not isinstance(command, MessageContent)):
            self.state = State.MESSAGE_BODY
        if verb == "EHLO" and reply.code == 250:
            self.capabilities = Capabilities.from_reply(reply)
            return EhloReply(command, reply, self.capabilities)
        return CommandReply(command, reply)


