"""The TLS audit behind ``smtp-inspector tls``: certificate, versions, suites, groups.

Every connection speaks SMTP first (greeting, EHLO, STARTTLS; RFC 3207 §4)
through the sans-I/O :class:`ClientConnection` over :class:`Connection`, or
starts with TLS on implicit-TLS ports (RFC 8314 §3.3). The certificate comes
from one complete handshake with the ssl module; suites, versions and groups
from crafted ClientHellos (:mod:`inspector.tls.hello`) whose answers are read
without finishing the handshake; then one complete handshake per version the
server picks suites at (:mod:`inspector.probes.tls_verify`).

Connection discipline: at most ``concurrency`` connections at once, at most
``rate`` connection starts per minute, and a 4xx reply (RFC 5321 §4.2.1: 421
"too many connections"), a refused or dropped connection before the
ClientHello was answered is retried with exponential backoff: it never
counts as the server refusing a suite. Nothing here raises to the caller.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import threading
import time
from dataclasses import dataclass

from ..errors import DeadlineExceeded, InspectorError, TlsError, TransportError
from ..exitcodes import ExitCode
from ..findings import Finding, Severity, make_finding
from ..net.transport import Connection, TlsSession, inspection_context, is_ip_address
from ..smtp import commands
from ..smtp.connection import ClientConnection
from ..smtp.events import NEED_DATA, CommandReply, ConnectionClosed, EhloReply, Greeting, StartTlsReady
from ..tls.enumerate import GroupOutcome, Unreachable, VersionOutcome, enumerate_groups, enumerate_version
from ..tls.hello import VERSIONS, FlightReader, ServerAnswer, client_hello
from ..tls.suites import SUITES, describe_code
from .tls_verify import Verification, handshake_findings, verify_all

STARTTLS, IMPLICIT = "starttls", "implicit"
ALL_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
LEGACY_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1")
_ORDER = {name: index for index, name in enumerate(ALL_VERSIONS)}


@dataclass(frozen=True)
class TlsAuditConfig:
    host: str
    port: int = 587
    mode: str = STARTTLS
    servername: str | None = None
    cafile: str | None = None
    tlsa: tuple = ()                   #: parsed TlsaRecord values
    ehlo_name: str | None = None
    timeout: float = 10.0              #: per step (connect, each reply, the server's flight)
    deadline: float = 120.0            #: the whole audit
    concurrency: int = 4               #: connections open at once
    rate: float | None = None          #: connection starts per minute
    retries: int = 6                   #: per connection, for 4xx / refused / dropped
    versions: tuple[str, ...] = ALL_VERSIONS

    @property
    def expected_name(self) -> str:
        return self.servername or self.host


@dataclass(frozen=True)
class AcceptedSuite:
    code: int
    iana_name: str
    openssl_name: str | None
    kx: str
    auth: str
    cipher: str
    bits: int
    group: str | None                  #: group seen when the server picked this suite
    weakness: str | None
    forward_secret: bool


@dataclass(frozen=True)
class VersionResult:
    version: str
    supported: bool
    suites: tuple[AcceptedSuite, ...]  #: in the order the server picked them
    server_order: bool | None          #: None: fewer than two suites to compare
    connections: int
    error: str | None
    #: a complete handshake pinned to this version finished (None: not tried or not possible)
    handshake_completed: bool | None = None
    handshake_detail: str | None = None
    #: key exchanges whose suites, offered first, made the server close (enumerate.py)
    closed_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class TlsAuditResult:
    config: TlsAuditConfig
    started_at: str
    duration_s: float
    peer_address: str | None
    session: TlsSession | None          #: what a normal handshake negotiated
    certificate: object | None          #: inspector.certs.CertificateReport
    versions: tuple[VersionResult, ...]
    groups: tuple[str, ...]
    groups_version: str | None
    connections: int
    retried: int
    findings: tuple[Finding, ...]
    exit_code: ExitCode
    error: str | None

    @property
    def finding_ids(self) -> set[str]:
        return {f.id for f in self.findings}

    def accepted(self, version: str) -> set[str]:
        """IANA names accepted at ``version``."""
        return {s.iana_name for v in self.versions if v.version == version for s in v.suites}


class _Fatal(Unreachable):
    """The server answered in a way no retry changes (5xx greeting, no STARTTLS)."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Retry(Exception):
    """Worth another try after a pause: 4xx, refused, reset, closed or silent before the answer."""


