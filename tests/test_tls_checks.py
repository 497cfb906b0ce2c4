"""The TLS vulnerability and feature checks against scripted servers that reproduce vulnerable bytes,
and their pure parts (issue 20).

No packaged server is vulnerable to Heartbleed, CCS injection or ROBOT any
more, none lacks RFC 5746 or TLS_FALLBACK_SCSV, and Debian's OpenSSL 3 has no
zlib: tests/tls_vulnerable_servers.py plays those builds byte for byte (each
test names the build and the reference). The same checks against real
servers, on and off: tests/test_tls_checks_real.py.
"""

from __future__ import annotations

import datetime
import time

import pytest

from inspector.probes import tls_attacks, tls_checks
from inspector.probes.tls_audit import TlsAuditConfig
from inspector.probes.tls_dialer import Dialer
from inspector.rules import tls_vulnerabilities as rules
from inspector.tls import reader
from inspector.tls.checks import attacks
from inspector.tls.checks.features import read_features
from inspector.tls.checks.ocsp import read_ocsp
from inspector.tls.checks.tls12_client import prf
from inspector.tls.enumerate import Offer, VersionOutcome
from inspector.tls.messages import server_key_exchange_signature
from tests.tls_servers import _rsa_key
from tests.tls_vulnerable_servers import VulnerableTls, certificate_der


def dialer_for(server, *, timeout=3.0, deadline=30.0) -> Dialer:
    config = TlsAuditConfig("127.0.0.1", server.port, mode="implicit", servername="mail.lab.test",
                            timeout=timeout, deadline=deadline)
    return Dialer(config, time.monotonic() + deadline)


# ------------------------------------------------------------------ Heartbleed, CCS, ROBOT

def test_heartbleed_echo_is_found():
    """CVE-2014-0160 (Heartbleed; RFC 6520 §4): OpenSSL 1.0.1-1.0.1f echoes payload_length bytes."""
    script = VulnerableTls(heartbleed=True)
    with script.serve() as server:
        result = tls_attacks.heartbleed(dialer_for(server), [("TLSv1.2", 0x002F)])
    assert result.vulnerable is True and "16403 bytes" in result.detail
    assert rules.heartbleed(result.vulnerable, result.detail).id == "tls-heartbleed"


def test_heartbleed_patched_server_drops_the_request_and_answers_at_once():
    """CVE-2014-0160, patched (OpenSSL 1.0.1g): the over-long request is dropped (RFC 6520 §4);
    the empty ClientKeyExchange after it gets decode_error, so no step timeout is waited for."""
    with VulnerableTls(heartbleed=False).serve() as server:
        started = time.monotonic()
        result = tls_attacks.heartbleed(dialer_for(server, timeout=10), [("TLSv1.2", 0x002F)])
    assert result.vulnerable is False and "decode_error" in result.detail
    assert time.monotonic() - started < 5
    assert rules.heartbleed(result.vulnerable, result.detail) is None


def test_heartbleed_needs_no_connection_without_the_extension():
    """RFC 6520 §2: a server that does not echo the heartbeat extension never answers heartbeats."""
    result = tls_attacks.heartbleed(None, [])
    assert result.vulnerable is False and result.connections == 0


def test_ccs_injection_accepted_is_found():
    """CVE-2014-0224 (CCS injection; RFC 5246 §7.1): OpenSSL before 1.0.1h takes an early
    ChangeCipherSpec and fails the next record with bad_record_mac."""
    with VulnerableTls(ccs=True).serve() as server:
        result = tls_attacks.ccs_injection(dialer_for(server), "TLSv1.2", 0x002F)
    assert result.vulnerable is True
    assert rules.ccs_injection(result.vulnerable, result.detail).id == "tls-ccs-injection"


def test_ccs_injection_patched_answers_unexpected_message():
    """CVE-2014-0224, patched (OpenSSL 1.0.1h and later, and OpenSSL 3): unexpected_message."""
    with VulnerableTls(ccs=False).serve() as server:
        result = tls_attacks.ccs_injection(dialer_for(server), "TLSv1.2", 0x002F)
    assert result.vulnerable is False and "unexpected_message" in result.detail


