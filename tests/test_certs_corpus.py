"""Trust verdicts on chains from real CA tools, served over STARTTLS, against ``openssl s_client``.

Issue 13 cases 1 and 2, issue 19 case 11. Every chain of :mod:`tests.cert_corpus` is served
by the lab server (``inspector.lab``, a real OpenSSL TLS stack through Python ``ssl``) after
STARTTLS; ``openssl s_client -starttls smtp -verify_return_error -CAfile ...`` decides as an
OpenSSL-based mail client does, and the probe's verdict must equal it: trusted or not, and
the same X509_V_ERR error class.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from inspector.exitcodes import ExitCode
from inspector.lab import DEMO_PASSWORD, DEMO_USER, LabServer
from inspector.lab.certs import LabCertificates
from inspector.probes.session import ProbeConfig, run_probe
from tests.cert_corpus import SERVER, build_corpus

#: what openssl says for each chain (error number, depth); 0 is "ok". The live s_client
#: verdict is compared below, this table only guards that the corpus is what it claims.
EXPECTED_OPENSSL = {
    "openssl-req-defaults": 0,
    "openssl-v3-ca": 0,
    "easy-rsa": 0,
    "gnutls-certtool": 0,
    "mkcert": 0,
    "cryptography": 0,
    "wrong-order": 0,
    "self-signed-leaf": 18,                # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    "missing-intermediate": 20,            # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    "unknown-root": 20,
    "intermediate-sent-root-unknown": 20,
    "root-sent-not-trusted": 19,           # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    "expired-intermediate": 10,            # X509_V_ERR_CERT_HAS_EXPIRED
    "name-constrained-ca": 47,             # X509_V_ERR_PERMITTED_VIOLATION
}

#: certificate findings each chain must give (besides cert-untrusted for untrusted ones)
EXPECTED_FINDINGS = {
    "openssl-req-defaults": {"cert-profile-nonconforming"},   # root without keyUsage
    "easy-rsa": {"cert-profile-nonconforming"},               # non-critical basicConstraints
    "wrong-order": {"cert-chain-order"},
    "self-signed-leaf": {"cert-self-signed"},
    "missing-intermediate": {"cert-missing-intermediate"},
    "expired-intermediate": {"cert-expired"},
}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("chain-corpus"))


def serve(chain):
    return LabServer(hostname=SERVER, certificates=LabCertificates(
        ca_pem=open(chain.cafile, "rb").read(), cert_pem=chain.chain_pem, key_pem=chain.key_pem))


def s_client_verdict(port: int, cafile: str) -> int:
    """X509_V_ERR number openssl s_client reports (0: verified), as a mail client would see it."""
    proc = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-starttls", "smtp",
                           "-servername", SERVER, "-CAfile", cafile, "-verify_return_error"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    output = proc.stdout + proc.stderr
    error = re.search(r"verify error:num=(\d+):", output)
    if error:
        return int(error.group(1))
    assert re.search(r"Verify return code: 0 \(ok\)", output), output[-2000:]
    return 0


@pytest.mark.parametrize("name", sorted(EXPECTED_OPENSSL))
def test_trust_verdict_equals_openssl_s_client(corpus, name):
    chain = corpus[name]
    with serve(chain) as lab:
        openssl_code = s_client_verdict(lab.port, chain.cafile)
        result = run_probe(ProbeConfig(host="127.0.0.1", port=lab.port, servername=SERVER,
                                       cafile=chain.cafile, timeout=10, deadline=30))
    assert openssl_code == EXPECTED_OPENSSL[name]
    report = result.certificate
    assert report is not None, result.error
    assert report.trusted is (openssl_code == 0), report.trust_error
    assert report.verify_error == openssl_code, report.trust_error
    ids = {f.id for f in report.findings}
    assert ("cert-untrusted" in ids) is (openssl_code != 0)
    assert EXPECTED_FINDINGS.get(name, set()) <= ids, ids
    if name != "missing-intermediate":   # 19.11: one cause, one finding
        assert "cert-missing-intermediate" not in ids
    if openssl_code == 0:
        assert result.exit_code is ExitCode.OK, (result.exit_code, ids)
    else:
        assert result.exit_code is ExitCode.CERTIFICATE


@pytest.mark.parametrize(("name", "words"), [
    ("unknown-root", "unable to get local issuer certificate"),
    ("intermediate-sent-root-unknown", "unable to get local issuer certificate"),
    ("root-sent-not-trusted", "self-signed certificate in certificate chain"),
    ("self-signed-leaf", "self-signed certificate"),
    ("expired-intermediate", "certificate expired (chain[1]"),
    ("name-constrained-ca", "name constraints"),
])
def test_reason_names_openssls_error_class(corpus, name, words):
    """Issue 13.2: never "chain construction exceeds max depth"; the reason is openssl's class."""
    chain = corpus[name]
    with serve(chain) as lab:
        report = run_probe(ProbeConfig(host="127.0.0.1", port=lab.port, servername=SERVER,
                                       cafile=chain.cafile, timeout=10, deadline=30)).certificate
    assert words in report.trust_error
    assert "max depth" not in report.trust_error


def test_profile_finding_names_the_stricter_verifier_and_keeps_exit_0(corpus):
    chain = corpus["openssl-req-defaults"]
    with serve(chain) as lab:
        result = run_probe(ProbeConfig(host="127.0.0.1", port=lab.port, servername=SERVER,
                                       cafile=chain.cafile, timeout=10, deadline=30))
    [finding] = [f for f in result.findings if f.id == "cert-profile-nonconforming"]
    assert finding.severity.value == "warning"
    assert "web PKI" in finding.evidence and "keyUsage" in finding.evidence
    assert result.exit_code is ExitCode.OK