class _Dropped(Exception):
    """Closed or silent after the ClientHello: retried twice, then taken as the server's refusal."""


class _Dialer:
    """Opens connections under the concurrency cap and the rate limit, runs the SMTP preamble."""

    def __init__(self, config: TlsAuditConfig, deadline: float) -> None:
        self.config = config
        self.deadline = deadline
        self._slots = threading.BoundedSemaphore(max(1, config.concurrency))
        self._lock = threading.Lock()
        self._next_start = 0.0
        self.connections = 0
        self.retried = 0
        self.peer_address: str | None = None
        self.fatal: _Fatal | None = None
        self.per_version: dict[str, int] = {}

    # -- one connection at a time, within the limits -------------------------------
    def _until(self) -> float:
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
            except _Retry as exc:
                last = str(exc)
            except _Fatal as exc:
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
            connection = Connection.open(cfg.host, cfg.port, until=self._until(), deadline=self.deadline)
        except DeadlineExceeded as exc:
            raise Unreachable(str(exc)) from None
        except InspectorError as exc:
            raise _Retry(f"connect: {exc}") from None
        try:
            if self.peer_address is None:
                host, port = connection.peer_address[:2]
                self.peer_address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            if cfg.mode == STARTTLS:
                self._smtp_preamble(connection)
            return action(connection)
        except DeadlineExceeded as exc:
            raise Unreachable(str(exc)) from None
        except TlsError as exc:
            if exc.non_tls_prefix or "closed" not in str(exc):
                raise Unreachable(f"TLS handshake: {exc}") from None  # the server answered: no retry
            raise _Retry(str(exc)) from None
        except TransportError as exc:
            raise _Retry(str(exc)) from None
        finally:
            connection.close()

    def _smtp_preamble(self, connection: Connection) -> None:
        """Greeting, EHLO, STARTTLS, 220 (RFC 5321 §3.1, RFC 3207 §4)."""
        smtp = ClientConnection()
        greeting = self._next(connection, smtp)
        if not isinstance(greeting, Greeting):
            raise _Retry("no greeting")
        code = greeting.reply.code or 0
        if code != 220:
            if 400 <= code < 500:
                raise _Retry(f"greeting {greeting.reply.summary()!r}")
            raise _Fatal(f"greeting: {greeting.reply.summary()!r}", ExitCode.GREETING)
        local = connection.local_address[0]
        name = self.config.ehlo_name or (f"[IPv6:{local}]" if ":" in local else f"[{local}]")
        reply = self._command(connection, smtp, commands.ehlo(name))
        if not isinstance(reply, EhloReply):
            if 400 <= (reply.reply.code or 0) < 500:
                raise _Retry(f"EHLO {reply.reply.summary()!r}")
            raise _Fatal(f"EHLO refused: {reply.reply.summary()!r}", ExitCode.EHLO)
        if not reply.capabilities.starttls:
            raise _Fatal(f"the server does not offer STARTTLS on port {self.config.port}",
                         ExitCode.STARTTLS)
        reply = self._command(connection, smtp, commands.starttls())
        if not isinstance(reply, StartTlsReady):
            if 400 <= (reply.reply.code or 0) < 500:
                raise _Retry(f"STARTTLS {reply.reply.summary()!r}")
            raise _Fatal(f"STARTTLS refused: {reply.reply.summary()!r}", ExitCode.STARTTLS)

    def _command(self, connection, smtp, command) -> CommandReply:
        connection.send(smtp.send(command), until=self._until())
        event = self._next(connection, smtp)
        if not isinstance(event, CommandReply):
            raise _Retry(f"no reply to {command.verb}")
        return event

    def _next(self, connection, smtp):
        until = self._until()
        try:
            while True:
                event = smtp.next_event()
                if event is NEED_DATA:
                    smtp.receive_data(connection.recv(until=until))
                    continue
                if isinstance(event, ConnectionClosed):
                    raise _Retry("the server closed the connection during the SMTP dialogue")
                return event
        except InspectorError as exc:
            if isinstance(exc, TransportError):
                raise
            raise _Retry(f"SMTP: {exc}") from None

    # -- what runs on the connection ----------------------------------------------------
    def exchange(self, offer, label: str | None = None) -> ServerAnswer:
        """Send one crafted ClientHello and read the server's first flight."""
        hello = client_hello(offer.version, offer.suites, servername=self._sni(),
                             key_share_group=offer.key_share_group,
                             **({"groups": offer.groups} if offer.groups is not None else {}))
        drops = 0
        while True:
            try:
                return self.run(lambda connection: self._hello(connection, hello), label or offer.version)
            except _Dropped as exc:
                # Closed or silent after the ClientHello: retried twice, then taken as refusal.
                drops += 1
                if drops > (2 if offer.retry_drops else 0):
                    return ServerAnswer("none", detail=str(exc))
                with self._lock:
                    self.retried += 1
                time.sleep(min(0.2 * drops, max(0.0, self.deadline - time.monotonic())))

    def _hello(self, connection: Connection, hello: bytes) -> ServerAnswer:
        connection.send(hello, until=self._until())
        reader = FlightReader()
        until = self._until()
        received = False
        while not reader.done:
            try:
                data = connection.recv(until=until)
            except DeadlineExceeded:
                raise
            except TransportError as exc:
                if received:
                    break
                raise _Dropped(f"no answer to the ClientHello: {exc}") from None
            if not data:
                if not received:
                    raise _Dropped("the connection closed without an answer to the ClientHello")
                break
            received = True
            reader.feed(data)
        return reader.answer()

    def handshake(self, connection: Connection):
        return connection.start_tls(inspection_context(), self.config.expected_name, until=self._until())

    def _sni(self) -> str | None:
        name = self.config.expected_name
        return None if is_ip_address(name) else name


