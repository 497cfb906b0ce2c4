"""The probe's TLS steps: the handshake, the command-injection check, the certificate.

Functions of the running :class:`~inspector.probes.session.ProbeSession`
(passed in; this module never imports it). Findings come from
:mod:`inspector.rules`, as for every other step.
"""

from __future__ import annotations

import time

from ..errors import InspectorError, StepTimeout
from ..findings import Severity
from ..frozen import replace
from ..net.address import is_ip_address
from ..net.tls_contexts import inspection_context
from ..rules import session as rules
from ..rules.tls import TlsObservation, tls_handshake_failed, tls_legacy_version
from .steps import FAILED, OK, STARTTLS

#: How long ``check_injection`` waits inside TLS for a reply to the pipelined NOOP.
INJECTION_WAIT = 1.0


def handshake(session) -> None:
    cfg = session.config
    sni = "no SNI for an IP address" if is_ip_address(cfg.expected_name) else f"SNI {cfg.expected_name}"
    session.begin("tls-handshake", f"TLS handshake, {sni}")
    try:
        facts = session.connection.start_tls(inspection_context(), cfg.expected_name,
                                             until=session.until())
    except InspectorError as exc:
        session.alive = False
        prefix = getattr(exc, "non_tls_prefix", b"")
        if prefix:
            session.transcript.received(prefix, tls=False, step=session.step_name)
            session.finding(rules.response_injection(non_tls=prefix))
        session.finding(tls_handshake_failed(TlsObservation(error=session.explain(exc))))
        session.fail(session.explain(exc))
    if cfg.mode == STARTTLS:
        session.smtp.tls_established()
    else:
        session.smtp.implicit_tls_established()
    session.tls, session.chain_der = facts.session, facts.chain_der
    tls = facts.session
    session.finding(tls_legacy_version([tls.version], tls.cipher))
    group = f", group {tls.group}" if tls.group else ""
    session.end(OK, detail=f"{tls.version}, {tls.cipher} ({tls.bits} bits){group}")


def injection_check(session) -> None:
    """Did the server run the NOOP we pipelined after STARTTLS, inside TLS?

    RFC 3207 §4.2: the server MUST discard what the client sent before the
    handshake. One that answers the NOOP now lets an attacker in the path
    inject plaintext commands into the protected session (CVE-2011-0411).
    """
    wait = min(INJECTION_WAIT, session.config.timeout)
    session.begin("injection-check", f"waiting {wait:g} s inside TLS for a reply to the NOOP sent "
                  "with STARTTLS; a correct server discarded it (RFC 3207 §4.2)")
    until = min(session.until(), time.monotonic() + wait)
    try:
        event = session.next_event(until=until, unsolicited=True)
    except StepTimeout:
        session.end(OK, detail=f"no reply to the pipelined NOOP within {wait:g} s")
        return
    reply = event.reply
    session.finding(rules.reply_malformed(reply=reply))
    session.finding(rules.command_injection(reply))
    session.end(FAILED, reply=reply, detail="the server ran a plaintext command inside TLS")


def certificate(session) -> None:
    cfg = session.config
    session.begin("certificate", f"checking the certificate for {cfg.expected_name}")
    from ..certs import analyze_chain

    report = analyze_chain(list(session.chain_der), cfg.expected_name, cafile=cfg.cafile)
    cert_findings = list(report.findings)
    if cfg.insecure:
        cert_findings = [replace(f, severity=Severity.WARNING) if f.severity is Severity.ERROR
                         else f for f in cert_findings]
    session.certificate = report
    session.findings.extend(cert_findings)
    errors = [f.id for f in cert_findings if f.severity is Severity.ERROR]
    verdict = "trusted" if report.trusted else f"not trusted: {report.trust_error}"
    match = "matches" if report.hostname_match else "does NOT match"
    detail = f"{verdict}; {match} {cfg.expected_name}"
    if errors:
        # No secret is ever sent after this; EHLO and QUIT still run for the record.
        session.end(FAILED, detail=detail + f" ({', '.join(errors)})")
        session.record_failure("certificate", detail)
        return
    session.end(OK, detail=detail + (" (--insecure)" if cfg.insecure and not report.trusted else ""))
