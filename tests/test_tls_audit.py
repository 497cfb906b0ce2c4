"""``smtp-inspector tls`` against real TLS stacks: Python ssl servers, the Postfix lab, hostile peers.

The reference for every accepted set is ``openssl s_client``, one suite per
connection (tests/tls_servers.py).
"""

from __future__ import annotations

import json
import ssl
import threading
import time

import jsonschema
import pytest

from inspector.exitcodes import ExitCode
from inspector.probes.tls_audit import TlsAuditConfig, run_tls_audit
from tests.fixtures_mail_lab import state_dir
from tests.scripted_server import ScriptedServer
from tests.tls_servers import (
    HOSTNAME,
    OPENSSL_GROUPS,
    SmtpTlsServer,
    openssl_accepted,
    openssl_groups,
    server_context,
)

SCHEMA = json.loads(open("inspector/schema/tls-audit.schema.json").read())
REFERENCE_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")

SMALL_TLS12 = "ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:CAMELLIA128-SHA:" \
              "ECDHE-RSA-CHACHA20-POLY1305"


def audit(port: int, **kwargs):
    return run_tls_audit(TlsAuditConfig("127.0.0.1", port, servername=HOSTNAME,
                                        **{"deadline": 60.0, **kwargs}))


def assert_same_as_openssl(result, reference):
    for version in REFERENCE_VERSIONS:
        assert result.accepted(version) == reference[version], version


def lab_tls_ports(mail_lab) -> dict:
    data = json.loads((state_dir() / "lab.json").read_text())
    assert "tls_ports" in data, "lab.json has no tls_ports: run 'bash scripts/mail-lab/start' from this tree"
    return data["tls_ports"]


# ------------------------------------------------------------------ Python ssl servers


def test_tls12_only_server_order(tmp_path):
    context = server_context(tmp_path, ciphers=SMALL_TLS12, minimum=ssl.TLSVersion.TLSv1_2,
                             maximum=ssl.TLSVersion.TLSv1_2)
    with SmtpTlsServer(context) as server:
        result = audit(server.port)
        reference = openssl_accepted(server.port)
        groups = openssl_groups(server.port, "TLSv1.2")
    assert_same_as_openssl(result, reference)
    assert result.groups_version == "TLSv1.2"
    assert set(result.groups) & set(OPENSSL_GROUPS) == groups and "secp256r1" in groups
    assert len(reference["TLSv1.2"]) == 4  # no DH parameters in a Python server: DHE-RSA is refused
    tls12 = next(v for v in result.versions if v.version == "TLSv1.2")
    assert tls12.server_order is True
    assert tls12.connections <= len(tls12.suites) + 2
    assert {"tls13-not-supported", "cipher-no-forward-secrecy"} <= result.finding_ids
    assert not {"cipher-weak", "tls-legacy-version", "no-server-cipher-order"} & result.finding_ids
    jsonschema.validate(json.loads(_dumps(result)), SCHEMA)


def test_everything_server_with_null_and_anonymous_suites_client_order(tmp_path):
    """A server that takes every suite OpenSSL has at SECLEVEL 0, TLS 1.0 to 1.3, in the client's order."""
    context = server_context(tmp_path, ciphers="ALL:COMPLEMENTOFALL:@SECLEVEL=0",
                             minimum=ssl.TLSVersion.TLSv1, server_order=False)
    with SmtpTlsServer(context) as server:
        result = audit(server.port)
        reference = openssl_accepted(server.port)
    assert_same_as_openssl(result, reference)
    assert "TLS_RSA_WITH_NULL_SHA" in reference["TLSv1"]
    assert {"cipher-weak", "tls-legacy-version", "no-server-cipher-order",
            "cipher-no-forward-secrecy"} <= result.finding_ids
    weak = next(f for f in result.findings if f.id == "cipher-weak").evidence
    assert "TLS_RSA_WITH_NULL_SHA (NULL cipher)" in weak and "anonymous" in weak
    for version in result.versions:
        if len(version.suites) >= 2:
            assert version.server_order is False, version.version
        assert version.connections <= len(version.suites) + 2, version.version


def test_implicit_tls13_only(tmp_path):
    context = server_context(tmp_path, minimum=ssl.TLSVersion.TLSv1_3)
    with SmtpTlsServer(context, implicit=True) as server:
        result = audit(server.port, mode="implicit")
        reference = openssl_accepted(server.port, starttls=False)
    assert_same_as_openssl(result, reference)
    assert result.accepted("TLSv1.3") and "tls13-not-supported" not in result.finding_ids
    assert result.groups_version == "TLSv1.3" and "x25519" in result.groups
    assert result.session.version == "TLSv1.3"


def test_two_connection_limit_with_421_gives_the_same_set(tmp_path):
    context = server_context(tmp_path, ciphers=SMALL_TLS12, minimum=ssl.TLSVersion.TLSv1_2)
    with SmtpTlsServer(context) as free:
        unlimited = audit(free.port)
    with SmtpTlsServer(context, max_concurrent=2) as limited:
        result = audit(limited.port)
    assert limited.refused > 0 and limited.peak <= 2
    assert result.retried >= limited.refused
    assert result.exit_code == unlimited.exit_code
    for version in ("TLSv1.2", "TLSv1.3"):
        assert result.accepted(version) == unlimited.accepted(version)
    assert result.groups == unlimited.groups


