"""The hostile-server suite: one scripted server per behaviour, one table row each.

Every row runs the real command (``probe --json``) in a subprocess against a
:class:`ScriptedServer` on loopback and asserts what the README promises for
hostile servers:

(a) it ends within its ``--deadline`` plus one second (wall time measured
    around the subprocess, interpreter start-up included);
(b) its peak memory (VmHWM of the child, tests/peak_memory.py) stays < 100 MB;
(c) the exit code is the documented one for the stage that failed;
(d) the output names the expected finding id (with evidence) or error;
(e) stderr holds no traceback.

Behaviours from the NO STARTTLS study (Poddebniak et al., USENIX Security
2021) and RFC 5321 §4.2 / RFC 3207 §4.2; see README "Hostile servers".
"""

from __future__ import annotations

import functools
import json
import re
import socket
import ssl
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import jsonschema
import pytest

from inspector.exitcodes import ExitCode
from inspector.lab import make_lab_certificates
from tests.scripted_server import LineReader, ScriptedServer

MEMORY_LIMIT_KB = 100 * 1024
SCHEMA = json.loads(resources.files("inspector").joinpath("schema/probe-result.schema.json").read_text())
HOSTNAME = "hostile.smtp-inspector.test"
QUIT = b"221 2.0.0 bye\r\n"
EHLO_STARTTLS = b"250-hostile.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
EHLO_TLS = b"250-hostile.example\r\n250 PIPELINING\r\n"


# ----------------------------------------------------------------- server helpers

def answer(sock, reader: LineReader, replies: dict[str, bytes]) -> None:
    """Reply to each command line by its verb until QUIT or the end of the stream."""
    while (line := reader.next_line()) is not None:
        verb = line.split(b" ")[0].upper().decode("ascii", "replace")
        sock.sendall(replies.get(verb, b"500 5.5.1 unknown\r\n"))
        if verb == "QUIT":
            return


def until_starttls(conn, greeting: bytes = b"220 hostile.example ESMTP\r\n",
                   ehlo: bytes = EHLO_STARTTLS) -> LineReader:
    """Greet, answer EHLO, and return once STARTTLS was read (rest may hold pipelined bytes)."""
    conn.sendall(greeting)
    reader = LineReader(conn)
    while (line := reader.next_line()) is not None:
        verb = line.split(b" ")[0].upper()
        if verb == b"STARTTLS":
            return reader
        conn.sendall(ehlo if verb == b"EHLO" else b"500 5.5.1 unknown\r\n")
    raise OSError("client left before STARTTLS")


def serve_tls(conn, tls: ssl.SSLContext, reader: LineReader, *, keep_plaintext: bool = False) -> None:
    """Handshake, then answer EHLO/NOOP/QUIT inside TLS.

    ``keep_plaintext`` runs the commands the client pipelined after STARTTLS
    inside TLS, as the servers of CVE-2011-0411 did; RFC 3207 §4.2 says discard them.
    """
    pipelined = reader.rest if keep_plaintext else b""
    secure = tls.wrap_socket(conn, server_side=True)
    inner = LineReader(secure)
    inner.rest = pipelined
    answer(secure, inner, {"EHLO": EHLO_TLS, "NOOP": b"250 2.0.0 Ok\r\n", "QUIT": QUIT})


# ---------------------------------------------------------------------- behaviours

def endless_line(conn, stop, tls):
    chunk = b"220 " + b"A" * 65536
    while not stop.is_set():
        conn.sendall(chunk)


def greeting_one_byte_per_second(conn, stop, tls):
    for byte in b"220 slow.example ESMTP\r\n":
        conn.sendall(bytes([byte]))
        if stop.wait(1.0):
            return


def binary_garbage(conn, stop, tls):
    conn.sendall(bytes(range(256)) * 4 + b"\r\n")
    stop.wait(5)


def mixed_codes_in_multiline_reply(conn, stop, tls):
    conn.sendall(b"220 mixed.example ESMTP\r\n")
    answer(conn, LineReader(conn), {
        "EHLO": b"250-mixed.example\r\n220-PIPELINING\r\n354-SIZE 1000\r\n250 8BITMIME\r\n",
        "QUIT": QUIT})


def bare_lf(conn, stop, tls):
    conn.sendall(b"220 lenient.example ESMTP\n")
    answer(conn, LineReader(conn), {"EHLO": b"250-lenient.example\n250 SIZE 10\n", "QUIT": QUIT})