def _candidates(version: str) -> list[int]:
    """Registry suites defined for ``version`` (RFC 8446 §B.4 suites only for TLS 1.3)."""
    level = _ORDER[version]
    return [s.code for s in SUITES if not s.scsv
            and _ORDER[s.min_version] <= level <= _ORDER[s.max_version]]


def _accepted(outcome: VersionOutcome) -> tuple[AcceptedSuite, ...]:
    out = []
    for code in outcome.picks:
        suite = describe_code(code)
        out.append(AcceptedSuite(code, suite.iana_name, suite.openssl_name, suite.kx, suite.auth,
                                 suite.cipher, suite.bits, outcome.groups.get(code), suite.weakness(),
                                 suite.forward_secret))
    return tuple(out)


def run_tls_audit(config: TlsAuditConfig) -> TlsAuditResult:
    """Run the whole audit; never raises for network or protocol trouble."""
    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    dialer = _Dialer(config, started + config.deadline)
    cert_box: dict = {}

    def certificate_task():
        try:
            facts = dialer.run(dialer.handshake, "certificate")
            cert_box["facts"] = facts
        except Unreachable as exc:
            cert_box["error"] = str(exc)

    def version_task(version):
        return enumerate_version(version, _candidates(version), dialer.exchange)

    def groups_task():
        ecdhe = [s.code for s in SUITES if s.kx == "ECDHE" and s.max_version == "TLSv1.2"]
        return enumerate_groups(_candidates("TLSv1.3"), ecdhe,
                                lambda offer: dialer.exchange(offer, "groups"))

    outcomes: dict[str, VersionOutcome] = {}
    checks: dict[str, Verification] = {}
    groups = GroupOutcome()
    interrupted = False
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(config.versions) + 2,
                                                 thread_name_prefix="tls-audit")
    try:
        cert_future = pool.submit(certificate_task)
        # Newest first: the versions most servers accept have the most suites to find.
        futures = {pool.submit(version_task, v): v for v in sorted(config.versions, key=_ORDER.get,
                                                                    reverse=True)}
        groups_future = pool.submit(groups_task)
        for future, version in futures.items():
            outcomes[version] = future.result()
        groups = groups_future.result()
        cert_future.result()
        checks = verify_all(pool, dialer, outcomes, cert_box.get("facts"))
    except KeyboardInterrupt:
        interrupted = True
        dialer.fatal = _Fatal("interrupted", ExitCode.INTERRUPTED)
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)

    certificate, session = None, None
    if "facts" in cert_box:
        from ..certs import analyze_chain

        facts = cert_box["facts"]
        session = facts.session
        certificate = analyze_chain(list(facts.chain_der), config.expected_name, cafile=config.cafile,
                                    tlsa=config.tlsa)
    versions = tuple(
        VersionResult(v, outcomes[v].supported, _accepted(outcomes[v]), outcomes[v].server_order,
                      dialer.per_version.get(v, 0), outcomes[v].error,
                      checks[v].completed if v in checks else None,
                      checks[v].detail if v in checks else None, tuple(outcomes[v].closed_on))
        for v in sorted(outcomes, key=_ORDER.get))
    findings = _judge(config, versions, certificate, cert_box.get("error")) \
        + handshake_findings(outcomes, checks)
    exit_code, error = _verdict(dialer, versions, cert_box.get("error"), groups, findings, interrupted)
    return TlsAuditResult(config, started_at, round(time.monotonic() - started, 3), dialer.peer_address,
                          session, certificate, versions, tuple(groups.groups), groups.version,
                          dialer.connections, dialer.retried, tuple(findings), exit_code, error)


