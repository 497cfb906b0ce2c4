"""The step-by-step session probe behind ``smtp-inspector probe``.

Steps, in order (RFC 5321 §3, RFC 3207 §4, RFC 8314 §3.3): connect,
[tls-handshake, certificate for implicit TLS], greeting, ehlo, [starttls,
tls-handshake, injection-check (only with check_injection), certificate,
ehlo-tls], [auth], quit. Each step is timed, keeps the reply that decided it,
and ends ok, failed or skipped. Every event of the client connection goes
through :func:`inspector.rules.session.judge_event`, the same judge replay
uses; the steps only decide what to send next. Nothing here raises to the
caller: every error becomes a failed step, a finding, and an exit code.
"""

from __future__ import annotations

import datetime
import time

from ..errors import InspectorError, ProtocolError, StepTimeout, TransportError
from ..exitcodes import ExitCode
from ..findings import Finding, FindingList, Severity
from ..frozen import replace
from ..net.transport import Connection, TlsSession
from ..rules import plaintext
from ..rules import session as rules
from ..smtp import commands
from ..smtp.addresses import address, address_literal
from ..smtp.capabilities import Capabilities
from ..smtp.connection import ClientConnection
from ..smtp.driver import SmtpDriver
from ..smtp.events import CommandReply, ConnectionClosed, EhloReply, Greeting, StartTlsReady
from ..smtp.reply import Reply
from ..transcript import Transcript
from . import tls_steps
from .steps import (
    FAILED,
    IMPLICIT,
    OK,
    PLAIN,
    SKIPPED,
    STARTTLS,
    STEP_EXIT_CODES,
    ProbeConfig,
    ProbeResult,
    Step,
    StepFailed,
)

__all__ = ["IMPLICIT", "PLAIN", "STARTTLS", "OK", "FAILED", "SKIPPED", "STEP_EXIT_CODES", "ProbeConfig",
           "ProbeResult", "ProbeSession", "Step", "StepFailed", "run_probe"]


