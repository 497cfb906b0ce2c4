"""The TLS vulnerability and feature checks against real servers, each property on and off (issue 20).

- OpenSSL 3's ``openssl s_server`` (implicit TLS: ``s_server -starttls smtp`` does not
  exist; ``tls`` speaks 465-style TLS from the first byte): with and without
  ``-client_renegotiation``, ``-no_ticket``, ``-status_file`` (a good and an expired
  OCSP response), ``-no_renegotiation``, a 1024-bit ``-dhparam``, 3DES, ``-sigalgs``,
  ``-dcert`` and ``-groups`` (TLS 1.3 CertificateVerify schemes) and a certificate with
  embedded SCTs.
  s_server serves one connection at a time, so these audits run with ``concurrency=1``.
- The mail lab's Postfix 3.7 (OpenSSL 3), cross-checked against sslyze
  (``--reneg --fallback --heartbleed --openssl_ccs --robot --compression --resum
  --certinfo``, scripts/sslyze/install) and testssl.sh (Debian package).

Heartbleed, CCS injection, ROBOT, missing RFC 5746, compression and an ignored
TLS_FALLBACK_SCSV exist in no packaged build any more: tests/test_tls_checks.py.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import subprocess
import time

import jsonschema
import pytest

from inspector.probes.tls_audit import TlsAuditConfig, run_tls_audit
from inspector.render.tls_checks import checks_json
from inspector.tls.checks.ocsp import SCT_OID
from tests.tls_servers import HOSTNAME, _rsa_key, write_rsa_certificate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = json.loads(open(os.path.join(ROOT, "inspector/schema/tls-audit.schema.json")).read())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: RFC 2409 §6.2, the 1024-bit MODP group ("Oakley group 2", the common prime LOGJAM precomputes).
OAKLEY_GROUP_2 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)


class TlsPeer:
    """A real TLS server process on a loopback port with the test certificate.

    ``kind``: "openssl" (``openssl s_server -www``) or "gnutls" (``gnutls-serv``).
    """

    def __init__(self, tmp_path, kind: str, *flags: str) -> None:
        self.cert, self.key = os.path.join(tmp_path, "cert.pem"), os.path.join(tmp_path, "key.pem")
        if not os.path.exists(self.cert):
            write_rsa_certificate(tmp_path)
        self.port = _free_port()
        self.kind = kind
        command = (["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-cert", self.cert,
                    "-key", self.key, "-www", "-quiet"] if kind == "openssl" else
                   ["gnutls-serv", "-p", str(self.port), "--x509certfile", self.cert,
                    "--x509keyfile", self.key])
        self.process = subprocess.Popen([*command, *flags], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        until = time.monotonic() + 10
        while time.monotonic() < until:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()) from None
                time.sleep(0.05)
        raise RuntimeError(f"{kind} did not listen")

    def audit(self, **kwargs):
        config = TlsAuditConfig("127.0.0.1", self.port, mode="implicit", servername=HOSTNAME,
                                # s_server serves one connection at a time
                                concurrency=1 if self.kind == "openssl" else 4,
                                **{"versions": ("TLSv1.2", "TLSv1.3"), "timeout": 5.0, "deadline": 60.0,
                                   **kwargs})
        result = run_tls_audit(config)
        assert result.error is None, result.error
        return result

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=5)


@pytest.fixture
def tls_peer(tmp_path):
    servers = []

    def start(kind, *flags):
        server = TlsPeer(tmp_path, kind, *flags)
        servers.append(server)
        return server.audit

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def s_server(tls_peer):
    return lambda *flags: tls_peer("openssl", *flags)


def states(result) -> dict[str, str]:
    return {name: value["state"] for name, value in checks_json(result.checks, result.versions).items()}


def test_s_server_defaults(s_server):
    """OpenSSL 3 defaults: RFC 5746 (§3.6), no client-initiated renegotiation (OpenSSL 3.0 turned
    it off: SSL_OP_ALLOW_CLIENT_RENEGOTIATION), TLS_FALLBACK_SCSV (RFC 7507), resumption by ID and
    ticket (RFC 5077) and TLS 1.3 PSK, extended master secret (RFC 7627), no OCSP staple; none of
    Heartbleed (CVE-2014-0160), CCS injection (CVE-2014-0224), ROBOT (Böck et al. 2018)."""
    result = s_server()()
    got = states(result)
    assert {k: got[k] for k in ("secure_renegotiation", "client_renegotiation", "fallback_scsv",
                                "resumption_session_id", "resumption_ticket", "resumption_tls13_ticket",
                                "extended_master_secret", "ocsp_stapling", "heartbleed", "ccs_injection",
                                "robot", "compression", "sweet32", "logjam")} == {
        "secure_renegotiation": "yes", "client_renegotiation": "no", "fallback_scsv": "yes",
        "resumption_session_id": "yes", "resumption_ticket": "yes", "resumption_tls13_ticket": "yes",
        "extended_master_secret": "yes", "ocsp_stapling": "no", "heartbleed": "not-vulnerable",
        "ccs_injection": "not-vulnerable", "robot": "not-vulnerable", "compression": "not-vulnerable",
        "sweet32": "not-vulnerable", "logjam": "not-vulnerable"}
    assert not {"tls-client-renegotiation", "tls-insecure-renegotiation", "tls-robot"} & result.finding_ids
    assert result.checks.features.signature_schemes          # from the ServerKeyExchange
    assert result.checks.tls13_signatures.schemes == (0x0804, 0x0805, 0x0806)   # from CertificateVerify


def test_s_server_client_renegotiation_on(s_server):
    """``-client_renegotiation`` (SSL_OP_ALLOW_CLIENT_RENEGOTIATION): our own TLS 1.2 client
    finishes a handshake and sends a renegotiating ClientHello (RFC 5746 §3.5); s_server answers
    with a ServerHello: a DoS lever (tls-client-renegotiation)."""
    result = s_server("-client_renegotiation")()
    assert result.checks.renegotiation.accepted is True
    assert "tls-client-renegotiation" in result.finding_ids


def test_s_server_no_renegotiation(s_server):
    """``-no_renegotiation`` (SSL_OP_NO_RENEGOTIATION): refused, no finding."""
    result = s_server("-no_renegotiation")()
    assert result.checks.renegotiation.accepted is False
    assert "tls-client-renegotiation" not in result.finding_ids


def test_s_server_no_ticket(s_server):
    """``-no_ticket``: no session_ticket extension, no TLS 1.2 ticket resumption (RFC 5077 §3.2);
    session IDs still resume."""
    got = states(s_server("-no_ticket")())
    assert (got["session_ticket_extension"], got["resumption_ticket"], got["resumption_session_id"]) == (
        "no", "no", "yes")


def _ocsp_der(tmp_path, cert_path: str, next_update_days: int) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509 import ocsp

    cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
    now = datetime.datetime.now(datetime.timezone.utc)
    response = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=cert, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
        this_update=now - datetime.timedelta(days=3),
        next_update=now + datetime.timedelta(days=next_update_days),
        revocation_time=None, revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, cert) \
        .sign(_rsa_key(), hashes.SHA256())
    path = os.path.join(tmp_path, f"ocsp{next_update_days}.der")
    with open(path, "wb") as handle:
        handle.write(response.public_bytes(Encoding.DER))
    return path


@pytest.mark.parametrize("next_update_days, valid", [(2, True), (-1, False)])
def test_s_server_status_file(s_server, tmp_path, next_update_days, valid):
    """``-status_file``: s_server staples the given OCSP response (RFC 6066 §8 CertificateStatus,
    read from the enumeration's own flights); a response past its nextUpdate is
    tls-ocsp-stapled-invalid (RFC 6960 §4.2.2.1)."""
    cert, _key = write_rsa_certificate(tmp_path)
    result = s_server("-status_file", _ocsp_der(tmp_path, cert, next_update_days))()
    assert result.checks.features.status_request is True and result.checks.ocsp is not None
    assert result.checks.ocsp.valid is valid, result.checks.ocsp.detail
    assert ("tls-ocsp-stapled-invalid" in result.finding_ids) is not valid


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_s_server_dhe_1024(s_server, tmp_path):
    """LOGJAM (CVE-2015-4000; RFC 9325 §4.1, RFC 7919): ``-dhparam`` with RFC 2409's 1024-bit group
    is reported with its size; the defaults above (2048 bits) are not."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dh

    path = os.path.join(tmp_path, "oakley2.pem")
    with open(path, "wb") as handle:
        handle.write(dh.DHParameterNumbers(OAKLEY_GROUP_2, 2).parameters().parameter_bytes(
            serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3))
    result = s_server("-dhparam", path, "-cipher",
                      "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")()
    logjam = next(f for f in result.findings if f.id == "tls-logjam")
    assert "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 (1024 bits)" in logjam.evidence


@pytest.mark.parametrize("priority, finding, suite", [
    ("NORMAL:+3DES-CBC:-VERS-TLS1.3", "tls-sweet32", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    ("NORMAL:+ARCFOUR-128:-VERS-TLS1.3", "tls-rc4", "TLS_RSA_WITH_RC4_128_SHA")])
def test_gnutls_sweet32_and_rc4(tls_peer, priority, finding, suite):
    """SWEET32 (CVE-2016-2183) and RC4 (RFC 7465 §2): Debian's OpenSSL 3 has neither 3DES nor RC4
    any more, GnuTLS 3.7's ``gnutls-serv --priority`` still enables them; plain NORMAL does not."""
    result = tls_peer("gnutls", "--priority", priority)()
    assert suite in next(f for f in result.findings if f.id == finding).evidence
    plain = tls_peer("gnutls", "--priority", "NORMAL:-VERS-TLS1.3")()
    assert finding not in plain.finding_ids


def test_s_server_tls13_only(s_server):
    """``-tls1_3``: Heartbleed, CCS injection and ROBOT do not apply to TLS 1.3 (RFC 8446: no
    heartbeat, no RSA key transport, ChangeCipherSpec only for middlebox compatibility); no
    connection is spent on them and they are not 'skipped'."""
    result = s_server("-tls1_3")()
    got = states(result)
    assert (got["heartbleed"], got["ccs_injection"], got["robot"]) == ("not-vulnerable",) * 3
    assert "not applicable" in result.checks.robot.detail
    assert got["resumption_tls13_ticket"] == "yes" and "resumption_ticket" not in got


def _der_octet_string(data: bytes) -> bytes:
    length = len(data)
    head = bytes([length]) if length < 0x80 else bytes([0x81, length]) if length < 0x100 else \
        bytes([0x82]) + length.to_bytes(2, "big")
    return b"\x04" + head + data


def write_certificate_with_scts(directory, log_ids: list[bytes]) -> str:
    """The test certificate with an embedded SCT list (RFC 6962 §3.3: extension 1.3.6.1.4.1.11129.2.4.2,
    an OCTET STRING holding the TLS-encoded SignedCertificateTimestampList), one SCT per log id.
    The SCTs' signatures are not a real log's: only what the certificate carries is checked."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    scts = []
    for index, log_id in enumerate(log_ids):
        signature = bytes(range(index, index + 70))
        # v1, log id, timestamp, no extensions, then sha256/ecdsa and the signature
        sct = (b"\x00" + log_id + (1700000000000 + index).to_bytes(8, "big") + b"\x00\x00"
               + b"\x04\x03" + len(signature).to_bytes(2, "big") + signature)
        scts.append(len(sct).to_bytes(2, "big") + sct)
    sct_list = b"".join(scts)
    value = _der_octet_string(len(sct_list).to_bytes(2, "big") + sct_list)
    key = _rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOSTNAME)]), critical=False)
            .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(SCT_OID), value), critical=False)
            .sign(key, hashes.SHA256()))
    path = os.path.join(directory, "cert.pem")
    with open(path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(directory, "key.pem"), "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def test_s_server_certificate_with_embedded_scts(s_server, tmp_path):
    """Certificate transparency (RFC 6962 §3.3): s_server serves a certificate with two embedded SCTs;
    the check says so, with the count ``openssl x509 -text`` lists ("Signed Certificate Timestamp:").
    The certificate without SCTs (test_s_server_defaults) is the off case."""
    cert = write_certificate_with_scts(tmp_path, [bytes([0xA0 + i]) * 32 for i in range(2)])
    shown = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-text"], capture_output=True,
                           text=True, check=True).stdout
    assert "CT Precertificate SCTs" in shown
    assert f"{shown.count('Signed Certificate Timestamp:')} SCT(s) embedded" == "2 SCT(s) embedded"
    result = s_server()(versions=("TLSv1.3",))
    got = checks_json(result.checks, result.versions)["certificate_transparency"]
    assert got["state"] == "yes"
    assert got["detail"].startswith(f"{shown.count('Signed Certificate Timestamp:')} SCT(s) embedded")


def _recorded_tls13_flight(port: int):
    """(hello, key, the server's bytes up to CertificateVerify) from one raw TLS 1.3 exchange."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from inspector.tls.checks.tls13_signature import CertificateVerifyReader
    from inspector.tls.client_hello import client_hello

    key = X25519PrivateKey.generate()
    hello = client_hello("TLSv1.3", (0x1301,), servername=HOSTNAME, groups=(0x001D,),
                         key_share_value=key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    reader, received = CertificateVerifyReader(hello, key), b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(hello)
        while not reader.done:
            data = sock.recv(65536)
            assert data, "s_server closed before CertificateVerify"
            received += data
            reader.feed(data)
    return hello, key, received, reader.scheme


def _ecdsa_certificate(directory) -> list[str]:
    """s_server's second certificate (``-dcert``/``-dkey``): ECDSA P-256 for HOSTNAME."""
    cert, key = os.path.join(directory, "ec-cert.pem"), os.path.join(directory, "ec-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-subj", f"/CN={HOSTNAME}", "-days", "2"],
                   check=True, capture_output=True)
    return ["-dcert", cert, "-dkey", key]


@pytest.mark.parametrize("flags, expected, shown_type", [
    ((), (0x0804, 0x0805, 0x0806), "RSA-PSS"),
    (("-sigalgs", "RSA-PSS+SHA384:RSA-PSS+SHA512"), (0x0805, 0x0806), "RSA-PSS"),
    (("dual",), (0x0403, 0x0804, 0x0805, 0x0806), "ECDSA")])
def test_s_server_tls13_signature_schemes(tmp_path, flags, expected, shown_type):
    """TLS 1.3 encrypts CertificateVerify (RFC 8446 §4.4.3): the schemes are read by decrypting the
    server's flight with our own x25519 key, offering RFC 8446 §4.2.3's list minus each scheme found.
    ``openssl s_server -sigalgs`` restricts them; an RSA key signs only with rsa_pss_rsae_*, a
    second ECDSA P-256 certificate adds ecdsa_secp256r1_sha256; ``openssl s_client`` ("Peer
    signature type", "Peer signing digest") agrees on the first."""
    from inspector.probes.tls_dialer import Dialer
    from inspector.probes.tls_signatures import tls13_signatures
    from inspector.tls.checks.tls13_signature import CertificateVerifyReader
    from inspector.tls.registry import signature_scheme_name

    flags = _ecdsa_certificate(tmp_path) if flags == ("dual",) else list(flags)
    server = TlsPeer(tmp_path, "openssl", "-tls1_3", *flags)
    try:
        config = TlsAuditConfig("127.0.0.1", server.port, mode="implicit", servername=HOSTNAME, timeout=5)
        found = tls13_signatures(Dialer(config, time.monotonic() + 30), [0x1302, 0x1301])
        shown = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_3",
                                "-servername", HOSTNAME], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=10).stdout
        hello, key, flight, scheme = _recorded_tls13_flight(server.port)
    finally:
        server.stop()
    assert found.schemes == expected, found.detail
    assert found.connections == len(expected) + 1 and "handshake_failure" in found.detail
    digest = shown.split("Peer signing digest: ")[1].split()[0].lower()
    assert f"Peer signature type: {shown_type}" in shown
    assert signature_scheme_name(found.schemes[0]) == (f"rsa_pss_rsae_{digest}" if shown_type == "RSA-PSS"
                                                       else f"ecdsa_secp256r1_{digest}")
    # The reader reads the same scheme from the recorded flight cut at every offset.
    assert scheme == expected[0]
    for cut in range(len(flight) + 1):
        reader = CertificateVerifyReader(hello, key)
        reader.feed(flight[:cut])
        reader.feed(flight[cut:])
        assert (reader.scheme, reader.error, reader.alert) == (scheme, None, None), cut


def test_s_server_tls13_signature_schemes_without_x25519(s_server):
    """``s_server -groups P-256``: no x25519 (RFC 8446 §4.2.7), so the CertificateVerify schemes are
    read over a secp256r1 key share, the group the audit's own group enumeration found."""
    result = s_server("-groups", "P-256")(versions=("TLSv1.3",))
    assert result.groups == ("secp256r1",)
    assert result.checks.tls13_signatures.schemes == (0x0804, 0x0805, 0x0806), \
        result.checks.tls13_signatures.detail


def test_no_attacks_skips_the_malformed_records(s_server, run_cli):
    """--no-attacks: Heartbleed, CCS injection and ROBOT are 'skipped' and cost no connection;
    the JSON validates against the schema."""
    audit = s_server()
    with_attacks = audit()
    without = audit(attacks=False)
    got = states(without)
    assert (got["heartbleed"], got["ccs_injection"], got["robot"]) == ("skipped",) * 3
    assert with_attacks.connections - without.connections == 6      # CCS 1 + ROBOT 5
    from inspector.render.tls_audit import tls_audit_result
    document = json.loads(json.dumps(tls_audit_result(without)))
    jsonschema.validate(document, SCHEMA)
    assert document["checks"]["robot"]["state"] == "skipped"


# ------------------------------------------------------------- the lab Postfix, with sslyze and testssl.sh

@pytest.fixture(scope="module")
def sslyze() -> str:
    subprocess.run(["bash", os.path.join(ROOT, "scripts/sslyze/install")], check=True, timeout=600)
    return os.path.join(ROOT, ".venv-sslyze", "bin", "sslyze")


def _sslyze(tool: str, port: int) -> dict:
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"sslyze-checks-{os.getpid()}.json")
    subprocess.run([tool, "--starttls", "smtp", "--reneg", "--fallback", "--heartbleed", "--openssl_ccs",
                    "--robot", "--compression", "--resum", "--certinfo", f"--json_out={out}",
                    f"127.0.0.1:{port}"], check=True, capture_output=True, timeout=120)
    scan = json.load(open(out))["server_scan_results"][0]["scan_result"]
    os.unlink(out)
    return {name: value["result"] for name, value in scan.items() if value and value.get("result")}


