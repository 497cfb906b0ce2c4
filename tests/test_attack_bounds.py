"""Hostile servers and files: bounded memory, deadlines that bind, defensive parsing, safe terminal.

Issue 21 (and issue 19 case 5). Every row runs the installed command in a subprocess under
tests/peak_memory.py and asserts: peak RSS < 100 MB, end by the deadline + 1 s, a documented exit
code other than 3, at most one stderr line (for an error), no traceback, no warning, and no raw
terminal control or bidi character in text output.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import ssl
import struct
import subprocess
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from inspector.exitcodes import ExitCode
from tests.capture_tools import CAPTURES, rewrite
from tests.hostile_auth import auth_server
from tests.many_sessions import write_sessions
from tests.scripted_server import ScriptedServer, command_lines

MEMORY_LIMIT_KB = 100 * 1024
#: What must never reach a terminal raw: C0 but LF, DEL, C1, bidi embeddings/overrides/isolates,
#: zero-width and other invisible format characters.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
HOSTILE = "\x1b[2J\x07\x08\x00\x7f\x85\x9b\u202e\u2066\u2069\u200b\ufeffgnp.exe"


def run(*args: str, timeout: float = 60, env: dict | None = None, stdin=subprocess.DEVNULL):
    """The CLI under tests/peak_memory.py: (completed, wall seconds, peak KiB); stderr without PEAK."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMTP_INSPECTOR_")}
    full_env.update(env or {})
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tests.peak_memory", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, stdin=stdin,
                          errors="surrogateescape")
    elapsed = time.monotonic() - started
    peak = re.search(r"PEAK_KB (\d+)\n?", done.stderr)
    if peak is None:      # argparse left by SystemExit before peak_memory.py could report
        assert done.returncode == ExitCode.USAGE, done.stderr
        return done, elapsed, 0
    done.stderr = done.stderr.replace(peak.group(0), "")
    return done, elapsed, int(peak.group(1))


def assert_contained(done, elapsed: float, peak_kb: int, *, deadline: float, codes, stderr_lines=(0, 1)):
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    assert done.returncode in codes and done.returncode != ExitCode.INTERNAL, (
        done.returncode, done.stderr, done.stdout[-500:])
    assert len(done.stderr.splitlines()) in stderr_lines, done.stderr
    assert elapsed < deadline + 1, f"{elapsed:.2f} s"
    assert peak_kb < MEMORY_LIMIT_KB, f"{peak_kb} KiB"


# ------------------------------------------------------------------ budgets

def _big_ehlo(kind: str) -> bytes:
    """About 8 MB inside the old caps (line <= 8192 bytes, <= 1000 lines)."""
    if kind == "auth-tokens":
        line = b"250-AUTH " + b" ".join(b"M%03d" % (i % 1000) for i in range(1600)) + b"\r\n"
        return b"250-big.example\r\n" + line * 996 + b"250 PIPELINING\r\n"
    return b"250-big.example\r\n" + (b"250-X" + b"y" * 8180 + b"\r\n") * 998 + b"250 PIPELINING\r\n"


@pytest.mark.parametrize("kind", ["auth-tokens", "long-lines"])
@pytest.mark.parametrize("output", [[], ["--json"]])
def test_eight_megabyte_ehlo_reply_stays_bounded(kind, output):
    reply = _big_ehlo(kind)

    def script(conn, stop):
        conn.sendall(b"220 big.example ESMTP\r\n")
        for line in command_lines(conn):
            if line.upper().startswith(b"EHLO"):
                try:
                    conn.sendall(reply)
                except OSError:
                    return
            elif line.upper() == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return

    with ScriptedServer(script) as server:
        done, elapsed, peak = run("probe", f"127.0.0.1:{server.port}", "--plain", "--deadline", "10",
                                  *output)
        assert_contained(done, elapsed, peak, deadline=10, codes=(ExitCode.EHLO,))
        assert "64,536 bytes" in done.stdout or "more than 65,536 bytes" in done.stdout, done.stdout[-400:]
        ports, elapsed, peak = run("ports", "127.0.0.1", "--connect", "--ports", str(server.port))
        assert_contained(ports, elapsed, peak, deadline=15, codes=(0, 1, 5))