def test_robot_oracle_is_found():
    """ROBOT (Böck, Somorovsky, Young, USENIX Security 2018; CVE-2017-13099 class): a server that
    answers malformed PKCS#1 v1.5 premaster secrets (decrypted here with raw RSA, m = c^d mod n)
    with decrypt_error and the well-formed one with bad_record_mac is an oracle."""
    with VulnerableTls(robot=True).serve() as server:
        result = tls_attacks.robot(dialer_for(server), "TLSv1.2", 0x002F)
    assert result.vulnerable is True
    assert "well-formed: alert bad_record_mac" in result.detail and "decrypt_error" in result.detail
    assert rules.robot(result.vulnerable, result.detail).id == "tls-robot"


def test_robot_constant_answers_are_no_oracle():
    """ROBOT, not vulnerable (RFC 5246 §7.4.7.1: treat a bad premaster secret like a good one):
    the scripted server's independent PKCS#1 check finds our well-formed block well-formed, and
    answers all five alike."""
    with VulnerableTls(robot=False).serve() as server:
        result = tls_attacks.robot(dialer_for(server), "TLSv1.2", 0x002F)
    assert result.vulnerable is False and result.connections == 5
    assert "all 5 premaster secrets" in result.detail


def test_attacks_never_outlive_the_deadline():
    """--deadline bounds the malformed-input checks: a server that goes silent after our records
    (no alert, no close) costs at most the deadline, and the answer is 'not determined'."""
    def silent(conn, stop):
        script = VulnerableTls()
        script._after = lambda *args: stop.wait(10)   # never answers after the flight
        script(conn, stop)

    from tests.scripted_server import ScriptedServer
    with ScriptedServer(silent) as server:
        started = time.monotonic()
        result = tls_attacks.ccs_injection(dialer_for(server, timeout=10, deadline=1.5), "TLSv1.2", 0x002F)
        elapsed = time.monotonic() - started
    assert result.vulnerable is None and "not determined" in result.detail
    assert elapsed < 2.5


# ------------------------------------------------------------------ from the ServerHello

def _answer(server, version="TLSv1.2", **offer):
    dialer = dialer_for(server)
    return dialer.exchange(Offer(version, (0x002F,), **offer))


def test_missing_renegotiation_info_is_insecure_renegotiation():
    """RFC 5746 §3.6 (CVE-2009-3555): servers before RFC 5746 (OpenSSL before 0.9.8m) send no
    renegotiation_info although the ClientHello carried TLS_EMPTY_RENEGOTIATION_INFO_SCSV."""
    with VulnerableTls(secure_renegotiation=False).serve() as server:
        features = read_features({"TLSv1.2": [_answer(server)]})
    assert features.secure_renegotiation is False
    assert rules.insecure_renegotiation(False, "TLSv1.2").id == "tls-insecure-renegotiation"
    with VulnerableTls(secure_renegotiation=True).serve() as server:
        assert read_features({"TLSv1.2": [_answer(server)]}).secure_renegotiation is True


def test_deflate_picked_is_crime():
    """CRIME (CVE-2012-4929; RFC 7457 §2.6): OpenSSL built with zlib before 1.1.0 picks DEFLATE
    (RFC 3749) when the ClientHello offers it; every enumeration hello does."""
    with VulnerableTls(compression=1).serve() as server:
        features = read_features({"TLSv1.2": [_answer(server)]})
    assert features.compression == [1]
    assert rules.compression(features.compression).id == "tls-compression"
    with VulnerableTls(compression=0).serve() as server:
        assert read_features({"TLSv1.2": [_answer(server)]}).compression == []