def test_rate_limit_spaces_connections(tmp_path):
    context = server_context(tmp_path, ciphers="ECDHE-RSA-AES128-SHA", minimum=ssl.TLSVersion.TLSv1_2,
                             maximum=ssl.TLSVersion.TLSv1_2)
    with SmtpTlsServer(context) as server:
        started = time.monotonic()
        result = audit(server.port, rate=600.0, versions=("TLSv1.2",))
        elapsed = time.monotonic() - started
    assert result.accepted("TLSv1.2") == {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}
    assert elapsed >= (result.connections - 1) * 0.1 * 0.9


# -------------------------------------------------------------------------- Postfix


@pytest.fixture(scope="module")
def postfix_reference(mail_lab):
    return {port: openssl_accepted(port) for port in (587, lab_tls_ports(mail_lab)["high"])}


def test_postfix_submission_matches_openssl(mail_lab, postfix_reference):
    result = run_tls_audit(TlsAuditConfig("127.0.0.1", 587, servername=mail_lab.servername,
                                          cafile=mail_lab.cafile))
    assert_same_as_openssl(result, postfix_reference[587])
    assert result.certificate.trusted and result.certificate.hostname_match
    assert "tls-legacy-version" in result.finding_ids or not result.accepted("TLSv1")
    implicit = run_tls_audit(TlsAuditConfig("127.0.0.1", 465, mode="implicit", servername=mail_lab.servername,
                                            cafile=mail_lab.cafile))
    for version in REFERENCE_VERSIONS:
        assert implicit.accepted(version) == result.accepted(version)


def test_postfix_high_policy_matches_openssl(mail_lab, postfix_reference):
    port = lab_tls_ports(mail_lab)["high"]
    result = run_tls_audit(TlsAuditConfig("127.0.0.1", port, servername=mail_lab.servername,
                                          cafile=mail_lab.cafile))
    assert_same_as_openssl(result, postfix_reference[port])
    assert result.groups_version == "TLSv1.3"
    assert set(result.groups) & set(OPENSSL_GROUPS) == openssl_groups(port, "TLSv1.3")
    assert postfix_reference[port] != postfix_reference[587]
    assert not result.accepted("TLSv1") and not result.accepted("TLSv1.1")
    assert next(v for v in result.versions if v.version == "TLSv1.2").server_order is True
    assert result.exit_code == ExitCode.OK and result.finding_ids == set()


# ----------------------------------------------------------------- scripted servers

EXPORT, NULL_SHA = 0x0003, 0x0002


def _client_hello_suites(record: bytes) -> tuple[int, list[int], bool]:
    """(client_version, offered suites, offers TLS 1.3) from one ClientHello record."""
    body = record[5 + 4:]
    version = int.from_bytes(body[0:2], "big")
    pos = 34
    pos += 1 + body[pos]
    count = int.from_bytes(body[pos:pos + 2], "big")
    suites = [int.from_bytes(body[pos + 2 + i:pos + 4 + i], "big") for i in range(0, count, 2)]
    return version, suites, b"\x00\x2b" in body[pos + 2 + count:]


def _legacy_only_server(accepts: set[int]):
    """SMTP + STARTTLS, then a ServerHello for the first offered suite in ``accepts`` (TLS 1.0 only)."""
    def script(conn, stop):
        conn.settimeout(5)
        conn.sendall(b"220 legacy.example ESMTP\r\n")
        buffer = b""
        while b"STARTTLS" not in buffer.upper():
            data = conn.recv(4096)
            if not data:
                return
            buffer += data
            if b"EHLO" in buffer.upper() and b"250" not in buffer:
                conn.sendall(b"250-legacy.example\r\n250 STARTTLS\r\n")
                buffer += b"250"
        conn.sendall(b"220 go ahead\r\n")
        record = b""
        while len(record) < 5 or len(record) < 5 + int.from_bytes(record[3:5], "big"):
            data = conn.recv(4096)
            if not data:
                return
            record += data
        version, suites, tls13 = _client_hello_suites(record)
        pick = next((s for s in suites if s in accepts), None)
        if tls13 or version != 0x0301 or pick is None:
            conn.sendall(bytes.fromhex("15030100020228"))  # fatal handshake_failure
            return
        hello = (version.to_bytes(2, "big") + bytes(32) + b"\x00" + pick.to_bytes(2, "big") + b"\x00")
        message = b"\x02" + len(hello).to_bytes(3, "big") + hello + b"\x0e\x00\x00\x00"
        conn.sendall(b"\x16\x03\x01" + len(message).to_bytes(2, "big") + message)
        conn.recv(1024)
    return script