def test_cafile_dev_zero_is_refused_at_once():
    done, elapsed, peak = run("probe", "127.0.0.1:9", "--cafile", "/dev/zero")
    assert_contained(done, elapsed, peak, deadline=5, codes=(ExitCode.USAGE,), stderr_lines=(1,))
    # Refused before reading (not a regular file), or cut at the size cap: either way one line.
    assert "/dev/zero" in done.stderr and ("bytes" in done.stderr or "not a regular file" in done.stderr)


def test_password_file_too_big_is_refused(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * (1 << 20))
    done, elapsed, peak = run("probe", "127.0.0.1:9", "--auth", "plain", "--user", "u",
                              "--password-file", str(big))
    assert_contained(done, elapsed, peak, deadline=5, codes=(ExitCode.USAGE,), stderr_lines=(1,))


def test_replay_memory_is_bounded_by_open_flows(tmp_path):
    """10,000 SMTP sessions left open, then 10,000 closed: the open flows are capped (the oldest
    evicted, and said so) and only the first sessions are kept in full (the rest counted)."""
    for closed in (False, True):
        capture = write_sessions(tmp_path / f"many-{closed}.pcap", 10_000, closed=closed)
        for output in ([], ["--json"]):
            done, elapsed, peak = run("replay", str(capture), *output, timeout=120)
            assert_contained(done, elapsed, peak, deadline=120, codes=(0, 1))
            if output:
                document = json.loads(done.stdout)
                assert document["capture"]["sessions_total"] == 10_000
                assert len(document["sessions"]) == 2000
                assert (document["capture"]["evicted_flows"] > 0) is (not closed)
            else:
                assert "of 10000 sessions are listed" in done.stdout
                assert ("finished early" in done.stdout) is (not closed)


# ------------------------------------------------------------------ deadlines

@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("flag", ["--cafile", "--password-file"])
def test_a_fifo_without_writer_does_not_hang(fifo, flag):
    args = ["probe", "127.0.0.1:9", flag, str(fifo)]
    if flag == "--password-file":
        args += ["--auth", "plain", "--user", "u"]
    done, elapsed, peak = run(*args, timeout=20)
    assert_contained(done, elapsed, peak, deadline=1, codes=(ExitCode.USAGE,), stderr_lines=(1,))


def test_a_fifo_whose_writer_never_writes_is_bounded(fifo):
    opened = os.open(fifo, os.O_RDWR)          # a writer that stays and never writes
    try:
        done, elapsed, peak = run("probe", "127.0.0.1:9", "--cafile", str(fifo), "--deadline", "2",
                                  timeout=30)
    finally:
        os.close(opened)
    assert_contained(done, elapsed, peak, deadline=2, codes=(ExitCode.USAGE,), stderr_lines=(1,))
    assert "did not end" in done.stderr or "is a FIFO, not a regular file" in done.stderr


def test_replay_of_a_fifo_without_writer_does_not_hang(fifo):
    done, elapsed, peak = run("replay", str(fifo), timeout=20)
    assert_contained(done, elapsed, peak, deadline=1, codes=(ExitCode.CAPTURE,), stderr_lines=(1,))


