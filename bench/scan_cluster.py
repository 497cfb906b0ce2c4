#!/usr/bin/env python3
"""The same loopback targets scanned locally and with ``scan --cluster local:2``: what Dask costs.

Starts N STARTTLS servers (tests/scan_responder.py, one wildcard listener past
10,000 addresses) on 127.1.0.0/16 inside a network namespace
``dask-bench-<pid>`` (tests/scan_world.py), then runs ``smtp-inspector scan
--checks quick`` over all of them twice, in the namespace, into fresh SQLite
files: once locally, once with ``--cluster local:2`` (a LocalCluster of two
worker processes, two task slots each). Prints targets/s both ways and, from
the cluster run's JSON summary, the overhead per partition:

    (wall time after the client's lookups x task slots - the tasks' own scan time) / partitions

that is, the slot-time each partition spends outside the runner (scheduling,
pickling targets and rows, thread start-up, the client's writes, the tail).

    sudo .venv/bin/python bench/scan_cluster.py [--targets 20000] [--concurrency 64]
                                                [--partition-size 500]

Needs root (network namespaces), the project's .venv with the ``cluster``
extra. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.scan_world import ScanWorld  # noqa: E402


def scan(world: ScanWorld, targets: str, db: str, concurrency: int, *extra: str) -> dict:
    command = world.scan_command(targets, "--db", db, "--rate", "0", "--concurrency", str(concurrency),
                                 "--per-network", str(concurrency), "--json", *extra)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    summary = json.loads(done.stdout)
    summary["wall_s"] = wall
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64, help="sessions at once, per task in a cluster")
    parser.add_argument("--partition-size", type=int, default=500)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="scan-cluster-bench-")
    world = ScanWorld(tmp, args.targets, {}, namespace=f"dask-bench-{os.getpid()}").start()
    try:
        targets = os.path.join(tmp, "targets")
        with open(targets, "w") as handle:
            handle.write("\n".join(world.targets) + "\n")
        local = scan(world, targets, os.path.join(tmp, "local.sqlite"), args.concurrency)
        cluster = scan(world, targets, os.path.join(tmp, "cluster.sqlite"), args.concurrency,
                       "--cluster", "local:2", "--partition-size", str(args.partition_size))
    finally:
        world.stop()
    info = cluster["cluster"]
    scan_phase = cluster["elapsed_s"] - info["resolve_s"]
    overhead = (scan_phase * info["slots"] - info["tasks_s"]) / max(1, info["partitions"])
    print(f"{args.targets} loopback STARTTLS targets, --checks quick, --concurrency {args.concurrency}")
    for label, s in (("local", local), ("--cluster local:2", cluster)):
        print(f"  {label:18s} {s['stored']:6d} stored  {s['elapsed_s']:7.1f} s  "
              f"{s['stored'] / s['elapsed_s']:7.1f} targets/s  (process wall {s['wall_s']:.1f} s)")
    print(f"  cluster: {info['partitions']} partitions of <= {args.partition_size}, {info['slots']} slots; "
          f"client lookups {info['resolve_s']:.1f} s; tasks' own scan time {info['tasks_s']:.1f} s; "
          f"overhead {overhead:.2f} s per partition")


if __name__ == "__main__":
    main()
