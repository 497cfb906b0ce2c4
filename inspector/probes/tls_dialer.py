"""The TLS audit's connections: the concurrency cap, the rate limit, retries and the SMTP preamble.

Connection discipline: at most ``concurrency`` connections at once, at most
``rate`` connection starts per minute, and a 4xx reply (RFC 5321 §4.2.1: 421
"too many connections"), a refused or dropped connection before the
ClientHello was answered is retried with exponential backoff: it never
counts as the server refusing a suite. The SMTP preamble (greeting, EHLO,
STARTTLS; RFC 3207 §4) runs on the one SMTP driver.
"""

from __future__ import annotations

import threading
import time

from ..errors import DeadlineExceeded, InspectorError, TlsError, TransportError
from ..exitcodes import ExitCode
from ..net.address import is_ip_address
from ..net.tls_contexts import inspection_context
from ..net.transport import Connection
from ..smtp import commands
from ..smtp.addresses import address, address_literal
from ..smtp.connection import ClientConnection
from ..smtp.driver import SmtpDriver
from ..smtp.events import CommandReply, ConnectionClosed, EhloReply, Greeting, StartTlsReady
from ..tls.client_hello import client_hello
from ..tls.enumerate import Unreachable
from ..tls.hello import FlightReader, ServerAnswer


class Fatal(Unreachable):
    """The server answered in a way no retry changes (5xx greeting, no STARTTLS)."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Retry(Exception):
    """Worth another try after a pause: 4xx, refused, reset, closed or silent before the answer."""


class Dropped(Exception):
    """Closed or silent after the ClientHello: retried twice, then taken as the server's refusal."""


