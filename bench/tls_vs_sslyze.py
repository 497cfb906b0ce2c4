#!/usr/bin/env python3
"""`smtp-inspector tls` (full audit) against `sslyze --starttls smtp`: wall time, connections, suites, checks.

Both run alternately N times against the same Postfix listener. The default
target is the mail lab's bench port (127.0.0.1:10025, scripts/mail-lab), which
has the submission port's TLS settings and which nothing else uses, so the
connections each tool opened are counted exactly on the server side: Postfix
logs one "postfix-lab/bench/smtpd[...]: connect from" line per TCP connection.

Prints median wall times and their ratio, connection counts and their ratio,
and whether both tools found the same accepted cipher suites per version
(IANA names). sslyze runs the same work: every version's suites, the groups, the
certificate and the checks ``--reneg --fallback --heartbleed --openssl_ccs --robot
--compression --resum --certinfo``; the answers of the checks both make are compared too.
Goals: time <= 0.5x sslyze, connections <= 0.3x, identical sets and answers.

    python3 bench/tls_vs_sslyze.py [--target 127.0.0.1:10025] [--runs 7] [--inspector PATH] [--sslyze PATH]

By default both tools come from fresh virtual environments built here:
.venv-bench/ (a non-editable install of this tree) and .venv-sslyze/ (sslyze
from PyPI).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

STATE = os.environ.get("SMTP_INSPECTOR_MAIL_LAB", "/var/tmp/smtp-inspector-mail-lab")
LAB_JSON = os.path.join(STATE, "lab.json")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The same work as our audit: suites per version, groups, certificate, and the checks.
SSLYZE_COMMANDS = ["--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3", "--elliptic_curves",
                   "--certinfo", "--reneg", "--fallback", "--heartbleed", "--openssl_ccs", "--robot",
                   "--compression", "--resum"]
SSLYZE_KEYS = {"ssl_3_0_cipher_suites": "SSLv3", "tls_1_0_cipher_suites": "TLSv1",
               "tls_1_1_cipher_suites": "TLSv1.1", "tls_1_2_cipher_suites": "TLSv1.2",
               "tls_1_3_cipher_suites": "TLSv1.3"}


def venv_tool(name: str, packages: list[str], tool: str) -> str:
    venv = os.path.join(ROOT, name)
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                    *packages], check=True)
    return os.path.join(venv, "bin", tool)


def connections_logged(log: str, syslog_name: str) -> int:
    pattern = re.compile(rf"{re.escape(syslog_name)}/smtpd\[\d+\]: connect from ")
    with open(log, errors="replace") as handle:
        return sum(1 for line in handle if pattern.search(line))


def settled_count(log: str, syslog_name: str) -> int:
    """The count once Postfix's logger has caught up (no change for 0.5 s)."""
    last, stable_since = -1, time.monotonic()
    while True:
        count = connections_logged(log, syslog_name)
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since >= 0.5:
            return count
        time.sleep(0.1)


def timed(command: list[str], log: str, syslog_name: str) -> tuple[float, int, subprocess.CompletedProcess]:
    before = settled_count(log, syslog_name)
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    return elapsed, settled_count(log, syslog_name) - before, completed


def inspector_sets(document: dict) -> dict[str, set[str]]:
    return {v["version"]: {s["iana_name"] for s in v["suites"]} for v in document["versions"]}