def test_auth_is_tried_over_a_chain_openssl_trusts(corpus):
    """Issue 13.1: with --auth, the login runs once the (OpenSSL-trusted) certificate is checked."""
    from inspector.probes.auth_step import AuthRequest
    from inspector.smtp.sasl import Credentials, Secret

    chain = corpus["openssl-req-defaults"]
    auth = AuthRequest("PLAIN", Credentials(DEMO_USER, password=Secret(DEMO_PASSWORD)))
    with serve(chain) as lab:
        result = run_probe(ProbeConfig(host="127.0.0.1", port=lab.port, servername=SERVER,
                                       cafile=chain.cafile, timeout=10, deadline=30, auth=auth))
    assert result.auth is not None and result.auth.status == "accepted", result.auth
    assert result.exit_code is ExitCode.OK


def test_cli_probe_exit_code_follows_openssl(corpus, tmp_path):
    """The installed command, as a user runs it: exit 0 for the openssl-defaults CA, 15 without it."""
    import os
    import sys

    chain = corpus["openssl-req-defaults"]
    command = [os.path.join(os.path.dirname(sys.executable), "smtp-inspector"), "probe"]
    with serve(chain) as lab:
        ok = subprocess.run(command + [f"127.0.0.1:{lab.port}", "--servername", SERVER,
                                       "--cafile", chain.cafile], capture_output=True, text=True,
                            timeout=60)
        other = subprocess.run(command + [f"127.0.0.1:{lab.port}", "--servername", SERVER,
                                          "--cafile", corpus["openssl-v3-ca"].cafile],
                               capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "cert-untrusted" not in ok.stdout
    assert other.returncode == ExitCode.CERTIFICATE, other.stdout + other.stderr
    assert "unable to get local issuer certificate" in other.stdout
    assert "cert-missing-intermediate" not in other.stdout


class Tls12LabServer(LabServer):
    """The lab server capped at TLS 1.2, so that a capture shows the certificates in clear."""

    def _server_tls_context(self, cert_path, key_path):
        import ssl

        context = super()._server_tls_context(cert_path, key_path)
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        return context


def test_cli_tls_audit_trusts_the_openssl_defaults_ca(corpus, run_cli):
    """Issue 13.1 for ``tls``: exit 0, the chain trusted, the profile departure a warning."""
    chain = corpus["openssl-req-defaults"]
    with serve(chain) as lab:
        completed, document = run_cli("tls", f"127.0.0.1:{lab.port}", "--servername", SERVER,
                                      "--cafile", chain.cafile, "--versions", "TLSv1.3", "--json",
                                      timeout=120)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
    ids = {f["id"] for f in document["findings"]}
    assert "cert-untrusted" not in ids and "cert-profile-nonconforming" in ids


def test_cli_replay_of_a_real_capture_judges_like_openssl(corpus, run_cli, tmp_path):
    """Issue 13.1 for ``replay``: a session captured by ``probe --sniff`` (root), replayed."""
    chain = corpus["openssl-req-defaults"]
    pcap = tmp_path / "session.pcap"
    server = Tls12LabServer(hostname=SERVER, certificates=LabCertificates(
        ca_pem=open(chain.cafile, "rb").read(), cert_pem=chain.chain_pem, key_pem=chain.key_pem))
    with server as lab:
        completed, _ = run_cli("probe", f"127.0.0.1:{lab.port}", "--servername", SERVER, "--cafile",
                               chain.cafile, "--sniff", "--pcap", str(pcap), timeout=120)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
    trusted, document = run_cli("replay", str(pcap), "--cafile", chain.cafile, "--json")
    untrusted, _ = run_cli("replay", str(pcap), "--cafile", corpus["openssl-v3-ca"].cafile, "--json")
    assert trusted.returncode == 0, trusted.stdout[-2000:] + trusted.stderr
    assert "cert-untrusted" not in trusted.stdout
    assert "cert-untrusted" in untrusted.stdout
    assert "unable to get local issuer certificate" in untrusted.stdout
    assert "cert-missing-intermediate" not in untrusted.stdout


@pytest.mark.parametrize("name", ["openssl-req-defaults", "unknown-root", "missing-intermediate"])
def test_default_store_is_openssls_default_store(corpus, tmp_path, name):
    """Without --cafile the store is OpenSSL's default one (SSL_CERT_FILE / SSL_CERT_DIR here),
    and the verdict equals s_client's without -CAfile."""
    import os
    import sys

    chain = corpus[name]
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    env = dict(os.environ, SSL_CERT_FILE=chain.cafile, SSL_CERT_DIR=str(empty))
    command = [os.path.join(os.path.dirname(sys.executable), "smtp-inspector"), "probe"]
    with serve(chain) as lab:
        s_client = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{lab.port}", "-starttls",
                                   "smtp", "-servername", SERVER, "-verify_return_error"], env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        ours = subprocess.run(command + [f"127.0.0.1:{lab.port}", "--servername", SERVER, "--json"],
                              env=env, capture_output=True, text=True, timeout=60)
    import json
    openssl_ok = "Verify return code: 0 (ok)" in s_client.stdout and "verify error" not in s_client.stdout
    certificate = json.loads(ours.stdout)["certificate"]
    assert certificate["trusted"] is openssl_ok is (EXPECTED_OPENSSL[name] == 0), certificate
