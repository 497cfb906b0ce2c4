"""``probe`` against the built-in lab server, clean and with every fault."""

from __future__ import annotations

from inspector.exitcodes import ExitCode
from inspector.findings import Severity
from inspector.probes.session import IMPLICIT, STARTTLS, ProbeConfig, run_probe


def probe(server, **overrides):
    settings = dict(host=server.host, port=server.port, servername=server.hostname,
                    cafile=server.ca_path, mode=STARTTLS, require_tls=True, timeout=5.0,
                    deadline=20.0)
    settings.update(overrides)
    return run_probe(ProbeConfig(**settings))


def test_clean_lab_has_no_findings(lab_server):
    result = probe(lab_server())

    assert result.exit_code is ExitCode.OK, result.error
    assert result.findings == ()
    assert result.capabilities_before.starttls
    assert result.capabilities_before.auth_mechanisms == ()
    assert result.capabilities_after.auth_mechanisms == ("PLAIN", "LOGIN")
    assert not result.capabilities_after.starttls
    assert result.certificate.trusted and result.certificate.hostname_match


def test_lab_implicit_tls(lab_server):
    result = probe(lab_server(implicit_tls=True), mode=IMPLICIT)

    assert result.exit_code is ExitCode.OK, result.error
    assert result.findings == ()
    assert result.tls.version in ("TLSv1.2", "TLSv1.3")


def test_strip_starttls_stops_when_tls_is_required(lab_server):
    result = probe(lab_server(fault="strip-starttls"))

    assert result.exit_code is ExitCode.STARTTLS
    assert result.finding_ids == {"starttls-not-offered"}
    assert result.findings[0].severity is Severity.ERROR
    assert result.step("starttls").status == "failed"
    assert result.tls is None
    # Nothing but QUIT after the decision to stop.
    sent = [e.data for e in result.transcript if e.direction == "send"]
    assert sent[-1] == b"QUIT\r\n" and not any(d.startswith(b"STARTTLS") for d in sent)


def test_strip_starttls_without_require_tls_continues_in_clear(lab_server):
    result = probe(lab_server(fault="strip-starttls"), require_tls=False)

    assert result.exit_code is ExitCode.OK
    assert result.step("starttls").status == "skipped"
    [finding] = result.findings
    assert finding.id == "starttls-not-offered" and finding.severity is Severity.WARNING


def test_mask_starttls_is_recognised(lab_server):
    result = probe(lab_server(fault="mask-starttls"))

    assert result.exit_code is ExitCode.STARTTLS
    assert {"starttls-masked", "starttls-not-offered"} <= result.finding_ids
    evidence = " ".join(f.evidence for f in result.findings if f.id == "starttls-masked")
    assert "XXXXXXXA" in evidence and "asterisks" in evidence
    assert result.capabilities_before.masked == ("XXXXXXXA",)


def test_starttls_454(lab_server):
    result = probe(lab_server(fault="starttls-454"))

    assert result.exit_code is ExitCode.STARTTLS
    assert result.finding_ids == {"starttls-failed"}
    assert result.step("starttls").reply.code == 454
    assert result.step("starttls").reply.enhanced_code == "4.7.0"


def test_injected_bytes_after_starttls_are_reported_and_never_parsed(lab_server):
    result = probe(lab_server(fault="inject-after-starttls"))

    assert "response-injection" in result.finding_ids
    assert result.exit_code is ExitCode.FINDINGS
    # TLS went ahead with the injected bytes discarded: the EHLO inside TLS is the real one.
    assert result.step("tls-handshake").status == "ok"
    assert result.capabilities_after.domain == "lab.smtp-inspector.test"
    assert "lab.injected" not in repr(result.capabilities_before) + repr(result.capabilities_after)
    injected = [f for f in result.findings if f.id == "response-injection"][0]
    assert "250-lab.injected" in injected.evidence


def test_plain_auth_before_tls(lab_server):
    result = probe(lab_server(fault="plain-auth-before-tls"))

    assert result.exit_code is ExitCode.OK
    assert result.finding_ids == {"auth-before-tls"}
    assert set(result.capabilities_before.auth_mechanisms) >= {"PLAIN", "LOGIN"}


def test_slow_greeting_is_reported_as_delayed(lab_server):
    result = probe(lab_server(fault="slow-greeting"))

    assert result.exit_code is ExitCode.OK
    assert result.finding_ids == {"greeting-delayed"}
    greeting = result.step("greeting")
    assert len(greeting.reply.lines) == 2 and greeting.duration_ms >= 2000
    assert "pregreet" in result.findings[0].evidence


def test_a_probe_session_leaves_no_reference_cycle(lab_server):
    """A scan runs thousands of sessions: each must be freed when its result is dropped, not left
    for the garbage collector (the driver once held the session's bound methods)."""
    import gc

    server = lab_server()
    probe(server)   # first use: imports and caches
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = probe(server)
        assert result.exit_code is ExitCode.OK, result.error
        del result
        gc.collect()
        left = sorted({type(o).__name__ for o in gc.garbage
                       if type(o).__module__.startswith(("inspector.probes", "inspector.smtp",
                                                         "inspector.net"))})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []
