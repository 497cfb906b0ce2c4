"""``probe`` against the real Postfix + Dovecot lab started by scripts/mail-lab/start.

Cross-checks with openssl s_client, an independent TLS client, on the same ports.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from inspector.exitcodes import ExitCode
from inspector.findings import Severity
from inspector.probes.session import IMPLICIT, PLAIN, STARTTLS, ProbeConfig, run_probe

pytestmark = pytest.mark.postfix

STARTTLS_STEPS = ["connect", "greeting", "ehlo", "starttls", "tls-handshake", "certificate",
                  "ehlo-tls", "quit"]
IMPLICIT_STEPS = ["connect", "tls-handshake", "certificate", "greeting", "ehlo", "quit"]


def probe(mail_lab, port, **overrides):
    settings = dict(host=mail_lab.host, port=port, servername=mail_lab.servername,
                    cafile=mail_lab.cafile, timeout=5.0, deadline=20.0)
    settings.update(overrides)
    return run_probe(ProbeConfig(**settings))


def openssl_facts(mail_lab, port, starttls: bool) -> dict:
    """Protocol, cipher and leaf fingerprint as openssl s_client sees them."""
    command = ["openssl", "s_client", "-connect", f"{mail_lab.host}:{port}",
               "-servername", mail_lab.servername, "-CAfile", mail_lab.cafile, "-brief"]
    if starttls:
        command[2:2] = ["-starttls", "smtp"]
    session = subprocess.run(command, input=b"QUIT\r\n", capture_output=True, timeout=20)
    text = session.stderr.decode() + session.stdout.decode()
    protocol = re.search(r"Protocol version: (\S+)", text).group(1)
    cipher = re.search(r"Ciphersuite: (\S+)", text).group(1)
    pem = subprocess.run(
        [*command[:-1], "-showcerts"], input=b"QUIT\r\n",
        capture_output=True, timeout=20).stdout
    leaf = re.search(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S).group(0)
    digest = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"],
                            input=leaf, capture_output=True, timeout=20).stdout.decode()
    fingerprint = digest.split("=", 1)[1].strip().replace(":", "").lower()
    return {"protocol": protocol, "cipher": cipher, "fingerprint": fingerprint}


def test_submission_587_starttls_clean(mail_lab):
    result = probe(mail_lab, mail_lab.ports["submission"], mode=STARTTLS, require_tls=True)

    assert [s.name for s in result.steps] == STARTTLS_STEPS
    assert all(s.status == "ok" for s in result.steps), result.steps
    assert result.exit_code is ExitCode.OK
    assert result.findings == ()
    before, after = result.capabilities_before, result.capabilities_after
    assert before.starttls and not after.starttls
    assert before.auth_mechanisms == ()  # smtpd_tls_auth_only = yes
    assert set(mail_lab.mechanisms) <= set(after.auth_mechanisms)
    assert {"PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8", "CHUNKING"} <= set(after.keywords)
    assert before.size_limit == after.size_limit and before.size_limit > 0
    assert result.step("starttls").reply.code == 220
    assert result.step("starttls").reply.enhanced_code == "2.0.0"
    assert result.step("quit").reply.code == 221
    assert result.certificate.trusted and result.certificate.hostname_match
    assert result.tls.group == "x25519"


@pytest.mark.parametrize("service,starttls", [("submission", True), ("submissions", False)])
def test_tls_facts_agree_with_openssl_s_client(mail_lab, service, starttls):
    port = mail_lab.ports[service]
    result = probe(mail_lab, port, mode=STARTTLS if starttls else IMPLICIT)
    reference = openssl_facts(mail_lab, port, starttls)

    assert result.tls.version == reference["protocol"]
    assert result.tls.cipher == reference["cipher"]
    assert result.certificate.chain[0].sha256_fingerprint == reference["fingerprint"]


def test_submissions_465_implicit_tls(mail_lab):
    result = probe(mail_lab, mail_lab.ports["submissions"], mode=IMPLICIT, require_tls=True)

    assert [s.name for s in result.steps] == IMPLICIT_STEPS
    assert result.exit_code is ExitCode.OK, result.error
    assert result.findings == ()
    assert result.capabilities_before is None
    assert not result.capabilities_after.starttls
    assert "PLAIN" in result.capabilities_after.auth_mechanisms
    assert result.step("greeting").reply.code == 220
    assert [e.tls for e in result.transcript if e.direction == "recv"] == [True] * len(
        [e for e in result.transcript if e.direction == "recv"])


def test_port_25_opportunistic_starttls(mail_lab):
    result = probe(mail_lab, mail_lab.ports["smtp"], mode=STARTTLS, require_tls=False)

    assert [s.name for s in result.steps] == STARTTLS_STEPS
    assert result.exit_code is ExitCode.OK
    assert result.findings == ()
    assert result.capabilities_before.starttls
    assert "auth-before-tls" not in result.finding_ids


def test_wrong_name_is_a_certificate_failure(mail_lab):
    result = probe(mail_lab, mail_lab.ports["submission"], servername="smtp.example.net")

    assert result.exit_code is ExitCode.CERTIFICATE
    assert "cert-hostname-mismatch" in result.finding_ids
    assert result.step("certificate").status == "failed"
    # The session still ends politely and no later step is skipped.
    assert result.step("ehlo-tls").status == "ok"
    assert result.step("quit").reply.code == 221


def test_insecure_downgrades_certificate_errors(mail_lab):
    result = probe(mail_lab, mail_lab.ports["submission"], servername="smtp.example.net",
                   insecure=True)

    assert result.exit_code is ExitCode.OK
    mismatch = [f for f in result.findings if f.id == "cert-hostname-mismatch"]
    assert mismatch and mismatch[0].severity is Severity.WARNING


def test_unknown_ca_is_untrusted(mail_lab):
    result = probe(mail_lab, mail_lab.ports["submission"], cafile=None)

    assert result.exit_code is ExitCode.CERTIFICATE
    assert "cert-untrusted" in result.finding_ids
    assert not result.certificate.trusted


def test_plain_mode_on_port_25_reports_no_tls(mail_lab):
    result = probe(mail_lab, mail_lab.ports["smtp"], mode=PLAIN, require_tls=False)

    assert [s.name for s in result.steps] == ["connect", "greeting", "ehlo", "quit"]
    assert result.tls is None
    assert result.finding_ids == {"tls-not-used"}
    assert result.exit_code is ExitCode.OK


def test_cli_json_against_postfix(mail_lab, run_cli):
    completed, document = run_cli(
        "probe", f"{mail_lab.host}:{mail_lab.ports['submission']}", "--servername",
        mail_lab.servername, "--cafile", mail_lab.cafile, "--json")

    assert completed.returncode == 0, completed.stderr
    assert document["target"]["mode"] == "starttls" and document["target"]["require_tls"] is True
    assert [step["name"] for step in document["steps"]] == STARTTLS_STEPS


def test_capabilities_agree_with_smtplib(mail_lab):
    """smtplib, an independent EHLO parser, sees the same keywords and mechanisms."""
    import smtplib
    import ssl

    result = probe(mail_lab, mail_lab.ports["submission"])
    context = ssl.create_default_context(cafile=mail_lab.cafile)
    context.check_hostname = False
    with smtplib.SMTP(mail_lab.host, mail_lab.ports["submission"], timeout=10) as client:
        client.ehlo("[127.0.0.1]")
        before = dict(client.esmtp_features)
        client.starttls(context=context)
        client.ehlo("[127.0.0.1]")
        after = dict(client.esmtp_features)

    assert set(result.capabilities_before.keywords) == {k.upper() for k in before}
    assert set(result.capabilities_after.keywords) == {k.upper() for k in after}
    assert list(result.capabilities_after.auth_mechanisms) == after["auth"].split()
    assert result.capabilities_after.size_limit == int(after["size"])
