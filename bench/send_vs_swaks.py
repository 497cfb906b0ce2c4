#!/usr/bin/env python3
"""Median wall time of `smtp-inspector send` with AUTH against `swaks --tls --auth`.

Both submit one message with AUTH PLAIN over STARTTLS to the same Postfix
target (default: the mail lab's port 10588, which holds what it accepts, see
scripts/mail-lab), alternately, start-up included, so machine noise hits both
alike. Every message either tool queued is removed from the hold queue
afterwards (by its queue id). Prints medians and the ratio send/swaks; goal <= 1.0.

    python3 bench/send_vs_swaks.py [--target 127.0.0.1:10588] [--runs 15] [--inspector PATH]

By default it measures the console script of the non-editable install in
.venv-bench/ that bench/probe_vs_swaks.py builds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe_vs_swaks import LAB_JSON, install_for_bench  # noqa: E402

QUEUED = re.compile(rb"queued as ([0-9A-Za-z]+)")


def timed(command: list[str], env: dict) -> tuple[float, list[bytes]]:
    started = time.perf_counter()
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {completed.returncode}")
    return elapsed, QUEUED.findall(completed.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:10588")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--inspector", help="smtp-inspector executable to measure")
    args = parser.parse_args()
    if not args.target.startswith(("127.", "[::1]", "localhost")):
        raise SystemExit("benchmarks only run against loopback targets")
    if shutil.which("swaks") is None:
        raise SystemExit("swaks is not installed (apt-get install swaks)")
    with open(LAB_JSON) as handle:
        lab = json.load(handle)
    user, password = lab["users"][0]["user"], lab["users"][0]["password"]
    env = {**os.environ, "SMTP_INSPECTOR_PASSWORD": password}

    inspector = [args.inspector or install_for_bench()]
    send = [*inspector, "send", args.target, "--servername", lab["servername"], "--cafile", lab["cafile"],
            "--auth", "PLAIN", "--user", user, "--from", user, "--to", "bench@lab.test"]
    swaks = ["swaks", "--server", args.target, "--tls", "--auth", "PLAIN", "--auth-user", user,
             "--auth-password", password, "--from", user, "--to", "bench@lab.test"]

    queued: set[bytes] = set()
    times: dict[str, list[float]] = {"send": [], "swaks": []}
    try:
        for command in (send, swaks):  # warm caches
            queued.update(timed(command, env)[1])
        for _ in range(args.runs):
            for name, command in (("send", send), ("swaks", swaks)):
                elapsed, ids = timed(command, env)
                times[name].append(elapsed)
                queued.update(ids)
    finally:
        for queue_id in queued:
            subprocess.run(["postsuper", "-c", lab["postfix_config"], "-d", queue_id.decode(), "hold"],
                           capture_output=True, check=False)

    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = median["send"] / median["swaks"]
    print(f"send with AUTH : median {median['send'] * 1000:7.1f} ms over {args.runs} runs")
    print(f"swaks --auth   : median {median['swaks'] * 1000:7.1f} ms over {args.runs} runs")
    print(f"ratio send/swaks: {ratio:.2f} (goal <= 1.0); {len(queued)} held messages removed")
    return 0 if ratio <= 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
