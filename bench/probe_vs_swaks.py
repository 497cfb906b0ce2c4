#!/usr/bin/env python3
"""Median wall time of `smtp-inspector probe` against `swaks --tls --quit-after TLS`.

Both run alternately against the same target (default: the Postfix mail lab on
127.0.0.1:587, see scripts/mail-lab), so machine noise hits both alike. Also
times `smtp-inspector --help` and `smtp-inspector demo`. Prints medians and the
ratio; goal: probe/swaks <= 1.5, --help < 150 ms, demo < 3 s.

    python3 bench/probe_vs_swaks.py [--target 127.0.0.1:587] [--runs 21] [--inspector PATH]

By default it measures the console script of a fresh, non-editable install in
.venv-bench/ (as a user's `pip install smtp-inspector` would have it; an
editable install adds an import hook that costs about 8 ms at start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

LAB_JSON = os.path.join(os.environ.get("SMTP_INSPECTOR_MAIL_LAB", "/var/tmp/smtp-inspector-mail-lab"),
                        "lab.json")


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {completed.returncode}")
    return elapsed


def install_for_bench() -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    venv = os.path.join(root, ".venv-bench")
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                    "--force-reinstall", "--no-deps", root], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                    root], check=True)
    return os.path.join(venv, "bin", "smtp-inspector")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:587")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--inspector", help="smtp-inspector executable to measure")
    args = parser.parse_args()
    if not args.target.startswith(("127.", "[::1]", "localhost")):
        raise SystemExit("benchmarks only run against loopback targets")
    if shutil.which("swaks") is None:
        raise SystemExit("swaks is not installed (apt-get install swaks)")

    inspector = [args.inspector or install_for_bench()]
    probe = [*inspector, "probe", args.target]
    if os.path.exists(LAB_JSON):
        with open(LAB_JSON) as handle:
            lab = json.load(handle)
        probe += ["--servername", lab["servername"], "--cafile", lab["cafile"]]
    swaks = ["swaks", "--server", args.target, "--tls", "--quit-after", "TLS"]

    wall(probe), wall(swaks)  # warm caches
    times = {"probe": [], "swaks": [], "help": [], "demo": []}
    for _ in range(args.runs):
        times["probe"].append(wall(probe))
        times["swaks"].append(wall(swaks))
        times["help"].append(wall([*inspector, "--help"]))
    for _ in range(max(3, args.runs // 4)):
        times["demo"].append(wall([*inspector, "demo"]))

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"runs: {args.runs} alternating, target {args.target}")
    for name in ("probe", "swaks", "help", "demo"):
        values = sorted(times[name])
        print(f"{name:6s} median {median[name] * 1000:7.1f} ms  (min {values[0] * 1000:.1f}, "
              f"max {values[-1] * 1000:.1f})")
    ratio = median["probe"] / median["swaks"]
    print(f"ratio probe/swaks (median): {ratio:.2f}  goal <= 1.5  {'OK' if ratio <= 1.5 else 'MISSED'}")
    print(f"--help median: {median['help'] * 1000:.0f} ms  goal < 150 ms  "
          f"{'OK' if median['help'] < 0.150 else 'MISSED'}")
    print(f"demo median: {median['demo']:.2f} s  goal < 3 s  {'OK' if median['demo'] < 3 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