def test_fallback_scsv_ignored_is_found():
    """RFC 7507 §3: OpenSSL before 1.0.1j answers a TLS 1.1 hello with TLS_FALLBACK_SCSV although it
    accepts TLS 1.2; a patched one says inappropriate_fallback."""
    outcomes = {"TLSv1.2": VersionOutcome("TLSv1.2", supported=True, picks=[0x002F]),
                "TLSv1.1": VersionOutcome("TLSv1.1", supported=True, picks=[0x002F])}
    with VulnerableTls(honour_fallback=False).serve() as server:
        result = tls_checks.fallback(dialer_for(server), outcomes)
    assert result.honoured is False
    assert rules.fallback_scsv_ignored(result.honoured, result.detail).id == "tls-fallback-scsv-ignored"
    with VulnerableTls(honour_fallback=True).serve() as server:
        assert tls_checks.fallback(dialer_for(server), outcomes).honoured is True


# ------------------------------------------------------------------ pure parts

def test_ske_signature_scheme_is_read_for_ecdhe_and_dhe():
    """RFC 5246 §7.4.3 / RFC 8422 §5.4: the SignatureAndHashAlgorithm after the parameters."""
    ecdhe = bytes([3, 0, 0x1D, 32]) + b"\x11" * 32 + bytes.fromhex("0804") + (4).to_bytes(2, "big") + b"sign"
    assert server_key_exchange_signature(ecdhe) == 0x0804
    dhe = b"".join(len(p).to_bytes(2, "big") + p for p in (b"\xff" * 128, b"\x02", b"\x33" * 128))
    assert server_key_exchange_signature(dhe + bytes.fromhex("0401") + b"\x00\x02ab") == 0x0401
    assert server_key_exchange_signature(dhe) is None          # TLS 1.0/1.1: no algorithm field


def test_certificate_status_event_at_every_split():
    """RFC 6066 §8: CertificateStatus (type 22, status_type 1) read whole however the bytes are cut."""
    ocsp = b"\x30\x03\x0a\x01\x00"
    body = bytes([1]) + len(ocsp).to_bytes(3, "big") + ocsp
    data = bytes([22, 3, 3, 0, len(body) + 4, 22, 0, 0, len(body)]) + body
    for cut in range(len(data) + 1):
        r = reader.TlsReader()
        events = r.feed(data[:cut]) + r.feed(data[cut:])
        statuses = [e for e in events if isinstance(e, reader.CertificateStatus)]
        assert statuses == [reader.CertificateStatus(ocsp)]


def test_after_flight_reads_the_first_record_at_every_split():
    data = bytes([24, 3, 3, 0x40, 0x13]) + b"M" * 0x4013 + bytes([21, 3, 3, 0, 2, 2, 10])
    for cut in (0, 1, 4, 5, 6, 100, 0x4017, 0x4018, len(data)):
        reader_ = attacks.AfterFlight()
        reader_.feed(data[:cut])
        reader_.feed(data[cut:])
        assert str(reader_.reaction) == "record type 24 of 16403 bytes"
        assert attacks.heartbleed_vulnerable(reader_.reaction)


def test_robot_blocks_are_pkcs1_as_the_paper_defines():
    """Böck et al. §3: one well-formed PKCS#1 v1.5 block and four malformed ones (RFC 8017 §7.2.1)."""
    key = _rsa_key()
    numbers = key.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    k = (n.bit_length() + 7) // 8
    blocks = []
    for message in attacks.robot_messages(n, numbers.public_numbers.e, 0x0303):
        ciphertext = message[5 + 4 + 2:5 + 4 + 2 + k]
        blocks.append(pow(int.from_bytes(ciphertext, "big"), d, n).to_bytes(k, "big"))
    good, wrong_start, early_zero, no_zero, wrong_version = blocks
    assert good[:2] == b"\x00\x02" and good[k - 49] == 0 and 0 not in good[2:k - 49]
    assert good[k - 48:k - 46] == b"\x03\x03"
    assert wrong_start[:2] == b"\x41\x17"
    assert early_zero[k - 49] != 0 and 0 in early_zero[2:k - 49]
    assert 0 not in no_zero[2:k - 48]
    assert wrong_version[k - 48:k - 46] == b"\x02\x02"