def _testssl(port: int, tmp_path) -> dict:
    out = os.path.join(tmp_path, "testssl.json")
    subprocess.run(["testssl", "--quiet", "--color", "0", "--warnings", "off", "--starttls", "smtp",
                    "-R", "-I", "-H", "-BB", "-C", "-Z", "-W", "-F", "-O", "-4", "--jsonfile", out,
                    f"127.0.0.1:{port}"], capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    return {entry["id"]: entry for entry in json.load(open(out))}


def _sslyze_answers(tool: str, port: int) -> dict[str, bool]:
    """sslyze's answers to the checks both tools make, as booleans keyed like our ``checks``."""
    theirs = _sslyze(tool, port)
    reneg, resum = theirs["session_renegotiation"], theirs["session_resumption"]
    cert = theirs["certificate_info"]["certificate_deployments"][0]
    return {
        "secure_renegotiation": reneg["supports_secure_renegotiation"],
        "client_renegotiation": reneg["is_vulnerable_to_client_renegotiation_dos"],
        "fallback_scsv": theirs["tls_fallback_scsv"]["supports_fallback_scsv"],
        "heartbleed": theirs["heartbleed"]["is_vulnerable_to_heartbleed"],
        "ccs_injection": theirs["openssl_ccs_injection"]["is_vulnerable_to_ccs_injection"],
        "robot": theirs["robot"]["robot_result"].startswith("VULNERABLE"),
        "compression": theirs["tls_compression"]["supports_compression"],
        "resumption_session_id": resum["session_id_resumption_result"] == "FULLY_SUPPORTED",
        "resumption_ticket": resum["tls_ticket_resumption_result"] == "FULLY_SUPPORTED",
        "ocsp_stapling": cert["ocsp_response"] is not None,
        "certificate_transparency": bool(cert["leaf_certificate_signed_certificate_timestamps_count"]),
    }


AS_BOOL = {"yes": True, "vulnerable": True, "no": False, "not-vulnerable": False}


def test_dovecot_submission_matches_sslyze(dovecot_submission, sslyze):
    """Dovecot 2.3's submission service (scripts/dovecot-submission): same answers as sslyze. It
    refuses a TLS 1.2 hello carrying TLS_FALLBACK_SCSV by closing the connection without its alert
    (``openssl s_client -tls1_2 -fallback_scsv`` gets "unexpected eof"); the same hello without the
    SCSV is accepted, so that close is the refusal, as sslyze counts it."""
    port = dovecot_submission.ports["submission"]
    ours = run_tls_audit(TlsAuditConfig("127.0.0.1", port, servername=dovecot_submission.servername,
                                        cafile=dovecot_submission.cafile, deadline=90.0))
    got = states(ours)
    expected = _sslyze_answers(sslyze, port)
    assert {name: AS_BOOL.get(got[name]) for name in expected} == expected


def test_lab_postfix_matches_sslyze_and_testssl(mail_lab, sslyze, tmp_path):
    """The lab's Postfix 3.7 on 587: every check sslyze and testssl.sh both make has the same answer.

    (testssl.sh's LOGJAM looks at authenticated DHE only; ours also counts the lab's anonymous DH
    suites, whose group ``openssl s_client -cipher ADH-AES128-GCM-SHA256`` shows as 1024 bits.)
    """
    port = mail_lab.ports["submission"]
    ours = run_tls_audit(TlsAuditConfig("127.0.0.1", port, servername=mail_lab.servername,
                                        cafile=mail_lab.cafile))
    got = states(ours)
    expected = _sslyze_answers(sslyze, port)
    assert {name: AS_BOOL[got[name]] for name in expected} == expected
    assert got["requiretls"] == "no"          # Postfix 3.7 has no REQUIRETLS
    report = _testssl(port, tmp_path)
    ok = {name: report[key]["severity"] in ("OK", "INFO") for name, key in (
        ("heartbleed", "heartbleed"), ("ccs_injection", "CCS"), ("robot", "ROBOT"),
        ("secure_renegotiation", "secure_renego"), ("client_renegotiation", "secure_client_renego"),
        ("compression", "CRIME_TLS"), ("sweet32", "SWEET32"), ("freak_export", "FREAK"),
        ("poodle", "POODLE_SSL"), ("rc4", "RC4"), ("fallback_scsv", "fallback_SCSV"))}
    good = {"secure_renegotiation": "yes", "fallback_scsv": "yes", "client_renegotiation": "no"}
    assert {name: got[name] == good.get(name, "not-vulnerable") for name in ok} == ok