def test_export_and_null_suites_openssl_cannot_offer_are_cipher_weak():
    with ScriptedServer(_legacy_only_server({EXPORT, NULL_SHA})) as server:
        result = run_tls_audit(TlsAuditConfig("127.0.0.1", server.port, servername="legacy.example",
                                              timeout=3, deadline=30))
    assert result.accepted("TLSv1") == {"TLS_RSA_EXPORT_WITH_RC4_40_MD5", "TLS_RSA_WITH_NULL_SHA"}
    assert not result.accepted("TLSv1.2")
    weak = next(f for f in result.findings if f.id == "cipher-weak")
    assert "TLS_RSA_EXPORT_WITH_RC4_40_MD5 (export, RC4)" in weak.evidence
    assert "TLS_RSA_WITH_NULL_SHA (NULL cipher)" in weak.evidence
    assert {"tls-legacy-version", "tls13-not-supported"} <= result.finding_ids
    # No handshake can finish with this server (issue 13, case 4): a TLS failure, said plainly.
    assert "tls-no-handshake-completes" in result.finding_ids
    assert result.exit_code == ExitCode.TLS and "no TLS handshake completes" in result.error


def test_dropped_connections_are_retried_not_rejections():
    """The first 5 connections get 421 or are closed unanswered, then every 7th: the set must not shrink."""
    counter = {"n": 0}
    lock = threading.Lock()
    inner = _legacy_only_server({EXPORT})

    def script(conn, stop):
        with lock:
            counter["n"] += 1
            n = counter["n"]
        if n <= 5 or n % 7 == 0:
            if n % 2:
                conn.sendall(b"421 4.3.2 busy\r\n")
            return  # (even: closed without a word)
        inner(conn, stop)

    with ScriptedServer(script) as server:
        result = run_tls_audit(TlsAuditConfig("127.0.0.1", server.port, servername="legacy.example",
                                              timeout=3, deadline=40, versions=("TLSv1",)))
    assert result.accepted("TLSv1") == {"TLS_RSA_EXPORT_WITH_RC4_40_MD5"}
    assert result.retried > 0


def test_silent_server_ends_at_the_deadline(run_cli):
    def script(conn, stop):
        stop.wait(30)

    with ScriptedServer(script) as server:
        started = time.monotonic()
        completed, document = run_cli("tls", f"127.0.0.1:{server.port}", "--timeout", "1", "--deadline", "3",
                                      "--json")
        elapsed = time.monotonic() - started
    assert elapsed < 8
    assert completed.returncode == ExitCode.INCOMPLETE, completed.stderr
    jsonschema.validate(document, SCHEMA)
    assert "deadline" in document["error"] or "gave up" in document["error"]


def test_no_starttls_is_a_starttls_failure(run_cli):
    def script(conn, stop):
        conn.sendall(b"220 plain.example ESMTP\r\n")
        conn.recv(1024)
        conn.sendall(b"250 plain.example\r\n")
        conn.recv(1024)

    with ScriptedServer(script) as server:
        completed, _ = run_cli("tls", f"127.0.0.1:{server.port}", "--deadline", "10")
    assert completed.returncode == ExitCode.STARTTLS
    assert "does not offer STARTTLS" in completed.stdout


# --------------------------------------------------------------------------- CLI


def test_cli_json_against_postfix_validates(run_cli, mail_lab):
    port = lab_tls_ports(mail_lab)["high"]
    completed, document = run_cli("tls", f"127.0.0.1:{port}", "--servername", mail_lab.servername,
                                  "--cafile", mail_lab.cafile, "--json")
    assert completed.returncode == 0, completed.stderr
    jsonschema.validate(document, SCHEMA)
    spki = document["certificate"]["chain"][0]["spki_sha256"]
    completed, document = run_cli("tls", f"127.0.0.1:{port}", "--servername", mail_lab.servername,
                                  "--cafile", mail_lab.cafile, "--json", "--versions", "TLSv1.3",
                                  "--tlsa", f"3 1 1 {spki}", "--tlsa", "3 1 1 " + "00" * 32)
    assert completed.returncode == 0
    assert [t["matched"] for t in document["certificate"]["tlsa"]] == [True, False]
    # 12 for the TLS 1.3 enumeration and the certificate, 7 for the checks (TLS_FALLBACK_SCSV: 1,
    # TLS 1.3 ticket resumption: 2, CertificateVerify schemes: 3 RSA-PSS + the refusal); the rest
    # of the checks read the ServerHellos already there.
    assert document["connections"]["used"] <= 19


@pytest.mark.parametrize("args", [["--tlsa", "3 1 1 zz"], ["--versions", "TLSv9"], ["--concurrency", "0"],
                                  ["--rate", "-1"], ["--cafile", "/nonexistent.pem"]])
def test_bad_arguments_are_one_line_usage_errors(run_cli, args):
    completed, _ = run_cli("tls", "127.0.0.1:1", *args)
    assert completed.returncode == ExitCode.USAGE
    assert "Traceback" not in completed.stderr
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith(("smtp-inspector tls: error:", "smtp-inspector: error:"))


def _dumps(result) -> str:
    from inspector.render.tls_audit import dumps
    return dumps(result)