def closed_mid_reply(conn, stop, tls):
    conn.sendall(b"220-half.example ESMTP\r\n220")
    conn.close()


def rst_in_tls_handshake(conn, stop, tls):
    until_starttls(conn)
    conn.sendall(b"220 2.0.0 go ahead\r\n")
    conn.recv(4096)  # the ClientHello
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # SO_LINGER 0: the kernel answers with RST


def non_tls_after_starttls_220(conn, stop, tls):
    until_starttls(conn)
    conn.sendall(b"220 2.0.0 go ahead\r\n")
    conn.recv(4096)  # the ClientHello, answered in plaintext
    conn.sendall(b"500 5.5.2 what is this?\r\n")
    stop.wait(5)


def ehlo_200000_lines(conn, stop, tls):
    conn.sendall(b"220 many.example ESMTP\r\n")
    LineReader(conn).next_line()
    conn.sendall(b"250-many.example\r\n" + b"250-X-FILLER\r\n" * 200_000 + b"250 8BITMIME\r\n")


def pregreet_pause(conn, stop, tls):
    conn.sendall(b"220-pregreet.example ESMTP\r\n")
    if stop.wait(2.2):
        return
    conn.sendall(b"220 pregreet.example ready\r\n")
    answer(conn, LineReader(conn), {"EHLO": b"250-pregreet.example\r\n250 8BITMIME\r\n", "QUIT": QUIT})


def injected_after_starttls_220(conn, stop, tls):
    reader = until_starttls(conn)
    conn.sendall(b"220 2.0.0 go ahead\r\n250-injected.example\r\n250 AUTH PLAIN LOGIN\r\n")
    serve_tls(conn, tls, reader)


def starttls_454(conn, stop, tls):
    reader = until_starttls(conn)
    conn.sendall(b"454 4.7.0 TLS not available due to temporary reason\r\n")
    answer(conn, reader, {"QUIT": QUIT})


def masked_capabilities(conn, stop, tls):
    conn.sendall(b"220 ******************************\r\n")
    answer(conn, LineReader(conn), {
        "EHLO": b"250-masked.example\r\n250-PIPELINING\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n",
        "STARTTLS": b"502 5.5.2 Error: command not recognized\r\n", "QUIT": QUIT})


def executes_pipelined_after_starttls(conn, stop, tls):
    reader = until_starttls(conn)
    conn.sendall(b"220 2.0.0 go ahead\r\n")
    serve_tls(conn, tls, reader, keep_plaintext=True)


def silent_after_starttls_220(conn, stop, tls):
    until_starttls(conn)
    conn.sendall(b"220 2.0.0 go ahead\r\n")
    stop.wait(10)  # reads the ClientHello never


def silent_implicit_tls(conn, stop, tls):
    stop.wait(10)


# --------------------------------------------------------------------------- table

@dataclass(frozen=True)
class Case:
    behaviour: str
    script: object
    args: tuple[str, ...]
    deadline: float
    exit_code: ExitCode
    finding: str | None    #: id that must be reported; None: the error names the failure
    evidence: str          #: regex, searched in that finding's evidence (or in the error)
    also: Callable[[dict], bool] | None = None  #: a further check on the JSON document


def steps(document: dict) -> dict[str, str]:
    return {step["name"]: step["status"] for step in document["steps"]}


