"""``smtp-inspector tls`` against real servers from Debian packages (issue 13, cases 3 and 4).

- Dovecot 2.3's submission service without ``ssl_dh`` (scripts/dovecot-submission):
  it follows the client's order, so an offer that starts with DHE makes it pick
  DHE, find no DH parameters and close the connection without a word; it closes
  the same way when it shares nothing. The audit must not take that close for
  "TLS 1.2 not accepted": ``openssl s_client -tls1_2`` negotiates ECDHE.
- OpenSMTPD 6.8 as built for Debian bookworm with OpenSSL 3 (scripts/opensmtpd):
  it sends its ServerHello and then alert 80 (internal_error) to every client,
  so no handshake completes, whatever the suite.

The reference is ``openssl s_client``, one suite per connection (tests/tls_servers.py).
"""

from __future__ import annotations

import json
import subprocess

import jsonschema
import pytest

from inspector.exitcodes import ExitCode
from inspector.probes.tls_audit import TlsAuditConfig, run_tls_audit
from tests.tls_servers import openssl_accepted

SCHEMA = json.loads(open("inspector/schema/tls-audit.schema.json").read())


def audit(server, port_name="submission", **kwargs):
    mode = "implicit" if port_name == "submissions" else "starttls"
    return run_tls_audit(TlsAuditConfig(server.host, server.ports[port_name], mode=mode,
                                        servername=server.servername, cafile=server.cafile,
                                        **{"deadline": 90.0, **kwargs}))


def s_client(port: int, *flags: str) -> str:
    done = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-starttls", "smtp",
                           "-servername", "submission.lab.test", "-brief", *flags],
                          input=b"", capture_output=True, timeout=20)
    return (done.stdout + done.stderr).decode("utf-8", "replace")


# ------------------------------------------------------------------ case 3: Dovecot without ssl_dh


def test_dovecot_without_dh_parameters_closes_on_a_dhe_first_offer(dovecot_submission):
    """The premise, checked with openssl: DHE alone is closed on, ECDHE is negotiated."""
    port = dovecot_submission.ports["submission"]
    assert "Ciphersuite: ECDHE-RSA-AES256-GCM-SHA384" in s_client(port, "-tls1_2")
    assert "Ciphersuite" not in s_client(port, "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256")


@pytest.fixture(scope="module")
def dovecot_audit(dovecot_submission):
    return audit(dovecot_submission)


def test_dovecot_tls12_is_accepted_with_ecdhe(dovecot_audit):
    result = dovecot_audit
    tls12 = next(v for v in result.versions if v.version == "TLSv1.2")
    assert tls12.supported, tls12
    assert "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" in result.accepted("TLSv1.2")
    assert not any(s.kx == "DHE" for s in tls12.suites)
    assert result.exit_code is not ExitCode.TLS
    assert result.error is None, result.error


def test_dovecot_close_on_dhe_is_reported_not_taken_for_refusal(dovecot_audit):
    result = dovecot_audit
    tls12 = next(v for v in result.versions if v.version == "TLSv1.2")
    assert "DHE" in tls12.closed_on, tls12.closed_on
    finding = next(f for f in result.findings if f.id == "tls-offer-closed")
    assert "TLSv1.2" in finding.evidence and "DHE" in finding.evidence


def test_dovecot_every_accepted_version_completes_a_handshake(dovecot_audit):
    result = dovecot_audit
    for version in result.versions:
        if version.supported:
            assert version.handshake_completed is True, version
    assert "tls-no-handshake-completes" not in result.finding_ids


def test_dovecot_matches_openssl(dovecot_submission, dovecot_audit):
    """Cross-check: the accepted sets equal openssl s_client's, suite by suite."""
    reference = openssl_accepted(dovecot_submission.ports["submission"])
    for version in ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"):
        assert dovecot_audit.accepted(version) == reference[version], version


def test_dovecot_implicit_tls_json_validates(dovecot_submission, run_cli):
    done, data = run_cli("tls", f"127.0.0.1:{dovecot_submission.ports['submissions']}", "--implicit-tls",
                         "--servername", dovecot_submission.servername, "--cafile",
                         dovecot_submission.cafile, "--versions", "TLSv1.2", "--json")
    jsonschema.validate(data, SCHEMA)
    assert done.returncode == 0, done.stderr
    (tls12,) = data["versions"]
    assert tls12["supported"] and tls12["handshake_completed"] is True
    assert "DHE" in tls12["closed_on"]


# ------------------------------------------------------------------ case 4: OpenSMTPD 6.8 + OpenSSL 3


def test_opensmtpd_premise_no_client_finishes_a_handshake(opensmtpd):
    port = opensmtpd.ports["submission"]
    for flag in ("-tls1_2", "-tls1_3"):
        text = s_client(port, flag)
        assert "Ciphersuite" not in text and "alert number 80" in text, text


def test_opensmtpd_no_handshake_completes_is_an_error(opensmtpd):
    result = audit(opensmtpd, versions=("TLSv1.2", "TLSv1.3"))
    supported = [v for v in result.versions if v.supported]
    assert supported, "the server does pick suites"
    assert all(v.handshake_completed is False for v in supported), supported
    finding = next(f for f in result.findings if f.id == "tls-no-handshake-completes")
    assert finding.severity.value == "error"
    assert "internal_error" in finding.evidence
    assert result.exit_code is ExitCode.TLS, (result.exit_code, result.error)
    assert "no TLS handshake completes" in result.error