def test_prf_matches_the_published_tls12_vector():
    """RFC 5246 §5 P_SHA256: the test vector from the IETF TLS WG (Joseph Birr-Pixton's list)."""
    secret = bytes.fromhex("9bbe436ba940f017b17652849a71db35")
    seed = bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c")
    out = prf(secret, b"test label", seed, 100, __import__("hashlib").sha256)
    assert out[:16].hex() == "e3f229ba727be17b8d122620557cd453"


def _ocsp_response(status="good", *, next_update_days=1, serial_of=None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509 import ocsp

    leaf = x509.load_der_x509_certificate(certificate_der())
    now = datetime.datetime.now(datetime.timezone.utc)
    statuses = {"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED}
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=serial_of or leaf, issuer=leaf, algorithm=hashes.SHA1(), cert_status=statuses[status],
        this_update=now - datetime.timedelta(days=2),
        next_update=now + datetime.timedelta(days=next_update_days),
        revocation_time=now - datetime.timedelta(days=1) if status == "revoked" else None,
        revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, leaf)
    from cryptography.hazmat.primitives.serialization import Encoding
    return builder.sign(_rsa_key(), hashes.SHA256()).public_bytes(Encoding.DER), \
        leaf.public_bytes(Encoding.DER)


@pytest.mark.parametrize("kind, valid, words", [
    ("good", True, "good"), ("revoked", False, "revoked"), ("expired", False, "expired")])
def test_stapled_ocsp_validity(kind, valid, words):
    """RFC 6960 §4.2.2.1: thisUpdate <= now <= nextUpdate, status good, for the leaf's serial."""
    der, leaf = _ocsp_response("revoked" if kind == "revoked" else "good",
                               next_update_days=-1 if kind == "expired" else 1)
    result = read_ocsp(der, leaf)
    assert result.valid is valid and words in result.detail
    finding = rules.ocsp_stapled_invalid(result.valid, result.detail)
    assert (finding is None) is valid


def test_malformed_sct_extension_counts_none_and_raises_nothing():
    """RFC 6962 §3.3: a hostile server's leaf whose SCT extension does not parse (an OCTET STRING
    claiming 5 bytes and holding 1) counts no SCT; it used to raise out of the audit."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    from inspector.tls.checks.ocsp import SCT_OID, embedded_scts

    key = _rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.lab.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(9).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(SCT_OID), b"\x04\x05\x00"),
                           critical=False).sign(key, hashes.SHA256()))
    assert embedded_scts(cert.public_bytes(serialization.Encoding.DER)) == 0


def test_enumeration_only_findings_name_their_attack():
    """SWEET32 (CVE-2016-2183), LOGJAM (CVE-2015-4000, with the size), FREAK/export, POODLE
    (CVE-2014-3566, SSLv3 + CBC) and RC4 (RFC 7465) from the accepted suites."""
    assert rules.sweet32([("TLSv1.2", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3DES")]).id == "tls-sweet32"
    assert rules.sweet32([("TLSv1.2", "TLS_RSA_WITH_AES_128_CBC_SHA", "AES")]) is None
    found = rules.logjam([("TLSv1.2", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-1024"),
                          ("TLSv1.2", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-2048")])
    assert found.id == "tls-logjam" and "1024 bits" in found.evidence and "AES_256" not in found.evidence
    assert rules.export_ciphers([("TLSv1", "TLS_RSA_EXPORT_WITH_RC4_40_MD5")]).id == "tls-export-ciphers"
    assert rules.poodle([("SSLv3", "TLS_RSA_WITH_AES_128_CBC_SHA")]).id == "tls-poodle"
    assert rules.poodle([("TLSv1", "TLS_RSA_WITH_AES_128_CBC_SHA"),
                         ("SSLv3", "TLS_RSA_WITH_RC4_128_SHA")]) is None
    assert rules.rc4([("TLSv1.2", "TLS_RSA_WITH_RC4_128_SHA")]).id == "tls-rc4"


EXPORT_RC4, EXPORT_DES40, RSA_3DES, RSA_AES128, RSA_RC4 = 0x0003, 0x0008, 0x000A, 0x002F, 0x0005


def _legacy_tls(run_cli, accepts) -> dict:
    """``smtp-inspector tls --json`` (the whole command) against an OpenSSL 1.0.1 that offers SSLv3 and
    TLS 1.0 only, with the suites ``accepts`` names (tests/tls_vulnerable_servers.py: no Debian 12
    build offers SSLv3 or export suites any more, so the exact bytes are played)."""
    from tests.scripted_server import ScriptedServer

    with ScriptedServer(VulnerableTls(accepts=accepts)) as server:
        completed, document = run_cli("tls", f"127.0.0.1:{server.port}", "--implicit-tls", "--servername",
                                      "mail.lab.test", "--timeout", "3", "--deadline", "40", "--json")
    assert "Traceback" not in completed.stderr and document is not None, completed.stderr
    import jsonschema

    from tests.test_tls_checks_real import SCHEMA
    jsonschema.validate(document, SCHEMA)
    return document


def test_freak_export_and_poodle_through_the_tls_command(run_cli):
    """FREAK (CVE-2015-0204: export RSA suites, a 512-bit temporary key in the ServerKeyExchange;
    RFC 9325 §4.1) and POODLE (CVE-2014-3566: SSL 3.0 with a CBC suite; RFC 7568) from the
    enumeration of a server that accepts both, and neither once they are off."""
    document = _legacy_tls(run_cli, {0x0300: (EXPORT_RC4, EXPORT_DES40, RSA_3DES, RSA_AES128),
                                     0x0301: (EXPORT_RC4, RSA_AES128)})
    accepted = {v["version"]: {s["iana_name"]: s for s in v["suites"]} for v in document["versions"]}
    assert set(accepted["SSLv3"]) == {"TLS_RSA_EXPORT_WITH_RC4_40_MD5", "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
                                      "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"}
    assert set(accepted["TLSv1"]) == {"TLS_RSA_EXPORT_WITH_RC4_40_MD5", "TLS_RSA_WITH_AES_128_CBC_SHA"}
    # The RSA_EXPORT ServerKeyExchange holds a temporary RSA key, not a DH group.
    assert accepted["SSLv3"]["TLS_RSA_EXPORT_WITH_RC4_40_MD5"]["group"] is None
    checks = document["checks"]
    assert checks["freak_export"] == {"state": "vulnerable", "detail": (
        "SSLv3 TLS_RSA_EXPORT_WITH_DES40_CBC_SHA, SSLv3 TLS_RSA_EXPORT_WITH_RC4_40_MD5, "
        "TLSv1 TLS_RSA_EXPORT_WITH_RC4_40_MD5")}
    assert checks["poodle"] == {"state": "vulnerable", "detail": (
        "SSLv3 TLS_RSA_EXPORT_WITH_DES40_CBC_SHA, SSLv3 TLS_RSA_WITH_3DES_EDE_CBC_SHA, "
        "SSLv3 TLS_RSA_WITH_AES_128_CBC_SHA")}
    findings = {f["id"]: f["evidence"] for f in document["findings"]}
    assert findings["tls-export-ciphers"] == checks["freak_export"]["detail"]
    assert findings["tls-poodle"] == ("SSLv3 TLS_RSA_EXPORT_WITH_DES40_CBC_SHA, "
                                      "TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLS_RSA_WITH_AES_128_CBC_SHA")

    document = _legacy_tls(run_cli, {0x0300: (RSA_RC4,), 0x0301: (RSA_AES128,)})
    checks = document["checks"]
    picked = {v["version"]: [s["iana_name"] for s in v["suites"]]
              for v in document["versions"] if v["suites"]}
    assert picked == {"SSLv3": ["TLS_RSA_WITH_RC4_128_SHA"], "TLSv1": ["TLS_RSA_WITH_AES_128_CBC_SHA"]}
    assert checks["freak_export"]["state"] == checks["poodle"]["state"] == "not-vulnerable"
    assert not {"tls-export-ciphers", "tls-poodle"} & {f["id"] for f in document["findings"]}


# ------------------------------------------------------------------ TLS-RPT and REQUIRETLS

ZONE = """\
$TTL 300
@ IN SOA ns.test. admin.test. 1 3600 600 86400 300
_smtp._tls.reporting.test. IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@reporting.test"
_smtp._tls.other.test. IN TXT "v=spf1 -all"
"""


@pytest.mark.parametrize("domain, state, finding", [
    ("reporting.test", "found", False), ("other.test", "none", True), ("absent.test", "nxdomain", True)])
def test_tls_rpt_record(domain, state, finding):
    """RFC 8460 §3: the TXT record at _smtp._tls.DOMAIN that starts with v=TLSRPTv1 (a TXT record
    of another kind does not count). Served by the dnspython test server (tests/dns_server.py)."""
    from tests.dns_server import DnsTestServer

    server = DnsTestServer(ZONE, "test.", host="127.0.20.1").start()
    try:
        result = tls_checks.tls_rpt(domain, (server.host, server.port), 2.0, time.monotonic() + 10)
    finally:
        server.stop()
    assert result.state == state, result.detail
    assert (rules.tls_rpt_missing(result.state, result.detail) is not None) is finding
    if state == "found":
        assert result.records == ("v=TLSRPTv1; rua=mailto:tls-reports@reporting.test",)


def _requiretls_server(tmp_path, advertise: bool):
    """STARTTLS with Python's ssl (OpenSSL 3); inside TLS, EHLO lists REQUIRETLS (RFC 8689 §4: only
    after TLS) when ``advertise``. No packaged MTA here offers REQUIRETLS (Sendmail 8.17 would)."""
    from tests.scripted_server import ScriptedServer, command_lines
    from tests.tls_servers import server_context

    context = server_context(tmp_path)

    def script(conn, stop):
        conn.sendall(b"220 mail.lab.test ESMTP\r\n")
        for line in command_lines(conn):
            if line.upper().startswith(b"EHLO"):
                conn.sendall(b"250-mail.lab.test\r\n250 STARTTLS\r\n")
            elif line.upper() == b"STARTTLS":
                conn.sendall(b"220 2.0.0 Ready\r\n")
                tls = context.wrap_socket(conn, server_side=True)
                tls.recv(1024)
                tls.sendall(b"250-mail.lab.test\r\n" + (b"250-REQUIRETLS\r\n" if advertise else b"")
                            + b"250 PIPELINING\r\n")
                tls.recv(1024)
                return

    return ScriptedServer(script)


@pytest.mark.parametrize("advertise", [True, False])
def test_requiretls_from_the_ehlo_inside_tls(tmp_path, advertise):
    """RFC 8689 §4: REQUIRETLS is read from the EHLO reply inside TLS, on the connection that
    fetches the TLS 1.3 ticket anyway (no connection of its own)."""
    from inspector.probes import tls_resumption

    with _requiretls_server(tmp_path, advertise) as server:
        config = TlsAuditConfig("127.0.0.1", server.port, servername="mail.lab.test", timeout=3)
        dialer = Dialer(config, time.monotonic() + 20)
        _outcome, reply = tls_resumption.resume(dialer, "tls13_ticket", read_ehlo=True)
    assert ("REQUIRETLS" in tls_resumption.ehlo_keywords(reply)) is advertise


def test_help_names_the_malformed_input_checks():
    """The checks that send malformed records are named in --help, with the option that skips them."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "inspector", "tls", "--help"], capture_output=True,
                          text=True, timeout=30)
    text = " ".join(done.stdout.split())
    assert "--no-attacks" in text and "Heartbleed" in text and "CCS injection" in text and "ROBOT" in text
    done = subprocess.run([sys.executable, "-m", "inspector", "tls", "127.0.0.1:1",
                           "--dns-server", "127.0.0.1"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--dns-server is used only with --domain" in done.stderr