def test_pbkdf2_that_cannot_finish_is_refused_before_it_starts():
    """A SCRAM server asking for 10^8 iterations (minutes of CPU) with --deadline 2."""
    def script(conn, stop):
        conn.sendall(b"220 slow.example ESMTP\r\n")
        lines = command_lines(conn)
        for line in lines:
            verb = line.split(b" ")[0].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-slow.example\r\n250 AUTH SCRAM-SHA-256\r\n")
            elif verb == b"AUTH":
                first = base64.b64decode(line.split(b" ")[2]) if len(line.split(b" ")) > 2 else None
                if first is None:
                    conn.sendall(b"334 \r\n")
                    first = base64.b64decode(next(lines))
                nonce = re.search(rb"r=([^,]*)", first).group(1)
                salt = base64.b64encode(b"0123456789abcdef")
                server_first = b"r=" + nonce + b"x,s=" + salt + b",i=100000000"
                conn.sendall(b"334 " + base64.b64encode(server_first) + b"\r\n")
            elif verb == b"*":
                conn.sendall(b"501 5.7.0 cancelled\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return

    with ScriptedServer(script) as server:
        done, elapsed, peak = run("probe", f"127.0.0.1:{server.port}", "--plain", "--allow-plaintext-auth",
                                  "--auth", "SCRAM-SHA-256", "--user", "u", "--deadline", "2",
                                  env={"SMTP_INSPECTOR_PASSWORD": "a-password"})
    assert_contained(done, elapsed, peak, deadline=2, codes=(ExitCode.AUTH,))
    assert "PBKDF2 iterations" in done.stdout and "refused before starting" in done.stdout


# ------------------------------------------------------------------ defensive parsing

def test_deeply_nested_oauth_error_json():
    document = b"[" * 3000 + b"]" * 3000

    def final(exchange, conn):
        conn.sendall(b"334 " + base64.b64encode(document) + b"\r\n")
        conn.sendall(b"535 5.7.8 no\r\n")

    with ScriptedServer(auth_server("XOAUTH2", final)) as server:
        for output in ([], ["--json"]):
            done, elapsed, peak = run("probe", f"127.0.0.1:{server.port}", "--plain",
                                      "--allow-plaintext-auth", "--auth", "XOAUTH2", "--user", "u",
                                      "--deadline", "10", *output,
                                      env={"SMTP_INSPECTOR_TOKEN": "a-token-value"})
            assert_contained(done, elapsed, peak, deadline=10, codes=(ExitCode.AUTH,))


@pytest.mark.parametrize("args", [
    ("probe", "127.0.0.10:\u00b2"), ("probe", "127.0.0.1:\u0661\u0662"),
    ("probe", "127.0.0.1", "--timeout", "\u0661"),
    ("probe", "127.0.0.1", "--deadline", "1e3"), ("probe", "127.0.0.1", "--timeout", "nan"),
    ("ports", "127.0.0.1", "--ports", "\u00b2"), ("ports", "127.0.0.1", "--tries", "\u0662"),
    ("replay", "x.pcap", "--session", "\u0661"), ("tls", "127.0.0.1", "--rate", "\u0661"),
])
def test_numbers_are_ascii_digits(args):
    done, elapsed, peak = run(*args, timeout=20)
    assert_contained(done, elapsed, peak, deadline=5, codes=(ExitCode.USAGE,), stderr_lines=(1,))


def _pcapng_with_options(options: bytes) -> bytes:
    data = rewrite(CAPTURES / "auth-plain-25.pcap", pcapng=True)
    shb = int.from_bytes(data[4:8], "little")
    idb = int.from_bytes(data[shb + 4:shb + 8], "little")
    body = data[shb + 8:shb + 16] + options + b"\0" * (-len(options) % 4)
    block = struct.pack("<II", 1, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    return data[:shb] + block + data[shb + idb:]


@pytest.mark.parametrize("options", [
    struct.pack("<HHB3x", 9, 1, 0), struct.pack("<HHB3x", 9, 1, 0x80),
    struct.pack("<HHq", 14, 8, 2**62), struct.pack("<HHq", 14, 8, -(2**62)),
    struct.pack("<HHI", 9, 4, 6), struct.pack("<HHB3x", 14, 1, 1),
], ids=["tsresol-0", "tsresol-2^0", "tsoffset-huge", "tsoffset-negative", "tsresol-long", "tsoffset-short"])
def test_pcapng_interface_options_are_validated(tmp_path, options):
    capture = tmp_path / "bad.pcapng"
    capture.write_bytes(_pcapng_with_options(options))
    for output in ([], ["--json"], ["--session", "1"]):
        done, elapsed, peak = run("replay", str(capture), *output)
        assert_contained(done, elapsed, peak, deadline=10, codes=(ExitCode.CAPTURE,), stderr_lines=(1,))
        assert "if_ts" in done.stderr or "timestamp" in done.stderr, done.stderr


def test_pcapng_with_valid_options_still_reads(tmp_path):
    capture = tmp_path / "ok.pcapng"
    capture.write_bytes(_pcapng_with_options(struct.pack("<HHB3x", 9, 1, 6) + struct.pack("<HHq", 14, 8, 0)))
    done, elapsed, peak = run("replay", str(capture))
    assert_contained(done, elapsed, peak, deadline=10, codes=(ExitCode.FINDINGS,))


# ------------------------------------------------------------------ warnings (issue 19 case 5)

def test_replay_of_a_tls_capture_prints_no_warning():
    """The system CA store holds a certificate with a non-positive serial: cryptography warns."""
    done, elapsed, peak = run("replay", str(CAPTURES / "implicit-tls-465.pcap"))
    assert_contained(done, elapsed, peak, deadline=10, codes=(0, 1))
    assert done.stderr == ""


def test_ports_in_threads_prints_no_warning(mail_lab):
    for _ in range(4):
        done, elapsed, peak = run("ports", mail_lab.host, "--connect", "--ports", "25,465,587")
        assert_contained(done, elapsed, peak, deadline=15, codes=(0, 1))
        assert done.stderr == "", done.stderr


# ------------------------------------------------------------------ one rendering policy

def _hostile_certificate(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cert" + HOSTILE),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "org\u202e\x1b[31m")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier("x:\x1b[2J\x07\x08\x7f"),
                                                        x509.DNSName("ok.example")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_no_raw_control_or_bidi_character_reaches_the_terminal(tmp_path):
    cert, key = _hostile_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    hostile = HOSTILE.encode()
    oauth_error = base64.b64encode(json.dumps({"status": "401" + HOSTILE, HOSTILE: "x"}).encode())

    def script(conn, stop):
        secure = context.wrap_socket(conn, server_side=True)
        secure.sendall(b"220 greet" + hostile + b" ESMTP\r\n")
        for line in command_lines(secure):
            verb = line.split(b" ")[0].upper()
            if verb == b"EHLO":
                secure.sendall(b"250-host" + hostile + b"\r\n250-X" + hostile + b" p" + hostile
                               + b"\r\n250-AUTH XOAUTH2 M" + hostile + b"\r\n250 SIZE 1" + hostile + b"\r\n")
            elif verb == b"AUTH":
                secure.sendall(b"334 " + oauth_error + b"\r\n")
            elif verb == b"":
                secure.sendall(b"535 5.7.8 bad" + hostile + b"\r\n")
            elif verb == b"QUIT":
                secure.sendall(b"221 bye" + hostile + b"\r\n")
                return

    def plain_script(conn, stop):
        conn.sendall(b"220 greet" + hostile + b" ESMTP\r\n")
        for line in command_lines(conn):
            if line.upper().startswith(b"EHLO"):
                conn.sendall(b"250-host" + hostile + b"\r\n250-STARTTLS\r\n250 X" + hostile + b"\r\n")
            elif line.upper() == b"STARTTLS":
                conn.sendall(b"454 4.7.0 no" + hostile + b"\r\n")
            elif line.upper() == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return

    with ScriptedServer(script) as server, ScriptedServer(plain_script) as plain:
        runs = [("probe", f"127.0.0.1:{server.port}", "--implicit-tls", "--insecure", "--auth", "XOAUTH2",
                 "--user", "u", *extra) for extra in (["-v"], ["--timeout=5"])]
        runs += [("probe", f"127.0.0.1:{plain.port}", "--no-require-tls"),
                 ("ports", "127.0.0.1", "--connect", "--ports", f"{server.port},{plain.port}"),
                 ("tls", f"127.0.0.1:{server.port}", "--implicit-tls", "--deadline", "10")]
        for args in runs:
            done, elapsed, peak = run(*args, env={"SMTP_INSPECTOR_TOKEN": "tok-value-123"}, timeout=60)
            assert "Traceback" not in done.stderr, done.stderr
            assert done.returncode != ExitCode.INTERNAL, done.stderr
            found = RAW_CONTROL.search(done.stdout + done.stderr)
            assert found is None, (args[0], repr(found.group()), done.stdout[max(0, found.start() - 80):
                                                                            found.end() + 20])
            json_run, _, _ = run(*args, "--json", env={"SMTP_INSPECTOR_TOKEN": "tok-value-123"}, timeout=60)
            if json_run.stdout.strip().startswith("{"):
                json.loads(json_run.stdout)          # still valid JSON; exact values kept


def test_certificate_and_chain_size_caps():
    """A server may send up to 2^24 bytes of certificates (RFC 5246 §7.4.2): only the caps are parsed."""
    from inspector.certs import MAX_CERTIFICATE_BYTES, MAX_CHAIN_CERTIFICATES, analyze_chain
    from inspector.lab import make_lab_certificates

    pem = make_lab_certificates("caps.example").cert_pem
    leaf = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    report = analyze_chain([leaf] * (MAX_CHAIN_CERTIFICATES + 40), "caps.example")
    assert len(report.chain) == MAX_CHAIN_CERTIFICATES and "chain cut after" in report.trust_error
    report = analyze_chain([b"\x30" + b"\x00" * MAX_CERTIFICATE_BYTES], "caps.example")
    assert "over the" in report.trust_error and not report.trusted