def _judge(config, versions, certificate, cert_error) -> list[Finding]:
    findings: list[Finding] = []
    by_version = {v.version: v for v in versions}
    legacy = [v.version for v in versions if v.version in LEGACY_VERSIONS and v.supported]
    if legacy:
        findings.append(make_finding("tls-legacy-version", "accepts " + ", ".join(
            f"{v} ({len(by_version[v].suites)} suites)" for v in legacy)))
    weak = [f"{v.version} {s.iana_name} ({s.weakness})" for v in versions for s in v.suites if s.weakness]
    if weak:
        findings.append(make_finding("cipher-weak", "; ".join(weak)))
    no_fs = sorted({s.iana_name for v in versions for s in v.suites if not s.forward_secret})
    if no_fs:
        findings.append(make_finding("cipher-no-forward-secrecy", ", ".join(no_fs)))
    tls13 = by_version.get("TLSv1.3")
    if tls13 is not None and not tls13.supported and tls13.error is None:
        findings.append(make_finding("tls13-not-supported", "no TLS 1.3 ServerHello to a TLS 1.3 "
                                     "ClientHello offering every TLS 1.3 suite"))
    client_order = [v.version for v in versions if v.server_order is False]
    if client_order:
        findings.append(make_finding("no-server-cipher-order",
                                     "the client's order decides for " + ", ".join(client_order)))
    if certificate is not None:
        findings.extend(certificate.findings)
    return findings


def _verdict(dialer, versions, cert_error, groups, findings, interrupted):
    if interrupted:
        return ExitCode.INTERRUPTED, "interrupted"
    if dialer.fatal is not None:
        return dialer.fatal.exit_code, str(dialer.fatal)
    if dialer.connections == 0 or (dialer.peer_address is None and cert_error):
        return ExitCode.CONNECT, f"connect: {cert_error or 'no connection'}"
    picked = [v for v in versions if v.supported]
    if picked and all(v.handshake_completed is False for v in picked):
        return ExitCode.TLS, "no TLS handshake completes: " + "; ".join(
            f"{v.version}: {v.handshake_detail}" for v in picked)
    incomplete = [f"{v.version}: {v.error}" for v in versions if v.error]
    if cert_error:
        incomplete.insert(0, f"certificate: {cert_error}")
    if groups.error:
        incomplete.append(f"groups: {groups.error}")
    if incomplete:
        return ExitCode.INCOMPLETE, "; ".join(incomplete)
    if not any(v.supported for v in versions):
        return ExitCode.TLS, "the server accepted no TLS version and no cipher suite"
    if any(f.severity is Severity.ERROR for f in findings):
        return ExitCode.FINDINGS, None
    return ExitCode.OK, None


__all__ = ["TlsAuditConfig", "TlsAuditResult", "VersionResult", "AcceptedSuite", "run_tls_audit",
           "ALL_VERSIONS", "VERSIONS", "STARTTLS", "IMPLICIT"]