T = ("--timeout", "2")
CASES = [
    Case("endless line without CRLF", endless_line, T, 4, ExitCode.GREETING,
         "reply-malformed", "without a line end"),
    Case("greeting one byte per second", greeting_one_byte_per_second, ("--timeout", "10"), 3,
         ExitCode.GREETING, None, r"greeting: .*overall deadline"),
    Case("binary garbage", binary_garbage, T, 4, ExitCode.GREETING,
         "reply-malformed", "non-digit-code"),
    Case("mixed codes inside a multi-line reply", mixed_codes_in_multiline_reply, T, 4, ExitCode.OK,
         "reply-malformed", r"code-mismatch.*'220'.*'250'"),
    Case("bare LF", bare_lf, T, 4, ExitCode.OK, "reply-malformed", "bare-lf",
         also=lambda d: d["capabilities"]["before_tls"]["size"] == 10),
    Case("connection closed mid-reply", closed_mid_reply, T, 4, ExitCode.GREETING,
         None, r"greeting: the server closed the connection after 27 bytes of an unfinished reply"),
    Case("RST in the middle of the TLS handshake", rst_in_tls_handshake, T, 4, ExitCode.TLS,
         "tls-handshake-failed", "reset|closed",
         also=lambda d: "quit" not in steps(d)),  # nothing more is sent on a dead connection
    Case("non-TLS bytes after the STARTTLS 220", non_tls_after_starttls_220, T, 4, ExitCode.TLS,
         "response-injection", "non-TLS bytes .*500 5.5.2"),
    Case("200,000 EHLO lines", ehlo_200000_lines, T, 4, ExitCode.EHLO,
         "reply-malformed", "more than 1000 lines"),
    Case("multi-line greeting with a pause (pregreet)", pregreet_pause, ("--timeout", "5"), 6,
         ExitCode.OK, "greeting-delayed", "pregreet pause"),
    Case("bytes injected after the STARTTLS 220", injected_after_starttls_220, T, 4, ExitCode.FINDINGS,
         "response-injection", "250-injected.example",
         also=lambda d: "AUTH" not in d["capabilities"]["after_tls"]["keywords"]),
    Case("STARTTLS answered with 454", starttls_454, ("--require-tls", *T), 4, ExitCode.STARTTLS,
         "starttls-failed", "454 4.7.0"),
    Case("capabilities masked with XXXXXXXA", masked_capabilities, ("--require-tls", *T), 4,
         ExitCode.STARTTLS, "starttls-masked", "XXXXXXXA"),
    Case("plaintext commands pipelined after STARTTLS run inside TLS (CVE-2011-0411)",
         executes_pipelined_after_starttls, ("--check-injection", *T), 4, ExitCode.FINDINGS,
         "command-injection", "answered inside TLS: '250 2.0.0 Ok'",
         also=lambda d: steps(d)["ehlo-tls"] == "ok"),
    Case("silent after the STARTTLS 220 (deadline bounds the handshake)", silent_after_starttls_220,
         ("--timeout", "10"), 3, ExitCode.TLS, "tls-handshake-failed", "overall deadline"),
    Case("silent on implicit TLS (deadline bounds the handshake)", silent_implicit_tls,
         ("--implicit-tls", "--timeout", "10"), 3, ExitCode.TLS, "tls-handshake-failed",
         "overall deadline"),
]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_lab_certificates(HOSTNAME).write(tmp_path_factory.mktemp("hostile-certs"))


@pytest.fixture(scope="module")
def server_tls(certificates) -> ssl.SSLContext:
    _ca, cert, key = certificates
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def run_inspector(*args: str, timeout: float):
    """Run the CLI under tests/peak_memory.py; return (completed, wall seconds, peak KiB)."""
    command = [sys.executable, "-m", "tests.peak_memory", *args]
    started = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - started
    peak = re.search(r"PEAK_KB (\d+)\n?", completed.stderr)
    assert peak, completed.stderr
    completed.stderr = completed.stderr.replace(peak.group(0), "")
    return completed, elapsed, int(peak.group(1))


@pytest.mark.parametrize("case", CASES, ids=[c.behaviour for c in CASES])
def test_hostile_server(case, certificates, server_tls):
    script = functools.partial(case.script, tls=server_tls)
    with ScriptedServer(script) as server:
        completed, elapsed, peak_kb = run_inspector(
            "probe", f"127.0.0.1:{server.port}", "--json", "--no-require-tls",
            "--servername", HOSTNAME, "--cafile", certificates[0],
            "--deadline", f"{case.deadline:g}", *case.args, timeout=case.deadline + 30)

    print(f"\n{case.behaviour}: {elapsed:.2f} s, {peak_kb} KiB, exit {completed.returncode}")
    output = completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr                 # (e)
    assert completed.stderr.strip() == "", completed.stderr
    assert elapsed < case.deadline + 1, f"{elapsed:.2f} s"                          # (a)
    assert peak_kb < MEMORY_LIMIT_KB, f"{peak_kb} KiB"                              # (b)
    assert completed.returncode == case.exit_code, output                           # (c)
    document = json.loads(completed.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["exit_code"] == case.exit_code
    if case.finding is None:                                                        # (d)
        assert re.search(case.evidence, document["error"] or ""), document["error"]
    else:
        evidence = [f["evidence"] for f in document["findings"] if f["id"] == case.finding]
        assert any(re.search(case.evidence, e) for e in evidence), (case.finding, document["findings"])
    if case.also is not None:
        assert case.also(document), document["steps"]
    if case.exit_code >= ExitCode.CONNECT:
        assert document["error"], "a failed stage must say why"
