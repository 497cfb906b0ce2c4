#!/usr/bin/env python3
"""Packets per second and peak memory of `smtp-inspector replay` against tshark.

Generates (deterministically, with inspector.replay.writer) a capture of at
least 1,000,000 packets: thousands of SMTP sessions, 64 open at a time and
interleaved, each with a greeting, EHLO, MAIL/RCPT/DATA and a message body of
many segments (a quarter of them switch to TLS after STARTTLS and carry TLS
records), plus non-SMTP connections. Then runs, alternately,

    smtp-inspector replay FILE
    tshark -r FILE -Y smtp -T fields -e smtp.req.command

a few times each and prints the median wall time, packets per second, their
ratio and the peak resident memory of each (ru_maxrss of the child).
A second capture, ``--shape short``, holds many short sessions (what mail
traffic is): 1,000,000 packets in 25,000 sessions of 40 packets (greeting,
EHLO, MAIL, RCPT, DATA with a small body, QUIT), where the per-session path
dominates. ``--sessions N`` scales it (the memory curve: peak RSS against
sessions, e.g. 25,000 and 250,000). Goals (issue 14): >= 3x tshark's packets/s on
both captures, peak RSS <= 100 MiB on both and at 250,000 sessions.

    python3 bench/replay_vs_tshark.py [--shape bulk|short|both] [--packets 1000000]
                                      [--sessions 25000] [--runs 3] [--keep DIR] [--jsonl]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.replay.writer import CaptureWriter, TcpConversation  # noqa: E402

CONCURRENT = 64
SEGMENT = 536


def smtp_session(conv: TcpConversation, number: int, clock):
    """One session, yielding between exchanges so that sessions interleave."""
    conv.handshake(clock())
    yield
    tls = number % 4 == 0
    dialog = [(False, b"220 mx%d.bench.test ESMTP\r\n" % (number % 7)),
              (True, b"EHLO client%d.bench.test\r\n" % number),
              (False, b"250-mx.bench.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
                      b"250 8BITMIME\r\n")]
    if tls:
        client_hello = (bytes.fromhex("160301002f0100002b0303") + bytes(32)
                        + bytes.fromhex("00000213010100") + bytes.fromhex("0000"))
        server_hello = (bytes.fromhex("160303002c020000280303") + bytes(32)
                        + bytes.fromhex("0013010000") + bytes.fromhex("0000"))
        dialog += [(True, b"STARTTLS\r\n"), (False, b"220 2.0.0 Ready to start TLS\r\n"),
                   (True, client_hello), (False, server_hello)]
    dialog += [(True, b"MAIL FROM:<sender%d@bench.test>\r\n" % number), (False, b"250 2.1.0 Ok\r\n"),
               (True, b"RCPT TO:<rcpt@bench.test>\r\n"), (False, b"250 2.1.5 Ok\r\n"),
               (True, b"DATA\r\n"), (False, b"354 End data with <CR><LF>.<CR><LF>\r\n")]
    for from_client, data in dialog:
        conv.send(clock(), from_client, data)
        yield
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n"
    chunk = (line * (2 * SEGMENT // len(line) + 1))[:2 * SEGMENT]
    if tls:
        chunk = b"\x17\x03\x03" + (len(chunk) - 5).to_bytes(2, "big") + chunk[5:]
    for _ in range(70 + number % 10):
        conv.send(clock(), True, chunk)
        yield
    conv.send(clock(), True, b"\r\n.\r\n" if not tls else b"\x17\x03\x03\x00\x05.....")
    conv.send(clock(), False, b"250 2.0.0 Ok: queued\r\n" if not tls else b"\x17\x03\x03\x00\x03abc")
    yield
    if not tls:
        conv.send(clock(), True, b"QUIT\r\n")
        conv.send(clock(), False, b"221 2.0.0 Bye\r\n")
    conv.close(clock())


def other_session(conv: TcpConversation, number: int, clock):
    """A non-SMTP connection (HTTP-like) that the replay must skip cheaply."""
    conv.handshake(clock())
    yield
    conv.send(clock(), True, b"GET /%d HTTP/1.1\r\nHost: bench.test\r\n\r\n" % number)
    for _ in range(60):
        conv.send(clock(), False, bytes(2 * SEGMENT))
        yield
    conv.close(clock())


def generate(path: pathlib.Path, packets: int) -> tuple[int, int]:
    """Write the capture; returns (packets, SMTP sessions)."""
    tick = [1_790_000_000.0]

    def clock() -> float:
        tick[0] += 0.00002
        return tick[0]

    with open(path, "wb", buffering=1 << 20) as stream:
        writer = CaptureWriter(stream)
        active, number, smtp_sessions = [], 0, 0
        while writer.packets < packets or active:
            while len(active) < CONCURRENT and writer.packets < packets:
                # Loopback addresses only, even in a file that is never sent.
                client = (f"127.{1 + (number >> 16 & 127)}.{number >> 8 & 255}.{number & 255}",
                          1024 + number % 60000)
                if number % 8 == 7:
                    conv = TcpConversation(writer.write, client, ("127.0.0.80", 80), mss=SEGMENT,
                                           checksums=False)
                    active.append(other_session(conv, number, clock))
                else:
                    conv = TcpConversation(writer.write, client, ("127.0.0.25", 25 if number % 3 else 587),
                                           mss=SEGMENT, checksums=False, server_ttl=52)
                    active.append(smtp_session(conv, number, clock))
                    smtp_sessions += 1
                number += 1
            still = []
            for session in active:
                try:
                    next(session)
                    still.append(session)
                except StopIteration:
                    pass
            active = still
        return writer.packets, smtp_sessions


def short_session(conv: TcpConversation, number: int, clock):
    """A short session of 40 packets: the dialog of a Postfix MX taking one small message."""
    conv.handshake(clock())
    yield
    dialog = [(False, b"220 mx.bench.test ESMTP Postfix\r\n"),
              (True, b"EHLO client%d.bench.test\r\n" % number),
              (False, b"250-mx.bench.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
                      b"250 8BITMIME\r\n"),
              (True, b"MAIL FROM:<sender%d@bench.test> SIZE=2000\r\n" % number),
              (False, b"250 2.1.0 Ok\r\n"),
              (True, b"RCPT TO:<rcpt%d@bench.test>\r\n" % (number % 97)), (False, b"250 2.1.5 Ok\r\n"),
              (True, b"RCPT TO:<list@bench.test> NOTIFY=NEVER\r\n"), (False, b"250 2.1.5 Ok\r\n"),
              (True, b"RCPT TO:<nobody@bench.test>\r\n"),
              (False, b"550 5.1.1 <nobody@bench.test>: Recipient address rejected\r\n"),
              (True, b"DATA\r\n"), (False, b"354 End data with <CR><LF>.<CR><LF>\r\n"),
              (True, b"Subject: bench\r\n\r\n" + b"x" * 1300 + b"\r\n.\r\n"),
              (False, b"250 2.0.0 Ok: queued as %X\r\n" % (0x1000000 + number)),
              (True, b"QUIT\r\n"), (False, b"221 2.0.0 Bye\r\n")]
    for from_client, data in dialog:
        conv.send(clock(), from_client, data)
        yield
    conv.close(clock())


def generate_short(path: pathlib.Path, sessions: int) -> tuple[int, int]:
    """Write ``sessions`` short sessions, CONCURRENT at a time, interleaved; (packets, sessions)."""
    tick = [1_790_000_000.0]

    def clock() -> float:
        tick[0] += 0.00002
        return tick[0]

    with open(path, "wb", buffering=1 << 20) as stream:
        writer = CaptureWriter(stream)
        active, number = [], 0
        while number < sessions or active:
            while len(active) < CONCURRENT and number < sessions:
                client = (f"127.{1 + (number >> 16 & 127)}.{number >> 8 & 255}.{number & 255}",
                          1024 + number % 60000)
                conv = TcpConversation(writer.write, client, ("127.0.0.25", 25), mss=1460,
                                       checksums=False, server_ttl=52)
                active.append(short_session(conv, number, clock))
                number += 1
            still = []
            for session in active:
                try:
                    next(session)
                    still.append(session)
                except StopIteration:
                    pass
            active = still
        return writer.packets, sessions


def measure(command: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, exit code) of one run."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = 0
    for _ in process.stdout:
        lines += 1
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    return elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=("bulk", "short", "both"), default="both")
    parser.add_argument("--packets", type=int, default=1_000_000, help="bulk capture size")
    parser.add_argument("--sessions", type=int, default=25_000, help="short capture size")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jsonl", action="store_true", help="run replay --jsonl (streaming)")
    parser.add_argument("--no-tshark", action="store_true", help="replay alone (memory curve)")
    parser.add_argument("--keep", metavar="DIR", help="write the captures here and keep them")
    parser.add_argument("--curve", metavar="N,N,...",
                        help="peak memory against sessions: replay alone on short captures of "
                             "these many sessions (e.g. 25000,100000,250000)")
    args = parser.parse_args()
    if args.curve:
        return curve([int(n) for n in args.curve.split(",")], args)
    if shutil.which("tshark") is None and not args.no_tshark:
        raise SystemExit("tshark is not installed (scripts/setup-system installs it)")
    directory = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="replay-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        for shape in (("bulk", "short") if args.shape == "both" else (args.shape,)):
            path = directory / f"bench-{shape}.pcap"
            started = time.perf_counter()
            if shape == "bulk":
                packets, sessions = generate(path, args.packets)
            else:
                packets, sessions = generate_short(path, args.sessions)
            print(f"generated {path}: {packets} packets, {sessions} SMTP sessions, "
                  f"{path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - started:.1f} s")
            compare(path, packets, sessions, args)
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


def curve(sizes: list[int], args) -> None:
    """Peak RSS of replay (table, and --jsonl) against the number of sessions in the capture."""
    directory = pathlib.Path(tempfile.mkdtemp(prefix="replay-curve-"))
    try:
        print(f"{'sessions':>9} {'packets':>10} {'table s':>8} {'table MiB':>10} {'jsonl s':>8} "
              f"{'jsonl MiB':>10}")
        for size in sizes:
            path = directory / f"short-{size}.pcap"
            packets, _ = generate_short(path, size)
            base = [sys.executable, "-m", "inspector", "replay", str(path)]
            t_seconds, t_rss, _ = measure(base)
            j_seconds, j_rss, _ = measure(base + ["--jsonl"])
            print(f"{size:9d} {packets:10d} {t_seconds:8.1f} {t_rss / 1024:10.1f} {j_seconds:8.1f} "
                  f"{j_rss / 1024:10.1f}", flush=True)
            path.unlink()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def compare(path: pathlib.Path, packets: int, sessions: int, args) -> None:
    ours = [sys.executable, "-m", "inspector", "replay", str(path)] + (["--jsonl"] if args.jsonl else [])
    theirs = ["tshark", "-r", str(path), "-Y", "smtp", "-T", "fields", "-e", "smtp.req.command"]
    commands = (("replay", ours),) if args.no_tshark else (("replay", ours), ("tshark", theirs))
    results: dict[str, list[tuple[float, int, int]]] = {name: [] for name, _ in commands}
    for run in range(args.runs):
        for name, command in commands:
            seconds, rss, code = measure(command)
            results[name].append((seconds, rss, code))
            print(f"run {run + 1}: {name:7s} {seconds:6.2f} s  {rss / 1024:7.1f} MiB  exit {code}")
    medians = {}
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs) / 1024
        medians[name] = seconds
        print(f"{name:7s} median {seconds:6.2f} s = {packets / seconds:9.0f} packets/s, "
              f"peak RSS {rss:6.1f} MiB")
    if "tshark" in medians:
        ratio = medians["tshark"] / medians["replay"]
        print(f"{path.name}: {sessions} sessions, replay/tshark packets per second: {ratio:.2f} "
              "(goal >= 3.0)")


if __name__ == "__main__":
    main()