class Dialer:
    """Opens connections under the concurrency cap and the rate limit, runs the SMTP preamble.

    ``config``: the audit's :class:`~inspector.probes.tls_audit.TlsAuditConfig`.
    """

    def __init__(self, config, deadline: float) -> None:
        self.config = config
        self.deadline = deadline
        self._slots = threading.BoundedSemaphore(max(1, config.concurrency))
        self._lock = threading.Lock()
        self._next_start = 0.0
        self.connections = 0
        self.retried = 0
        self.peer_address: str | None = None
        self.fatal: Fatal | None = None
        self.per_version: dict[str, int] = {}

    # -- one connection at a time, within the limits -------------------------------
    def until(self) -> float:
        return min(time.monotonic() + self.config.timeout, self.deadline)

    def _wait_for_start(self) -> None:
        if not self.config.rate:
            return
        interval = 60.0 / self.config.rate
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + interval
        if start > now:
            if start >= self.deadline:
                raise Unreachable("the deadline passes before --rate allows another connection")
            time.sleep(start - now)

    def run(self, action, label: str):
        """``action(connection)`` on a fresh connection after the SMTP preamble, with retries."""
        last = "no attempt"
        for attempt in range(self.config.retries + 1):
            if self.fatal is not None:
                raise self.fatal
            if attempt:
                with self._lock:
                    self.retried += 1
                pause = min(0.2 * 2 ** (attempt - 1), 5.0)
                if time.monotonic() + pause >= self.deadline:
                    break
                time.sleep(pause)
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not self._slots.acquire(timeout=remaining):
                break
            try:
                self._wait_for_start()
                with self._lock:
                    self.connections += 1
                    self.per_version[label] = self.per_version.get(label, 0) + 1
                return self._attempt(action)
            except Retry as exc:
                last = str(exc)
            except Fatal as exc:
                self.fatal = exc
                raise
            finally:
                self._slots.release()
        raise Unreachable(f"gave up after {self.config.retries + 1} attempts: {last}"
                          if time.monotonic() < self.deadline else
                          f"the overall deadline of {self.config.deadline:g} s passed ({last})")

    def _attempt(self, action):
        cfg = self.config
        try:
            connection = Connection.open(cfg.host, cfg.port, until=self.until(), deadline=self.deadline,
                                         source_address=cfg.source_address)
        except DeadlineExceeded as exc:
            raise Unreachable(str(exc)) from None
        except InspectorError as exc:
            raise Retry(f"connect: {exc}") from None
        try:
            if self.peer_address is None:
                self.peer_address = address(connection.peer_address)
            if cfg.mode == "starttls":
                self._smtp_preamble(connection)
            return action(connection)
        except DeadlineExceeded as exc:
            raise Unreachable(str(exc)) from None
        except TlsError as exc:
            if exc.non_tls_prefix or "closed" not in str(exc):
                raise Unreachable(f"TLS handshake: {exc}") from None  # the server answered: no retry
            raise Retry(str(exc)) from None
        except TransportError as exc:
            raise Retry(str(exc)) from None
        finally:
            connection.close()

    def _smtp_preamble(self, connection: Connection) -> None:
        """Greeting, EHLO, STARTTLS, 220 (RFC 5321 §3.1, RFC 3207 §4), by the one SMTP driver."""
        driver = SmtpDriver(ClientConnection(), lambda until: connection.recv(until=until or self.until()),
                            lambda data, until: connection.send(data, until=until or self.until()))
        greeting = self._next(driver)
        if not isinstance(greeting, Greeting):
            raise Retry("no greeting")
        code = greeting.reply.code or 0
        if code != 220:
            if 400 <= code < 500:
                raise Retry(f"greeting {greeting.reply.summary()!r}")
            raise Fatal(f"greeting: {greeting.reply.summary()!r}", ExitCode.GREETING)
        name = self.config.ehlo_name or address_literal(connection.local_address)
        reply = self._command(driver, commands.ehlo(name))
        if not isinstance(reply, EhloReply):
            if 400 <= (reply.reply.code or 0) < 500:
                raise Retry(f"EHLO {reply.reply.summary()!r}")
            raise Fatal(f"EHLO refused: {reply.reply.summary()!r}", ExitCode.EHLO)
        if not reply.capabilities.starttls:
            raise Fatal(f"the server does not offer STARTTLS on port {self.config.port}",
                         ExitCode.STARTTLS)
        reply = self._command(driver, commands.starttls())
        if not isinstance(reply, StartTlsReady):
            if 400 <= (reply.reply.code or 0) < 500:
                raise Retry(f"STARTTLS {reply.reply.summary()!r}")
            raise Fatal(f"STARTTLS refused: {reply.reply.summary()!r}", ExitCode.STARTTLS)

    def _command(self, driver: SmtpDriver, command) -> CommandReply:
        until = self.until()
        driver.send(command, until)
        event = self._next(driver, until)
        if not isinstance(event, CommandReply):
            raise Retry(f"no reply to {command.verb}")
        return event

    def _next(self, driver: SmtpDriver, until: float | None = None):
        try:
            event = driver.next_event(until or self.until())
        except InspectorError as exc:
            if isinstance(exc, TransportError):
                raise
            raise Retry(f"SMTP: {exc}") from None
        if isinstance(event, ConnectionClosed):
            raise Retry("the server closed the connection during the SMTP dialogue")
        return event

    # -- what runs on the connection ----------------------------------------------------
    def exchange(self, offer, label: str | None = None) -> ServerAnswer:
        """Send one crafted ClientHello and read the server's first flight."""
        hello = client_hello(offer.version, offer.suites, servername=self._sni(),
                             key_share_group=offer.key_share_group, fallback_scsv=offer.fallback_scsv,
                             **({"groups": offer.groups} if offer.groups is not None else {}))
        drops = 0
        while True:
            try:
                return self.run(lambda connection: self._hello(connection, hello), label or offer.version)
            except Dropped as exc:
                # Closed or silent after the ClientHello: retried twice, then taken as refusal.
                drops += 1
                if drops > (2 if offer.retry_drops else 0):
                    return ServerAnswer("none", detail=str(exc))
                with self._lock:
                    self.retried += 1
                time.sleep(min(0.2 * drops, max(0.0, self.deadline - time.monotonic())))

    def _hello(self, connection: Connection, hello: bytes) -> ServerAnswer:
        connection.send(hello, until=self.until())
        reader = FlightReader()
        until = self.until()
        received = False
        while not reader.done:
            try:
                data = connection.recv(until=until)
            except DeadlineExceeded:
                raise
            except TransportError as exc:
                if received:
                    break
                raise Dropped(f"no answer to the ClientHello: {exc}") from None
            if not data:
                if not received:
                    raise Dropped("the connection closed without an answer to the ClientHello")
                break
            received = True
            reader.feed(data)
        return reader.answer()

    def handshake(self, connection: Connection):
        return connection.start_tls(inspection_context(), self.config.expected_name, until=self.until())

    @property
    def sni(self) -> str | None:
        """The server_name a crafted ClientHello carries (none for an IP address, RFC 6066 §3)."""
        return self._sni()

    def _sni(self) -> str | None:
        name = self.config.expected_name
        return None if is_ip_address(name) else name