def sslyze_sets(path: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(accepted, tested) IANA names per version from sslyze's JSON output."""
    with open(path) as handle:
        document = json.load(handle)
    result = document["server_scan_results"][0]["scan_result"]
    accepted_sets, tested_sets = {}, {}
    for key, version in SSLYZE_KEYS.items():
        attempt = (result.get(key) or {}).get("result") or {}
        accepted = {e["cipher_suite"]["name"] for e in attempt.get("accepted_cipher_suites") or []}
        rejected = {e["cipher_suite"]["name"] for e in attempt.get("rejected_cipher_suites") or []}
        accepted_sets[version], tested_sets[version] = accepted, accepted | rejected
    return accepted_sets, tested_sets


def inspector_checks(document: dict) -> dict[str, bool]:
    checks = document["checks"] or {}
    states = {name: value["state"] in ("yes", "vulnerable") for name, value in checks.items()}
    return {name: states[name] for name in CHECKS if name in states}


#: check -> how to read sslyze's JSON answer to it.
CHECKS = {
    "secure_renegotiation": lambda r: r["session_renegotiation"]["supports_secure_renegotiation"],
    "client_renegotiation": lambda r: r["session_renegotiation"]["is_vulnerable_to_client_renegotiation_dos"],
    "fallback_scsv": lambda r: r["tls_fallback_scsv"]["supports_fallback_scsv"],
    "heartbleed": lambda r: r["heartbleed"]["is_vulnerable_to_heartbleed"],
    "ccs_injection": lambda r: r["openssl_ccs_injection"]["is_vulnerable_to_ccs_injection"],
    "robot": lambda r: r["robot"]["robot_result"].startswith("VULNERABLE"),
    "compression": lambda r: r["tls_compression"]["supports_compression"],
    "resumption_session_id":
        lambda r: r["session_resumption"]["session_id_resumption_result"] == "FULLY_SUPPORTED",
    "resumption_ticket":
        lambda r: r["session_resumption"]["tls_ticket_resumption_result"] == "FULLY_SUPPORTED",
    "ocsp_stapling":
        lambda r: r["certificate_info"]["certificate_deployments"][0]["ocsp_response"] is not None,
}


def sslyze_checks(path: str) -> dict[str, bool]:
    with open(path) as handle:
        scan = json.load(handle)["server_scan_results"][0]["scan_result"]
    results = {name: value["result"] for name, value in scan.items() if value and value.get("result")}
    out = {}
    for name, read in CHECKS.items():
        try:
            out[name] = bool(read(results))
        except (KeyError, TypeError, IndexError):
            pass
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:10025")
    parser.add_argument("--syslog-name", default="postfix-lab/bench",
                        help="Postfix syslog_name of the target listener (to count its connections)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--inspector", help="smtp-inspector executable (default: fresh .venv-bench)")
    parser.add_argument("--sslyze", help="sslyze executable (default: fresh .venv-sslyze from PyPI)")
    args = parser.parse_args()
    if not args.target.startswith("127."):
        raise SystemExit("benchmarks only run against loopback targets")
    with open(LAB_JSON) as handle:
        lab = json.load(handle)
    log = lab.get("log") or os.path.join(STATE, "postfix.log")

    inspector = args.inspector or venv_tool(".venv-bench", [ROOT], "smtp-inspector")
    sslyze = args.sslyze or venv_tool(".venv-sslyze", ["sslyze"], "sslyze")
    audit = [inspector, "tls", args.target, "--servername", lab["servername"], "--cafile", lab["cafile"],
             "--json"]
    out = os.path.join(tempfile.mkdtemp(prefix="tls-bench-"), "sslyze.json")
    scan = [sslyze, "--starttls", "smtp", "--sni", lab["servername"], "--quiet", "--json_out", out,
            *SSLYZE_COMMANDS, args.target]

    times = {"inspector": [], "sslyze": []}
    counts = {"inspector": [], "sslyze": []}
    sets_equal, equal_within, untested, checks_equal = [], [], set(), []
    for _ in range(args.runs):
        elapsed, count, completed = timed(audit, log, args.syslog_name)
        if completed.returncode not in (0, 1):
            raise SystemExit(f"smtp-inspector exited {completed.returncode}: {completed.stdout[-300:]}")
        document = json.loads(completed.stdout)
        ours = inspector_sets(document)
        our_checks = inspector_checks(document)
        times["inspector"].append(elapsed)
        counts["inspector"].append(count)
        elapsed, count, completed = timed(scan, log, args.syslog_name)
        if completed.returncode not in (0, 1) or not os.path.exists(out):  # 1: "not compliant"
            raise SystemExit(f"sslyze exited {completed.returncode}: {completed.stderr[-300:]}")
        theirs, tested = sslyze_sets(out)
        their_checks = sslyze_checks(out)
        differing = {name: (our_checks.get(name), value) for name, value in their_checks.items()
                     if our_checks.get(name) != value}
        checks_equal.append(not differing)
        if differing:
            print("checks differ (ours, sslyze):", differing)
        times["sslyze"].append(elapsed)
        counts["sslyze"].append(count)
        differences = {v: (sorted(ours.get(v, set()) - theirs[v]), sorted(theirs[v] - ours.get(v, set())))
                       for v in theirs if ours.get(v, set()) != theirs[v]}
        sets_equal.append(not differences)
        # Suites sslyze never tries (its OpenSSL builds lack them) cannot be in its accepted set.
        comparable = {v: ours.get(v, set()) & tested[v] for v in theirs}
        within = {v: (sorted(comparable[v] - theirs[v]), sorted(theirs[v] - comparable[v]))
                  for v in theirs if comparable[v] != theirs[v]}
        equal_within.append(not within)
        untested.update(f"{v} {name}" for v in theirs for name in ours.get(v, set()) - tested[v])
        if within:
            print("accepted sets differ on suites both tools test (ours-only, sslyze-only):", within)

    median = {tool: statistics.median(values) for tool, values in times.items()}
    connections = {tool: statistics.median(values) for tool, values in counts.items()}
    print(f"runs: {args.runs} alternating, target {args.target}")
    for tool in ("inspector", "sslyze"):
        print(f"{tool:9s} wall median {median[tool]:6.2f} s (min {min(times[tool]):.2f}, "
              f"max {max(times[tool]):.2f})  connections median {connections[tool]:.0f} "
              f"(min {min(counts[tool])}, max {max(counts[tool])})")
    time_ratio = median["inspector"] / median["sslyze"]
    conn_ratio = connections["inspector"] / connections["sslyze"]
    print(f"wall-time ratio inspector/sslyze: {time_ratio:.2f}  goal <= 0.5  "
          f"{'OK' if time_ratio <= 0.5 else 'MISSED'}")
    print(f"connection ratio inspector/sslyze: {conn_ratio:.3f}  goal <= 0.3  "
          f"{'OK' if conn_ratio <= 0.3 else 'MISSED'}")
    print(f"check answers identical ({', '.join(CHECKS)}): {all(checks_equal)} "
          f"({sum(checks_equal)}/{len(checks_equal)} runs)")
    print(f"accepted-suite sets identical: {all(sets_equal)} ({sum(sets_equal)}/{len(sets_equal)} runs)")
    print(f"identical on the suites sslyze tests: {all(equal_within)} "
          f"({sum(equal_within)}/{len(equal_within)} runs)")
    if untested:
        print("accepted suites sslyze never offers (found only by smtp-inspector): "
              + ", ".join(sorted(untested)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
