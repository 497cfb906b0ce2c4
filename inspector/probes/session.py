"""The step-by-step session probe behind ``smtp-inspector probe``.

Steps, in order (RFC 5321 §3, RFC 3207 §4, RFC 8314 §3.3): connect,
[tls-handshake, certificate for implicit TLS], greeting, ehlo, [starttls,
tls-handshake, injection-check (only with check_injection), certificate,
ehlo-tls], [auth], quit. Each step is timed, keeps the
reply that decided it, and ends ok, failed or skipped. Nothing here raises to
the caller: every error becomes a failed step, a finding, and an exit code.
"""

from __future__ import annotations

import datetime
import re
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..errors import InspectorError, ProtocolError, StepTimeout, TransportError
from ..exitcodes import ExitCode
from ..findings import Finding, Severity, make_finding
from ..net.transport import Connection, TlsSession, inspection_context, is_ip_address
from ..redaction import quoted
from ..rules import plaintext
from ..smtp import commands
from ..smtp.capabilities import Capabilities
from ..smtp.connection import ClientConnection
from ..smtp.events import (
    NEED_DATA,
    CommandReply,
    ConnectionClosed,
    EhloReply,
    Greeting,
    InjectedData,
    StartTlsReady,
    UnsolicitedReply,
)
from ..smtp.reply import Reply
from ..transcript import Entry, Transcript

if TYPE_CHECKING:
    from ..certs import CertificateReport
    from ..smtp import sasl
    from .auth_step import AuthOutcome, AuthProgress, AuthRequest

STARTTLS, IMPLICIT, PLAIN = "starttls", "implicit", "plain"
OK, FAILED, SKIPPED = "ok", "failed", "skipped"
LEGACY_TLS_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1")

#: Which exit code a failed step maps to (QUIT never fails a probe).
STEP_EXIT_CODES = {
    "connect": ExitCode.CONNECT,
    "greeting": ExitCode.GREETING,
    "ehlo": ExitCode.EHLO,
    "starttls": ExitCode.STARTTLS,
    "tls-handshake": ExitCode.TLS,
    "certificate": ExitCode.CERTIFICATE,
    "ehlo-tls": ExitCode.EHLO,
    "injection-check": ExitCode.TLS,   #: the TLS session broke right after the handshake
    "auth": ExitCode.AUTH,
}

#: How long ``check_injection`` waits inside TLS for a reply to the pipelined NOOP.
INJECTION_WAIT = 1.0

#: A greeting whose text is mostly asterisks: Cisco PIX/ASA banner masking.
_MASKED_BANNER = re.compile(r"^[*\s0-9]*\*{6,}[*\s0-9]*$")


@dataclass(frozen=True)
class ProbeConfig:
    host: str
    port: int = 587
    mode: str = STARTTLS
    require_tls: bool = True
    ehlo_name: str | None = None       #: default: our address literal (RFC 5321 §4.1.4)
    timeout: float = 10.0              #: per step, seconds
    deadline: float = 60.0             #: whole probe, seconds
    #: the command's one deadline (time.monotonic()), shared by every connection of
    #: ``--auth all``; None: ``deadline`` seconds from the start of this session
    deadline_at: float | None = None
    servername: str | None = None      #: SNI and the name the certificate must carry
    cafile: str | None = None
    insecure: bool = False
    greeting_delay_warning: float = 2.0
    #: send ``STARTTLS\r\nNOOP\r\n`` in one segment to test the server (RFC 3207 §4.2)
    check_injection: bool = False
    auth: AuthRequest | None = None    #: run the AUTH step after EHLO (RFC 4954)

    @property
    def expected_name(self) -> str:
        return self.servername or self.host


@dataclass(frozen=True)
class Step:
    name: str
    status: str
    duration_ms: float | None
    reply: Reply | None = None
    detail: str | None = None


