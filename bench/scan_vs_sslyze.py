#!/usr/bin/env python3
"""`smtp-inspector scan --checks quick` against `sslyze --starttls smtp --certinfo` on loopback servers.

Starts N STARTTLS servers (tests/scan_responder.py, Postfix-shaped replies, one
per address on 127.1.0.0/16) inside a network namespace ``scan-bench-<pid>``
(tests/scan_world.py), makes one untimed pass of ours over all of them (a server's
first connections cost more; ``--no-warmup`` measures cold), then runs each tool once
over all of them, in the namespace, and prints side by side: targets per second, our
CPU and the servers' CPU per target, connections per target (counted by the servers),
and peak memory (VmHWM of the tool's process, or
ru_maxrss of its process tree for sslyze). Then our targets/s at each size of
``--sizes`` (default 2,000 and 20,000), which should not fall as the list grows.
Goal: ours >= 5x sslyze's targets/s. Each row ends with the 1-minute load average when it
finished (the machine is shared: wall-time ratios move with it).

    sudo .venv/bin/python bench/scan_vs_sslyze.py [--targets 2000] [--sizes 2000,20000] [--concurrency 64]
                                         [--inspector PATH] [--sslyze PATH] [--skip-sslyze] [--no-warmup]

Needs root (network namespaces) and a Python with dnspython and cryptography
(the project's .venv) for the servers. sslyze comes from PyPI in its own virtual
environment (.venv-sslyze/), ours from .venv-bench/ (a non-editable install
of this tree), as bench/tls_vs_sslyze.py does it. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.scan_world import DNS_HOST, ScanWorld, address, name  # noqa: E402


def venv_tool(venv_name: str, packages: list[str], tool: str) -> str:
    venv = os.path.join(ROOT, venv_name)
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    if not os.path.exists(os.path.join(venv, "bin", tool)) or venv_name == ".venv-bench":
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                        *packages], check=True)
    return os.path.join(venv, "bin", tool)


def run_ours(world: ScanWorld, tool: str, n: int, concurrency: int, tmp: str) -> dict:
    targets = os.path.join(tmp, f"targets-{n}")
    with open(targets, "w") as handle:
        handle.write("\n".join(f"{name(i)}:25" for i in range(n)) + "\n")
    db = os.path.join(tmp, f"bench-{n}-{time.time_ns()}.sqlite")
    command = world.netns_command([sys.executable, os.path.join(ROOT, "tests", "peak_memory.py"), "scan",
                                   targets, "--db", db, "--dns-server", f"{DNS_HOST}:{world.dns_port}",
                                   "--cafile", world.certs["ca"], "--rate", "0", "--concurrency",
                                   str(concurrency), "--per-network", str(concurrency), "--json"])
    python = os.path.join(os.path.dirname(tool), "python")
    command[command.index(sys.executable)] = python
    cpu = _children_cpu()
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    cpu = _children_cpu() - cpu
    if done.returncode not in (0, 1):
        raise SystemExit(f"smtp-inspector scan exited {done.returncode}: {done.stderr[-500:]}")
    summary = json.loads(done.stdout)
    peak = int(next(line.split()[1] for line in done.stderr.splitlines() if line.startswith("PEAK_KB")))
    return {"targets": n, "seconds": elapsed, "targets_per_s": n / elapsed, "cpu_ms": 1000 * cpu / n,
            "connections_per_target": summary["connections"] / n, "peak_mb": peak / 1024,
            "stored": summary["stored"], "load": os.getloadavg()[0]}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_sslyze(world: ScanWorld, tool: str, n: int, tmp: str) -> dict:
    targets = os.path.join(tmp, "sslyze-targets")
    with open(targets, "w") as handle:
        handle.write("\n".join(f"{name(i)}:25{{{address(i)}}}" for i in range(n)) + "\n")
    out = os.path.join(tmp, "sslyze.json")
    command = world.netns_command([tool, "--starttls", "smtp", "--certinfo", "--quiet", "--json_out", out,
                                   "--targets_in", targets])
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu = _children_cpu()
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    cpu = _children_cpu() - cpu
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if not os.path.exists(out):
        raise SystemExit(f"sslyze exited {done.returncode}: {done.stderr[-500:]}")
    with open(out) as handle:
        results = json.load(handle)["server_scan_results"]
    completed = sum(1 for r in results if r.get("scan_status") == "COMPLETED")
    return {"targets": n, "seconds": elapsed, "targets_per_s": n / elapsed, "completed": completed,
            "cpu_ms": 1000 * cpu / n,
            "peak_mb": max(peak, before) / 1024, "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--inspector", help="smtp-inspector executable (default: fresh .venv-bench)")
    parser.add_argument("--sslyze", help="sslyze executable (default: .venv-sslyze from PyPI)")
    parser.add_argument("--skip-sslyze", action="store_true")
    parser.add_argument("--no-warmup", action="store_true",
                        help="measure on servers that have not been connected to yet")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root: the servers run in a network namespace")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    inspector = args.inspector or venv_tool(".venv-bench", [ROOT], "smtp-inspector")
    sslyze = None if args.skip_sslyze else (args.sslyze or venv_tool(".venv-sslyze", ["sslyze"], "sslyze"))
    tmp = tempfile.mkdtemp(prefix="scan-bench-")
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    world = ScanWorld(tmp, max([args.targets, *sizes]), {}, namespace=f"scan-bench-{os.getpid()}").start()
    rows = []
    try:
        if not args.no_warmup:   # the servers' first connections cost more: neither tool gets them
            run_ours(world, inspector, args.targets, args.concurrency, tmp)
        base, server = world.connections(), world.server_cpu()
        ours = run_ours(world, inspector, args.targets, args.concurrency, tmp)
        ours["connections_per_target"] = (world.connections() - base) / args.targets
        ours["server_cpu_ms"] = 1000 * (world.server_cpu() - server) / args.targets
        rows.append(("smtp-inspector scan --checks quick", ours))
        if sslyze:
            base, server = world.connections(), world.server_cpu()
            theirs = run_sslyze(world, sslyze, args.targets, tmp)
            theirs["connections_per_target"] = (world.connections() - base) / args.targets
            theirs["server_cpu_ms"] = 1000 * (world.server_cpu() - server) / args.targets
            rows.append(("sslyze --starttls smtp --certinfo", theirs))
        scaling = [run_ours(world, inspector, n, args.concurrency, tmp) for n in sizes]
    finally:
        world.stop()
    print(f"{args.targets} loopback STARTTLS targets, concurrency {args.concurrency} for smtp-inspector, "
          "sslyze's own")
    print(f"{'tool':<38} {'targets/s':>10} {'seconds':>8} {'CPU ms/target':>14} {'server CPU ms':>14} "
          f"{'conn/target':>12} {'peak MB':>8} {'load (1 min, at the end)':>25}")
    for label, r in rows:
        print(f"{label:<38} {r['targets_per_s']:>10.1f} {r['seconds']:>8.1f} {r['cpu_ms']:>14.2f} "
              f"{r['server_cpu_ms']:>14.2f} {r['connections_per_target']:>12.2f} {r['peak_mb']:>8.1f} "
              f"{r['load']:>25.2f}")
    if len(rows) == 2:
        ratio = rows[0][1]["targets_per_s"] / rows[1][1]["targets_per_s"]
        print(f"ratio (ours / sslyze's targets per second): {ratio:.1f}x (goal >= 5x); "
              f"sslyze completed {rows[1][1]['completed']} of {args.targets}")
    for r in scaling:
        print(f"smtp-inspector at {r['targets']:>6} targets: {r['targets_per_s']:.1f} targets/s, "
              f"{r['cpu_ms']:.2f} CPU ms/target, peak {r['peak_mb']:.1f} MB, stored {r['stored']}, "
              f"load {r['load']:.2f}")


if __name__ == "__main__":
    main()