class ProbeSession:
    """One probe run: the steps, and the plumbing the AUTH step (auth_step.py) uses too."""

    def __init__(self, config: ProbeConfig) -> None:
        self.config = config
        self.context = rules.SessionContext(f"{config.host}:{config.port}", config.require_tls,
                                            config.mode, config.check_injection)
        self.transcript = Transcript()
        self.steps: list[Step] = []
        self.findings = FindingList()
        self.connection: Connection | None = None
        self.smtp = ClientConnection()
        self.driver = SmtpDriver(self.smtp, self._recv, self._send, on_event=self._judge)
        self.caps_before: Capabilities | None = None
        self.caps_after: Capabilities | None = None
        self.tls: TlsSession | None = None
        self.chain_der: tuple[bytes, ...] = ()
        self.certificate = None
        self.exit_code: ExitCode | None = None
        self.error: str | None = None
        self.alive = False
        self.auth = None          #: the AUTH step's progress (auth_step.py)
        self.transaction = None   #: the mail transaction's progress (transaction.py, send only)
        self.redactor = None      #: set by the AUTH step: scrubs secrets from every text
        self.deadline = 0.0
        self.step_name: str | None = None
        self.step_started = 0.0
        #: --check-injection: the verdict when the pipelined STARTTLS was refused (a retry follows)
        self.pipelining_verdict = None
        self.wait_s: float | None = None   #: a step's own wait for a reply (AUTH), shown in timeouts

    # -- the steps ---------------------------------------------------------
    def run(self) -> ProbeResult:
        started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        self.deadline = self.config.deadline_at or time.monotonic() + self.config.deadline
        try:
            self._connect()
            if self.config.mode == IMPLICIT:
                tls_steps.handshake(self)
                tls_steps.certificate(self)
            self._greeting()
            self._ehlo("ehlo")
            if self.config.mode == STARTTLS and self._starttls():
                tls_steps.handshake(self)
                if self.config.check_injection:
                    tls_steps.injection_check(self)
                tls_steps.certificate(self)
                self._ehlo("ehlo-tls")
            elif self.config.mode == PLAIN:
                caps = self.caps_before
                self.finding(rules.tls_not_used(starttls_offered=bool(caps and caps.starttls),
                                                tls_attempted=False, server=self.context.server,
                                                why=" (--plain)"))
                if not (caps and caps.starttls):
                    self._judge_plaintext_auth(plaintext.TLS_NOT_OFFERED)
            if self.config.auth is not None:
                from .auth_step import run_auth_step  # SASL is loaded only for --auth

                run_auth_step(self)
            if self.config.transaction is not None:
                from .transaction import run_transaction_step  # only send loads it

                run_transaction_step(self)
        except StepFailed:
            pass
        except KeyboardInterrupt:
            # Ctrl-C: keep everything recorded so far and say where it stopped.
            self.alive = False
            if self.step_name and (not self.steps or self.steps[-1].name != self.step_name):
                self.end(FAILED, detail="interrupted")
            self.exit_code, self.error = ExitCode.INTERRUPTED, f"{self.step_name}: interrupted"
        finally:
            self._quit()
            if self.connection is not None:
                self.connection.close()
            # The driver holds this session's bound methods: a cycle that only the garbage
            # collector would free, and a scan leaves one per target (40 KB each, with the TLS objects).
            self.driver = None
        return self._result(started_at)

    def _connect(self) -> None:
        cfg = self.config
        self.begin("connect", f"connecting to {cfg.host} port {cfg.port}")
        try:
            self.connection = Connection.open(cfg.host, cfg.port, until=self.until(),
                                              deadline=self.deadline, source_address=cfg.source_address)
        except InspectorError as exc:
            self.fail(self.explain(exc))
        self.alive = True
        self.end(OK, detail=f"{address(self.connection.local_address)} -> "
                            f"{address(self.connection.peer_address)}")

    def _greeting(self) -> None:
        self.begin("greeting", "waiting for the server's greeting")
        event = self.next_event()
        if not isinstance(event, Greeting):
            self.fail(f"expected a greeting, got {_describe(event)}")
        reply = event.reply
        elapsed = time.monotonic() - self.step_started
        chunks = [e.t for e in self.transcript.entries if e.step == "greeting" and e.direction == "recv"]
        pause = chunks[-1] - chunks[0] if chunks else 0.0
        self.finding(rules.greeting_delayed(elapsed, pause, len(reply.lines),
                                            self.config.greeting_delay_warning))
        if reply.code != 220:
            self.fail(f"greeting was not 220: {reply.summary()!r}", reply=reply)
        self.end(OK, reply=reply)

    def _ehlo(self, step: str) -> None:
        name = self.config.ehlo_name or address_literal(self.connection.local_address)
        self.begin(step, "asking for the server's extensions (EHLO)")
        event = self.command(commands.ehlo(name))
        if isinstance(event, EhloReply):
            self._store_capabilities(event.capabilities)
            self.end(OK, reply=event.reply)
            return
        reply = event.reply
        if reply.code is None or reply.code < 500:
            self.fail(f"EHLO refused: {reply.summary()!r}", reply=reply)
        helo = self.command(commands.helo(name))
        if helo.reply.code != 250:
            self.fail(f"EHLO and HELO refused: {helo.reply.summary()!r}", reply=helo.reply)
        self._store_capabilities(Capabilities.empty())
        self.end(OK, reply=helo.reply, detail="HELO fallback: no ESMTP extensions")

    def _starttls(self) -> bool:
        """Returns True when the caller should run the TLS handshake next."""
        required = self.config.require_tls
        self.begin("starttls", "asking for TLS with STARTTLS (RFC 3207)")
        caps = self.caps_before
        if caps is None or not caps.starttls:
            self.finding(rules.starttls_not_offered(caps or Capabilities.empty(), self.context))
            self._judge_plaintext_auth(plaintext.TLS_NOT_OFFERED)
            if required:
                self.fail("STARTTLS is not offered and TLS is required; stopping before "
                          "anything else is sent")
            self.end(SKIPPED, detail="STARTTLS not offered; continuing without TLS (--no-require-tls)")
            return False
        check = self.config.check_injection
        event = self.command(commands.starttls(), pipelined_noop=check)
        if not isinstance(event, StartTlsReady):
            if check:
                from .injection_retry import pipelined_starttls_refused

                pipelined_starttls_refused(self, event.reply)  # raises: a second session follows
            if required:
                self.fail(f"STARTTLS refused: {event.reply.summary()!r}", reply=event.reply)
            # Advertised but refused is a failed step on every port (exit 13); an
            # opportunistic session still goes on in clear, as a sending MTA would.
            message = f"STARTTLS refused: {event.reply.summary()!r}; continuing without TLS"
            self.end(FAILED, reply=event.reply, detail=message)
            self.record_failure("starttls", message)
            return False
        # RFC 3207 §4.2: nothing may arrive between the 220 and the handshake.
        waiting = self.connection.recv_nowait()
        if waiting:
            self.transcript.received(waiting, tls=False, step=self.step_name)
        injected = self.driver.take_injected(waiting)
        if injected:
            self.transcript.note(f"discarded {len(injected)} bytes received before the TLS handshake",
                                 tls=False, step=self.step_name)
        self.end(OK, reply=event.reply)
        return True

    def _quit(self) -> None:
        if not self.alive or self.connection is None or time.monotonic() >= self.deadline:
            return
        self.begin("quit", "ending the session")
        try:
            event = self.command(commands.quit_(), until=min(self.until(), time.monotonic() + 2.0))
        except StepFailed:
            return
        self.end(OK if event.reply.code == 221 else FAILED, reply=event.reply)

    def _store_capabilities(self, caps: Capabilities) -> None:
        if self.smtp.secure:
            self.caps_after = caps
        else:
            self.caps_before = caps

    # -- judgement: every event, by the rules replay uses too -----------------
    def _judge(self, event) -> None:
        self.findings.extend(self.scrub_finding(f) for f in
                             rules.judge_event(event, secure=self.smtp.secure, context=self.context,
                                               capabilities=self.caps_before))

    def _judge_plaintext_auth(self, tls: str) -> None:
        self.finding(plaintext.auth_without_tls_possible(self.caps_before, tls, self.context.server))

    def finding(self, finding: Finding | None) -> None:
        if finding is not None:
            self.findings.add(self.scrub_finding(finding))

    def scrub_finding(self, finding: Finding) -> Finding:
        evidence = self.scrub(finding.evidence)
        return finding if evidence == finding.evidence else replace(finding, evidence=evidence)

    # -- plumbing (public: the AUTH step and the TLS steps use it) ------------
    def _recv(self, until: float | None) -> bytes:
        data = self.connection.recv(until=until or self.until())
        if data:
            self.transcript.received(data, tls=self.smtp.secure, step=self.step_name)
        return data

    def _send(self, data: bytes, until: float | None) -> None:
        self.connection.send(data, until=until or self.until())

    def command(self, command, until: float | None = None, *, shown: str | None = None,
                pipelined_noop: bool = False) -> CommandReply:
        """Send one command and read its reply; ``shown`` replaces the line in the transcript."""
        until = until or self.until()
        try:
            data = self.driver.send(command, until, pipelined_noop=pipelined_noop)
        except TransportError as exc:
            self.alive = False
            self.fail(self.explain(exc))
        except InspectorError as exc:
            self.fail(str(exc))
        self.transcript.sent(data, tls=self.smtp.secure, step=self.step_name,
                             shown=None if shown is None else shown.encode("utf-8") + b"\r\n")
        event = self.next_event(until=until)
        if not isinstance(event, CommandReply):
            self.fail(f"expected a reply to {command.verb}, got {_describe(event)}")
        if event.reply.code is None:
            self.fail(f"malformed reply to {command.verb}: {event.reply.summary()!r}", reply=event.reply)
        return event

    def next_event(self, *, until: float | None = None, unsolicited: bool = False):
        """The next event; a closed stream, a transport or protocol error fails the step."""
        try:
            event = self.driver.next_event(until or self.until(), unsolicited=unsolicited)
        except ProtocolError as exc:
            self.alive = False
            self.finding(rules.reply_malformed(error=str(exc)))
            self.fail(str(exc))
        except TransportError as exc:
            self.alive = False
            if unsolicited and isinstance(exc, StepTimeout):
                raise
            self.fail(self.explain(exc))
        if isinstance(event, ConnectionClosed):
            self.alive = False
            partial = f" after {len(event.partial)} bytes of an unfinished reply" if event.partial else ""
            self.fail(f"the server closed the connection{partial}")
        return event

    def explain(self, exc: InspectorError) -> str:
        if isinstance(exc, StepTimeout):
            return f"{exc} ({self.wait_s or self.config.timeout:g} s)"
        return str(exc)

    def until(self) -> float:
        return min(time.monotonic() + self.config.timeout, self.deadline)

    def begin(self, step: str, note: str) -> None:
        self.step_name = step
        self.step_started = time.monotonic()
        self.transcript.note(note, tls=self.smtp.secure, step=step)

    def end(self, status: str, *, reply: Reply | None = None, detail: str | None = None) -> None:
        duration = (time.monotonic() - self.step_started) * 1000
        detail = self.scrub(detail)
        self.steps.append(Step(self.step_name, status, duration, self.scrub_reply(reply), detail))
        if detail:
            self.transcript.note(detail, tls=self.smtp.secure, step=self.step_name)

    def fail(self, message: str, *, reply: Reply | None = None):
        step = self.step_name
        if time.monotonic() >= self.deadline and "deadline" not in message:
            message += f" (overall deadline of {self.config.deadline:g} s)"
        self.end(FAILED, reply=reply, detail=message)
        self.record_failure(step, message)
        raise StepFailed(message)

    def record_failure(self, step: str, message: str) -> None:
        if self.exit_code is None and step in STEP_EXIT_CODES:
            self.exit_code = STEP_EXIT_CODES[step]
            self.error = self.scrub(f"{step}: {message}")

    def scrub(self, text):
        if self.redactor is None or not text:   # no secret in this session (no import either)
            return text
        from ..redaction import scrub_output

        return scrub_output(text, self.redactor)

    def scrub_reply(self, reply: Reply | None) -> Reply | None:
        """A reply whose text echoes a secret (hostile server) is kept with it redacted."""
        if reply is None or self.redactor is None:
            return reply
        lines = tuple(replace(line, raw=self.redactor.scrub_bytes(line.raw)[0],
                              text=self.redactor.scrub(line.text)) for line in reply.lines)
        return replace(reply, lines=lines) if lines != reply.lines else reply

    def _result(self, started_at: str) -> ProbeResult:
        exit_code = self.exit_code
        findings = self.findings.freeze()
        if exit_code is None:
            has_error = any(f.severity is Severity.ERROR for f in findings)
            exit_code = ExitCode.FINDINGS if has_error else ExitCode.OK
        peer = self.connection.peer_address if self.connection else None
        auth = None
        if self.config.auth is not None:
            from .auth_step import auth_outcome

            auth = auth_outcome(self)
        return ProbeResult(
            config=self.config, started_at=started_at, peer_address=address(peer) if peer else None,
            steps=tuple(self.steps), transcript=self.transcript.freeze(),
            capabilities_before=self.caps_before, capabilities_after=self.caps_after, tls=self.tls,
            certificate=self.certificate, findings=findings, exit_code=exit_code, error=self.error,
            chain_der=tuple(self.chain_der), auth=auth,
            transaction=self.transaction.outcome() if self.transaction is not None else None)


def run_probe(config: ProbeConfig) -> ProbeResult:
    """Run one session against the target; never raises for network or protocol trouble.

    With --check-injection, a server that refuses STARTTLS pipelined with NOOP
    gets a second session without pipelining (``injection_retry``).
    """
    session = ProbeSession(config)
    result = session.run()
    if session.pipelining_verdict is None:
        return result
    from .injection_retry import retry_without_pipelining

    return retry_without_pipelining(result, session.pipelining_verdict, session.transcript.started,
                                    run_probe)


def _describe(event) -> str:
    if isinstance(event, CommandReply):
        return f"reply {event.reply.summary()!r}"
    return type(event).__name__
