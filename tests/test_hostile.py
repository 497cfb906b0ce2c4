"""Hostile servers: the probe ends by its deadline, with bounded memory and a clear error.

Each case runs the real command in a subprocess so that wall time and peak
memory (ru_maxrss of the child) are those of a user's run.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from inspector.exitcodes import ExitCode
from tests.scripted_server import ScriptedServer

MEMORY_LIMIT_KB = 100 * 1024


def endless_line(conn, stop):
    chunk = b"220 " + b"A" * 65536
    while not stop.is_set():
        conn.sendall(chunk)


def one_byte_per_second(conn, stop):
    for byte in b"220 slow.example ESMTP\r\n":
        if stop.wait(1.0):
            return
        conn.sendall(bytes([byte]))


def endless_ehlo(conn, stop):
    conn.sendall(b"220 many.example ESMTP\r\n")
    conn.recv(1024)
    conn.sendall(b"250-many.example\r\n")
    while not stop.is_set():
        conn.sendall(b"250-X-FILLER\r\n" * 4096)


def garbage(conn, stop):
    conn.sendall(bytes(range(256)) * 4 + b"\r\n")
    stop.wait(5)


def closes_mid_reply(conn, stop):
    conn.sendall(b"220-half.example ESMTP\r\n220")
    conn.close()


def run_probe_process(port, *extra, timeout=30):
    """Run the CLI; return (completed, wall seconds, peak memory of the inspector in KiB)."""
    command = [sys.executable, "-m", "tests.peak_memory", "probe", f"127.0.0.1:{port}",
               "--starttls", "--no-require-tls", *extra]
    started = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - started
    peak = re.search(r"PEAK_KB (\d+)", completed.stderr)
    assert peak, completed.stderr
    completed.stderr = completed.stderr.replace(peak.group(0), "")
    return completed, elapsed, int(peak.group(1))


@pytest.mark.parametrize("script,args,limit,message", [
    (endless_line, ("--timeout", "5", "--deadline", "8"), 9.0, "without a line end"),
    (one_byte_per_second, ("--timeout", "2", "--deadline", "3"), 4.0, "step timeout"),
    (one_byte_per_second, ("--timeout", "10", "--deadline", "2"), 3.0, "overall deadline"),
    (closes_mid_reply, ("--timeout", "5",), 5.0, "closed the connection"),
])
def test_greeting_stage_failures_end_in_time(script, args, limit, message):
    with ScriptedServer(script) as server:
        completed, elapsed, peak_kb = run_probe_process(server.port, *args)

    assert completed.returncode == ExitCode.GREETING, completed.stdout + completed.stderr
    assert elapsed < limit
    assert peak_kb < MEMORY_LIMIT_KB
    assert "Traceback" not in completed.stderr
    last = completed.stdout.strip().splitlines()[-1]
    assert last.startswith("Result: exit 11 (greeting)") and message in last


def test_endless_ehlo_reply_is_capped():
    with ScriptedServer(endless_ehlo) as server:
        completed, elapsed, peak_kb = run_probe_process(server.port, "--deadline", "10")

    assert completed.returncode == ExitCode.EHLO
    assert elapsed < 11 and peak_kb < MEMORY_LIMIT_KB
    assert "more than 1000 lines" in completed.stdout
    assert "reply-malformed" in completed.stdout


def test_binary_garbage_greeting_is_malformed_not_a_crash():
    with ScriptedServer(garbage) as server:
        completed, elapsed, _ = run_probe_process(server.port, "--timeout", "3")

    assert completed.returncode == ExitCode.GREETING
    assert "reply-malformed" in completed.stdout and "non-digit-code" in completed.stdout
    assert "Traceback" not in completed.stderr