@dataclass(frozen=True)
class ProbeResult:
    config: ProbeConfig
    started_at: str
    peer_address: str | None
    steps: tuple[Step, ...]
    transcript: tuple[Entry, ...]
    capabilities_before: Capabilities | None
    capabilities_after: Capabilities | None
    tls: TlsSession | None
    certificate: CertificateReport | None
    findings: tuple[Finding, ...]
    exit_code: ExitCode
    error: str | None
    #: certificates as the server sent them, leaf first (DANE TLSA matching, RFC 6698 §2.1)
    chain_der: tuple[bytes, ...] = ()
    auth: AuthOutcome | None = None

    def step(self, name: str) -> Step | None:
        """The last step of that name (tls-handshake can appear once per mode)."""
        return next((s for s in reversed(self.steps) if s.name == name), None)

    @property
    def finding_ids(self) -> set[str]:
        return {f.id for f in self.findings}


class _StepFailed(Exception):
    """Internal: stops the session after a step failed (never leaves this module)."""


@dataclass
class _Session:
    config: ProbeConfig
    transcript: Transcript = field(default_factory=Transcript)
    steps: list[Step] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    connection: Connection | None = None
    smtp: ClientConnection = field(default_factory=ClientConnection)
    caps_before: Capabilities | None = None
    caps_after: Capabilities | None = None
    tls: TlsSession | None = None
    chain_der: tuple[bytes, ...] = ()
    certificate: CertificateReport | None = None
    exit_code: ExitCode | None = None
    error: str | None = None
    alive: bool = False
    auth: AuthProgress | None = None   #: the AUTH step's state (auth_step.py)
    redactor: sasl.Redactor | None = None
    deadline: float = 0.0
    #: --check-injection: the verdict when the pipelined STARTTLS was refused (a retry follows)
    pipelining_verdict: plaintext.InjectionVerdict | None = None
    wait_s: float | None = None        #: a step's own wait for a reply (AUTH), shown in timeouts
    _step: str | None = None
    _step_started: float = 0.0

    # -- the steps ---------------------------------------------------------
    def run(self) -> ProbeResult:
        started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        self.deadline = self.config.deadline_at or time.monotonic() + self.config.deadline
        try:
            self._connect()
            if self.config.mode == IMPLICIT:
                self._tls_handshake()
                self._certificate()
            self._greeting()
            self._ehlo("ehlo")
            if self.config.mode == STARTTLS and self._starttls():
                self._tls_handshake()
                if self.config.check_injection:
                    self._injection_check()
                self._certificate()
                self._ehlo("ehlo-tls")
            elif self.config.mode == PLAIN:
                self._finding("tls-not-used", f"--plain: the session to port {self.config.port} "
                              "ran without TLS")
                if not (self.caps_before and self.caps_before.starttls):
                    self._judge_plaintext_auth(plaintext.TLS_NOT_OFFERED)
            if self.config.auth is not None:
                from .auth_step import run_auth_step  # SASL is loaded only for --auth

                run_auth_step(self)
        except _StepFailed:
            pass
        except KeyboardInterrupt:
            # Ctrl-C: keep everything recorded so far and say where it stopped.
            self.alive = False
            if self._step and (not self.steps or self.steps[-1].name != self._step):
                self._end(FAILED, detail="interrupted")
            self.exit_code, self.error = ExitCode.INTERRUPTED, f"{self._step}: interrupted"
        finally:
            self._quit()
            if self.connection is not None:
                self.connection.close()
        return self._result(started_at)

    def _connect(self) -> None:
        cfg = self.config
        self._begin("connect", f"connecting to {cfg.host} port {cfg.port}")
        try:
            self.connection = Connection.open(cfg.host, cfg.port, until=self._until(),
                                              deadline=self.deadline)
        except InspectorError as exc:
            self._fail(self._explain(exc))
        self.alive = True
        local, peer = self.connection.local_address, self.connection.peer_address
        self._end(OK, detail=f"{_address(local)} -> {_address(peer)}")

    def _greeting(self) -> None:
        self._begin("greeting", "waiting for the server's greeting")
        event = self._next_event()
        if not isinstance(event, Greeting):
            self._fail(f"expected a greeting, got {_describe(event)}")
        reply = event.reply
        elapsed = time.monotonic() - self._step_started
        if elapsed >= self.config.greeting_delay_warning:
            chunks = [e.t for e in self.transcript.entries if e.step == "greeting" and e.direction == "recv"]
            pause = chunks[-1] - chunks[0]
            how = (f"; {pause:.2f} s passed between its first byte and its last line "
                   "(a pregreet pause)") if pause >= 1.0 and len(reply.lines) > 1 else ""
            self._finding("greeting-delayed", f"greeting complete after {elapsed:.2f} s{how}")
        if _MASKED_BANNER.match(reply.lines[0].text.strip() or "-"):
            self._finding("starttls-masked", f"greeting masked with asterisks: {reply.summary()!r}")
        if reply.code != 220:
            if reply.code in (421, 554):
                self._finding("greeting-rejected", reply.summary())
            self._fail(f"greeting was not 220: {reply.summary()!r}", reply=reply)
        self._end(OK, reply=reply)

    def _ehlo(self, step: str) -> None:
        name = self.config.ehlo_name or _address_literal(self.connection.local_address)
        self._begin(step, "asking for the server's extensions (EHLO)")
        event = self._command(commands.ehlo(name))
        if isinstance(event, EhloReply):
            caps = event.capabilities
            self._judge_capabilities(caps)
            self._store_capabilities(caps)
            self._end(OK, reply=event.reply)
            return
        reply = event.reply
        if reply.code is None or reply.code < 500:
            self._fail(f"EHLO refused: {reply.summary()!r}", reply=reply)
        self._finding("ehlo-rejected", f"EHLO got {reply.summary()!r}; trying HELO")
        helo = self._command(commands.helo(name))
        if helo.reply.code != 250:
            self._fail(f"EHLO and HELO refused: {helo.reply.summary()!r}", reply=helo.reply)
        self._store_capabilities(Capabilities.empty())
        self._end(OK, reply=helo.reply, detail="HELO fallback: no ESMTP extensions")

    def _starttls(self) -> bool:
        """Returns True when the caller should run the TLS handshake next."""
        required = self.config.require_tls
        severity = Severity.ERROR if required else Severity.WARNING
        self._begin("starttls", "asking for TLS with STARTTLS (RFC 3207)")
        caps = self.caps_before
        if caps is None or not caps.starttls:
            masked = f" (masked lines: {', '.join(caps.masked)})" if caps and caps.masked else ""
            self._finding("starttls-not-offered",
                          f"EHLO reply from {self.config.host}:{self.config.port} has no STARTTLS{masked}",
                          severity=severity)
            self._judge_plaintext_auth(plaintext.TLS_NOT_OFFERED)
            if required:
                self._fail("STARTTLS is not offered and TLS is required; stopping before "
                           "anything else is sent")
            self._end(SKIPPED, detail="STARTTLS not offered; continuing without TLS (--no-require-tls)")
            return False
        check = self.config.check_injection
        event = self._command(commands.starttls(), pipelined_noop=check)
        if not isinstance(event, StartTlsReady):
            if check:
                from .injection_retry import pipelined_starttls_refused

                pipelined_starttls_refused(self, event.reply)  # raises: a second session follows
            self.findings.append(plaintext.starttls_failed(event.reply.summary()))
            self._judge_plaintext_auth(plaintext.TLS_REFUSED)
            if required:
                self._fail(f"STARTTLS refused: {event.reply.summary()!r}", reply=event.reply)
            # Advertised but refused is a failed step on every port (exit 13); an
            # opportunistic session still goes on in clear, as a sending MTA would.
            message = f"STARTTLS refused: {event.reply.summary()!r}; continuing without TLS"
            self._end(FAILED, reply=event.reply, detail=message)
            self._record_failure("starttls", message)
            return False
        # RFC 3207 §4.2: nothing may arrive between the 220 and the handshake.
        self._collect_injected(self.connection.recv_nowait())
        self._end(OK, reply=event.reply)
        return True

    def _collect_injected(self, waiting: bytes) -> None:
        if waiting:
            self.transcript.received(waiting, tls=False, step=self._step)
            self.smtp.receive_data(waiting)
        injected = b""
        while isinstance(event := self.smtp.next_event(), InjectedData):
            injected += event.data
        if injected:
            hint = (" (maybe the reply to the NOOP pipelined by --check-injection, run in plaintext)"
                    if self.config.check_injection else "")
            self._finding("response-injection",
                          f"{len(injected)} bytes after the STARTTLS 220, discarded unread: "
                          f"{quoted(injected, 80)}{hint}")
            self.transcript.note(f"discarded {len(injected)} bytes received before the TLS handshake",
                                 tls=False, step=self._step)

    def _injection_check(self) -> None:
        """Did the server run the NOOP we pipelined after STARTTLS, inside TLS?

        RFC 3207 §4.2: the server MUST discard what the client sent before the
        handshake. One that answers the NOOP now lets an attacker in the path
        inject plaintext commands into the protected session (CVE-2011-0411).
        """
        wait = min(INJECTION_WAIT, self.config.timeout)
        self._begin("injection-check", f"waiting {wait:g} s inside TLS for a reply to the NOOP sent "
                    "with STARTTLS; a correct server discarded it (RFC 3207 §4.2)")
        until = min(self._until(), time.monotonic() + wait)
        try:
            while (event := self.smtp.next_event()) is NEED_DATA:
                data = self.connection.recv(until=until)
                if data:
                    self.transcript.received(data, tls=True, step=self._step)
                self.smtp.receive_data(data)
        except StepTimeout:
            self._end(OK, detail=f"no reply to the pipelined NOOP within {wait:g} s")
            return
        except ProtocolError as exc:
            self.alive = False
            self._finding("reply-malformed", str(exc))
            self._fail(str(exc))
        except TransportError as exc:
            self.alive = False
            self._fail(self._explain(exc))
        if isinstance(event, ConnectionClosed):
            self.alive = False
            self._fail("the server closed the connection right after the TLS handshake")
        reply = event.reply
        self._note_anomalies(reply)
        self._finding("command-injection", "the NOOP sent in plaintext in the same segment as STARTTLS "
                      f"was answered inside TLS: {reply.summary()!r}")
        self._end(FAILED, reply=reply, detail="the server ran a plaintext command inside TLS")

    def _tls_handshake(self) -> None:
        cfg = self.config
        sni = "no SNI for an IP address" if is_ip_address(cfg.expected_name) else f"SNI {cfg.expected_name}"
        self._begin("tls-handshake", f"TLS handshake, {sni}")
        try:
            facts = self.connection.start_tls(inspection_context(), cfg.expected_name,
                                              until=self._until())
        except InspectorError as exc:
            self.alive = False
            prefix = getattr(exc, "non_tls_prefix", b"")
            if prefix:
                self.transcript.received(prefix, tls=False, step=self._step)
                self._finding("response-injection",
                              f"non-TLS bytes where the TLS handshake should begin: {quoted(prefix, 80)}")
            self._finding("tls-handshake-failed", self._explain(exc))
            self._fail(self._explain(exc))
        if self.config.mode == STARTTLS:
            self.smtp.tls_established()
        else:
            self.smtp.implicit_tls_established()
        self.tls, self.chain_der = facts.session, facts.chain_der
        tls = facts.session
        if tls.version in LEGACY_TLS_VERSIONS:
            self._finding("tls-legacy-version", f"negotiated {tls.version} with {tls.cipher}")
        group = f", group {tls.group}" if tls.group else ""
        self._end(OK, detail=f"{tls.version}, {tls.cipher} ({tls.bits} bits){group}")

    def _certificate(self) -> None:
        cfg = self.config
        self._begin("certificate", f"checking the certificate for {cfg.expected_name}")
        from ..certs import analyze_chain

        report = analyze_chain(list(self.chain_der), cfg.expected_name, cafile=cfg.cafile)
        cert_findings = list(report.findings)
        if cfg.insecure:
            cert_findings = [replace(f, severity=Severity.WARNING) if f.severity is Severity.ERROR
                             else f for f in cert_findings]
        self.certificate = report
        self.findings.extend(cert_findings)
        errors = [f.id for f in cert_findings if f.severity is Severity.ERROR]
        verdict = "trusted" if report.trusted else f"not trusted: {report.trust_error}"
        match = "matches" if report.hostname_match else "does NOT match"
        detail = f"{verdict}; {match} {cfg.expected_name}"
        if errors:
            # No secret is ever sent after this; EHLO and QUIT still run for the record.
            self._end(FAILED, detail=detail + f" ({', '.join(errors)})")
            self._record_failure("certificate", detail)
            return
        self._end(OK, detail=detail + (" (--insecure)" if cfg.insecure and not report.trusted else ""))

    def _quit(self) -> None:
        if not self.alive or self.connection is None or time.monotonic() >= self.deadline:
            return
        self._begin("quit", "ending the session")
        try:
            event = self._command(commands.quit_(), until=min(self._until(), time.monotonic() + 2.0))
        except _StepFailed:
            return
        self._end(OK if event.reply.code == 221 else FAILED, reply=event.reply)


    def _auth_outcome(self):
        if self.config.auth is None:
            return None
        from .auth_step import auth_outcome

        return auth_outcome(self)

    def _scrub(self, text):
        from ..redaction import scrub_output

        return scrub_output(text, self.redactor) if self.redactor is not None and text else text

    # -- judgement -----------------------------------------------------------
    def _judge_capabilities(self, caps: Capabilities) -> None:
        secure = self.smtp.secure
        if caps.masked:
            self._finding("starttls-masked", "EHLO lines masked: " + ", ".join(caps.masked))
        if not secure and caps.plaintext_auth:
            self._finding("auth-before-tls",
                          f"AUTH {' '.join(caps.auth_mechanisms)} offered before TLS")
        if secure and self.config.mode == STARTTLS and caps.starttls:
            self._finding("starttls-readvertised", "EHLO inside TLS still lists STARTTLS")

    def _judge_plaintext_auth(self, tls: str) -> None:
        where = f"{self.config.host}:{self.config.port}"
        finding = plaintext.auth_without_tls_possible(self.caps_before, tls, where)
        if finding is not None:
            self.findings.append(replace(finding, evidence=self._scrub(finding.evidence)))

    def _store_capabilities(self, caps: Capabilities) -> None:
        if self.smtp.secure:
            self.caps_after = caps
        else:
            self.caps_before = caps

    # -- plumbing ------------------------------------------------------------
    def _command(self, command, until: float | None = None, *, shown: str | None = None,
                 pipelined_noop: bool = False) -> CommandReply:
        """Send one command and read its reply; ``shown`` replaces the line in the transcript."""
        until = until or self._until()
        try:
            data = self.smtp.send(command, pipelined_noop=pipelined_noop)
            self.connection.send(data, until=until)
        except TransportError as exc:
            self.alive = False
            self._fail(self._explain(exc))
        except InspectorError as exc:
            self._fail(str(exc))
        self.transcript.sent(data, tls=self.smtp.secure, step=self._step,
                             shown=None if shown is None else shown.encode("utf-8") + b"\r\n")
        event = self._next_event(until=until)
        if not isinstance(event, CommandReply):
            self._fail(f"expected a reply to {command.verb}, got {_describe(event)}")
        if event.reply.code is None:
            self._fail(f"malformed reply to {command.verb}: {event.reply.summary()!r}",
                       reply=event.reply)
        return event

    def _next_event(self, *, until: float | None = None):
        until = until or self._until()
        try:
            while True:
                event = self.smtp.next_event()
                if event is NEED_DATA:
                    data = self.connection.recv(until=until)
                    if data:
                        self.transcript.received(data, tls=self.smtp.secure, step=self._step)
                    self.smtp.receive_data(data)
                    continue
                if isinstance(event, UnsolicitedReply):
                    self._note_anomalies(event.reply)
                    self._finding("reply-malformed",
                                  f"reply nobody asked for: {event.reply.summary()!r}")
                    continue
                if isinstance(event, ConnectionClosed):
                    self.alive = False
                    partial = f" after {len(event.partial)} bytes of an unfinished reply" \
                        if event.partial else ""
                    self._fail(f"the server closed the connection{partial}")
                if isinstance(event, (Greeting, CommandReply)):
                    self._note_anomalies(event.reply)
                return event
        except ProtocolError as exc:
            self.alive = False
            self._finding("reply-malformed", str(exc))
            self._fail(str(exc))
        except TransportError as exc:
            self.alive = False
            self._fail(self._explain(exc))

    def _explain(self, exc: InspectorError) -> str:
        if isinstance(exc, StepTimeout):
            return f"{exc} ({self.wait_s or self.config.timeout:g} s)"
        return str(exc)

    def _note_anomalies(self, reply: Reply) -> None:
        if reply.anomalies:
            kinds = ", ".join(dict.fromkeys(a.kind for a in reply.anomalies))
            shown = "; ".join(a.describe() for a in reply.anomalies[:3])
            more = f" (+{len(reply.anomalies) - 3} more)" if len(reply.anomalies) > 3 else ""
            self._finding("reply-malformed", f"{kinds}: {shown}{more}")

    def _until(self) -> float:
        return min(time.monotonic() + self.config.timeout, self.deadline)

    def _begin(self, step: str, note: str) -> None:
        self._step = step
        self._step_started = time.monotonic()
        self.transcript.note(note, tls=self.smtp.secure, step=step)

    def _end(self, status: str, *, reply: Reply | None = None, detail: str | None = None) -> None:
        duration = (time.monotonic() - self._step_started) * 1000
        detail = self._scrub(detail)
        self.steps.append(Step(self._step, status, duration, self._scrub_reply(reply), detail))
        if detail:
            self.transcript.note(detail, tls=self.smtp.secure, step=self._step)

    def _fail(self, message: str, *, reply: Reply | None = None):
        step = self._step
        if time.monotonic() >= self.deadline and "deadline" not in message:
            message += f" (overall deadline of {self.config.deadline:g} s)"
        self._end(FAILED, reply=reply, detail=message)
        self._record_failure(step, message)
        raise _StepFailed(message)

    def _record_failure(self, step: str, message: str) -> None:
        if self.exit_code is None and step in STEP_EXIT_CODES:
            self.exit_code = STEP_EXIT_CODES[step]
            self.error = self._scrub(f"{step}: {message}")

    def _scrub_reply(self, reply: Reply | None) -> Reply | None:
        """A reply whose text echoes a secret (hostile server) is kept with it redacted."""
        if reply is None or self.redactor is None:
            return reply
        lines = tuple(replace(line, raw=self.redactor.scrub_bytes(line.raw)[0],
                              text=self.redactor.scrub(line.text)) for line in reply.lines)
        return replace(reply, lines=lines) if lines != reply.lines else reply

    def _finding(self, finding_id: str, evidence: str, *, severity: Severity | None = None) -> None:
        evidence = self._scrub(evidence)
        if any(f.id == finding_id and f.evidence == evidence for f in self.findings):
            return
        self.findings.append(make_finding(finding_id, evidence, severity=severity))

    def _result(self, started_at: str) -> ProbeResult:
        exit_code = self.exit_code
        if exit_code is None:
            has_error = any(f.severity is Severity.ERROR for f in self.findings)
            exit_code = ExitCode.FINDINGS if has_error else ExitCode.OK
        peer = self.connection.peer_address if self.connection else None
        return ProbeResult(
            config=self.config,
            started_at=started_at,
            peer_address=_address(peer) if peer else None,
            steps=tuple(self.steps),
            transcript=self.transcript.freeze(),
            capabilities_before=self.caps_before,
            capabilities_after=self.caps_after,
            tls=self.tls,
            certificate=self.certificate,
            findings=tuple(self.findings),
            exit_code=exit_code,
            error=self.error,
            chain_der=tuple(self.chain_der),
            auth=self._auth_outcome(),
        )


def run_probe(config: ProbeConfig) -> ProbeResult:
    """Run one session against the target; never raises for network or protocol trouble.

    With --check-injection, a server that refuses STARTTLS pipelined with NOOP
    gets a second session without pipelining (``injection_retry``).
    """
    session = _Session(config)
    result = session.run()
    if session.pipelining_verdict is None:
        return result
    from .injection_retry import retry_without_pipelining

    return retry_without_pipelining(result, session.pipelining_verdict, session.transcript.started,
                                    run_probe)


def _address(addr) -> str:
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _address_literal(addr) -> str:
    """RFC 5321 §4.1.3 address literal for our own address, the EHLO name of last resort."""
    host = addr[0]
    return f"[IPv6:{host}]" if ":" in host else f"[{host}]"


def _describe(event) -> str:
    if isinstance(event, CommandReply):
        return f"reply {event.reply.summary()!r}"
    return type(event).__name__
