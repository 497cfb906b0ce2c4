"""``--deadline S`` bounds every network command, whatever the peer does.

Each peer here defeats per-step timeouts: it accepts and then trickles one byte
every 0.3 s and never finishes a line, or (for DNS) reads queries and never
answers. Every per-step timeout is set far beyond the deadline, so only the
deadline can end the command. The promise (README, "Hostile servers"): the
command ends within its deadline plus one second, with a one-line error or a
report, and never a traceback.
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from inspector.exitcodes import ExitCode
from tests.scripted_server import ScriptedServer
from tests.test_hostile import run_inspector

DEADLINE = 2.0
SLOW = "30"  # every per-step timeout: far beyond the deadline


def trickle(conn, stop):
    """Send ``220`` and then one byte every 0.3 s, never a whole line."""
    for byte in b"220 " + b"x" * 10_000:
        if stop.wait(0.3):
            return
        conn.sendall(bytes([byte]))


@pytest.fixture
def trickling():
    """A factory of loopback servers that trickle (tests/scripted_server.py)."""
    servers = []

    def start():
        servers.append(ScriptedServer(trickle).__enter__())
        return servers[-1]

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def mute_dns():
    """A UDP and TCP 'DNS server' on loopback that reads queries and never answers."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    port = udp.getsockname()[1]
    tcp = socket.create_server(("127.0.0.1", port))
    yield port
    udp.close()
    tcp.close()


def _assert_bounded(completed, elapsed, exit_code: int):
    print(f"\nexit {completed.returncode} after {elapsed:.2f} s")
    assert "Traceback" not in completed.stderr, completed.stderr
    assert elapsed < DEADLINE + 1, f"{elapsed:.2f} s for a {DEADLINE} s deadline"
    assert completed.returncode == exit_code, completed.stdout + completed.stderr
    assert len(completed.stderr.strip().splitlines()) <= 1, completed.stderr


def test_probe_deadline_bounds_a_trickling_greeting(trickling):
    server = trickling()
    completed, elapsed, _ = run_inspector(
        "probe", f"127.0.0.1:{server.port}", "--timeout", SLOW, "--deadline", f"{DEADLINE:g}",
        timeout=30)
    _assert_bounded(completed, elapsed, ExitCode.GREETING)
    assert "deadline" in completed.stdout.lower()


def test_ports_deadline_bounds_trickling_sessions(trickling):
    first, second = trickling(), trickling()
    completed, elapsed, _ = run_inspector(
        "ports", "127.0.0.1", "--connect", "--ports", f"{first.port},{second.port}",
        "--timeout", SLOW, "--session-timeout", SLOW, "--deadline", f"{DEADLINE:g}", timeout=30)
    _assert_bounded(completed, elapsed, ExitCode.INCOMPLETE)
    assert "deadline of 2 s ran out" in completed.stdout
    assert "STARTTLS" not in completed.stdout and "no TLS" not in completed.stdout  # not seen: unknown


@pytest.mark.skipif(os.geteuid() != 0, reason="interference sends raw packets: needs root")
def test_interference_deadline_bounds_trickling_sessions(trickling):
    smtp, control = trickling(), trickling()
    completed, elapsed, _ = run_inspector(
        "interference", "127.0.0.1", "--ports", str(smtp.port), "--control-port", str(control.port),
        "--timeout", "1", "--hop-timeout", "1", "--session-timeout", SLOW,
        "--deadline", f"{DEADLINE:g}", timeout=30)
    _assert_bounded(completed, elapsed, ExitCode.INCOMPLETE)
    assert "deadline of 2 s ran out" in completed.stdout


def test_discover_deadline_bounds_a_mute_dns_server(mute_dns):
    started = time.monotonic()
    completed, elapsed, _ = run_inspector(
        "discover", "user@deadline.test", "--dns-server", f"127.0.0.1:{mute_dns}",
        "--timeout", SLOW, "--deadline", f"{DEADLINE:g}", timeout=30)
    assert time.monotonic() - started >= DEADLINE * 0.5, "the mute server was not even waited for"
    _assert_bounded(completed, elapsed, ExitCode.NO_SUBMISSION_SERVER)


def test_tls_audit_deadline_bounds_a_trickling_greeting(trickling):
    server = trickling()
    completed, elapsed, _ = run_inspector(
        "tls", f"127.0.0.1:{server.port}", "--timeout", SLOW, "--deadline", f"{DEADLINE:g}",
        timeout=30)
    _assert_bounded(completed, elapsed, ExitCode.INCOMPLETE)
    assert "not accepted" not in completed.stdout, "a version never asked about is not 'not accepted'"
    assert "TLSv1.2: not determined" in completed.stdout
