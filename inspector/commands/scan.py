"""``smtp-inspector scan``: the probe's checks over many servers, politely, stored in a database."""

from __future__ import annotations

import argparse
import sys

from ..errors import ClusterError, UsageError
from . import SUMMARIES
from .common import check_ehlo_name, input_file, positive_seconds

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["scan"]

#: The exit codes this command can end with (its --help lists these), in scan's words.
EXIT_CODES = (
    (0, 'every target stored, none with a finding of severity "error"'),
    (1, 'every target stored, some with a finding of severity "error"'),
    (2, "bad arguments, target or exclusion file, database, or a --source-address not of this machine"),
    3,
    (5, "incomplete: the scan's deadline passed, or a cluster partition failed (--resume SCAN_ID)"),
    (22, "--cluster: the Dask scheduler cannot be reached (nothing started) or was lost (rows kept)"),
    (130, "interrupted by Ctrl-C; every finished target is stored (--resume SCAN_ID)"),
)


def _positive_int(text: str) -> int:
    from .common import is_number

    if not is_number(text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected connections per second, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("--rate must be 0 (no limit) or more")
    return value


def register(sub) -> None:
    scan = sub.add_parser(
        "scan", help=SUMMARY,
        description="Run the probe's session checks (greeting, EHLO, STARTTLS, certificate and trust, "
                    "negotiated TLS; DANE TLSA and MTA-STS for mail domains) against every target, "
                    "many at once but at most one connection per server address, and store each "
                    "result in a database (SQLite by default, or PostgreSQL).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    scan.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                      help="targets, one a line: HOST:PORT, an IP address (port 25) or a mail domain "
                           "(its MX hosts on 25); '#' starts a comment (default: stdin)")
    scan.add_argument("--checks", choices=("quick", "full"), default="quick",
                      help="quick: one session per server (default); full: also the TLS audit")
    scan.add_argument("--submission", action="store_true",
                      help="for mail domains, also the submission servers discover would try")
    scan.add_argument("--db", metavar="FILE|URL", help="SQLite file or postgresql://... (default: "
                      "$XDG_DATA_HOME/smtp-inspector/scans.sqlite3)")
    scan.add_argument("--resume", type=_positive_int, metavar="SCAN_ID",
                      help="continue an interrupted scan: its targets and options, only those not stored")
    scan.add_argument("--concurrency", type=_positive_int, default=32, metavar="N",
                      help="sessions at once (default 32)")
    scan.add_argument("--per-address", type=_positive_int, default=1, metavar="N",
                      help="connections at once to one server address (default 1)")
    scan.add_argument("--per-network", type=_positive_int, default=8, metavar="N",
                      help="connections at once to one /24 (IPv4) or /48 (IPv6) (default 8)")
    scan.add_argument("--rate", type=_rate, default=50.0, metavar="PER_S",
                      help="new connections per second over the whole scan (default 50; 0: no limit)")
    scan.add_argument("--retries", type=int, default=3, metavar="N",
                      help="tries after a 421, refused or dropped connection, with backoff (default 3)")
    scan.add_argument("--exclude", metavar="FILE",
                      help="never contact these: CIDRs and domains, one a line (checked before any packet)")
    scan.add_argument("--ehlo", metavar="NAME",
                      help="EHLO name: a name whose reverse DNS and web page say who is scanning")
    scan.add_argument("--source-address", metavar="ADDR",
                      help="connect from this address of this machine (one whose reverse DNS names the "
                           "scanner; targets of the other IP family are stored as unreachable)")
    scan.add_argument("--timeout", type=positive_seconds, default=10.0, metavar="S",
                      help="per-step timeout (default 10)")
    scan.add_argument("--target-deadline", type=positive_seconds, default=120.0, metavar="S",
                      help="deadline for one target, waiting included (default 120)")
    scan.add_argument("--deadline", type=positive_seconds, metavar="S",
                      help="deadline for the whole scan (default: none)")
    scan.add_argument("--cafile", metavar="PATH", help="trust only these CA certificates (PEM)")
    scan.add_argument("--dns-server", metavar="IP[:PORT]",
                      help="DNS server for MX, TLSA, MTA-STS and names (default: the system's)")
    scan.add_argument("--cluster", metavar="tcp://HOST:PORT|local:N",
                      help="run on a Dask distributed cluster (pip install 'smtp-inspector[cluster]'): "
                           "a scheduler's address, or local:N worker processes on this machine")
    scan.add_argument("--partition-size", type=_positive_int, default=200, metavar="N",
                      help="--cluster: targets per task (default 200; servers are never split)")
    scan.add_argument("--vantage", metavar="NAME",
                      help="label results with the network they were seen from; with --cluster, run "
                           "only on workers started with --preload inspector.scan.vantage --vantage NAME")
    scan.add_argument("--json", action="store_true", help="print the summary as JSON")
    scan.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="progress bar on stderr (default: when stderr is a terminal)")
    scan.add_argument("-v", "--verbose", action="store_true", help="tracebacks for internal errors")
    scan.set_defaults(handler=run)


#: The options a scan stores with itself, so --resume continues with the same ones.
STORED_OPTIONS = ("checks", "submission", "concurrency", "per_address", "per_network", "rate", "retries",
                  "exclude_lines", "ehlo", "timeout", "target_deadline", "cafile", "dns_server", "vantage",
                  "source_address")


def _read_lines(path: str, what: str) -> list[str]:
    if path == "-":
        return sys.stdin.read().splitlines()
    input_file(path, what)   # a directory or a FIFO is refused before open() could wait on it
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} {path!r}: {getattr(exc, 'strerror', None) or exc}") from None


def _stored_arguments(args) -> dict:
    stored = {name: getattr(args, name, None) for name in STORED_OPTIONS}
    stored["exclude_lines"] = _read_lines(args.exclude, "--exclude file") if args.exclude else []
    return stored


def _checked(lines: list[str], stored: dict) -> list:
    """The targets; a bad target or exclusion line, or an unreadable --cafile, is a usage error."""
    from ..scan.targets import Exclusions, read_targets

    targets = read_targets(lines)
    Exclusions.parse(stored["exclude_lines"])
    if stored.get("source_address"):   # an address this machine lacks: exit 2 before any packet
        from ..net.source import check_source_address
        check_source_address(stored["source_address"])
    if stored.get("cafile"):
        from ..certs import load_trust_anchors
        load_trust_anchors(input_file(stored["cafile"], "--cafile"))
    return targets


def run(args) -> int:
    from ..scan.storage import open_storage

    if args.ehlo:
        check_ehlo_name(args.ehlo)
    stored, targets = None, None
    if not args.resume:   # bad input is found before the database is opened (or created)
        stored = _stored_arguments(args)
        targets = _checked(_read_lines(args.file, "target file"), stored)
    storage = open_storage(args.db)
    client = None
    if args.cluster:   # before anything is stored: an unreachable scheduler leaves no empty scan
        from ..scan.cluster import connect

        client = connect(args.cluster)
    try:
        return _run(args, storage, client, stored, targets)
    finally:
        if client is not None:
            from ..scan.cluster import close

            close(client)


def _run(args, storage, client, stored, targets) -> int:
    """The scan itself; ``stored`` and ``targets`` are None with --resume (read from the database)."""
    from .. import __version__

    if args.resume:
        info = storage.scan(args.resume)
        if info is None:
            raise UsageError(f"no scan {args.resume} in the database")
        stored = info.arguments
        targets = _checked(stored["targets"], stored)
        scan_id = info.id
        storage.set_status(scan_id, "running")
    if client is not None and stored.get("vantage"):
        from ..scan.cluster import vantage_workers

        vantage_workers(client, stored["vantage"])   # none with that vantage: refused before a scan exists
    if not args.resume:
        scan_id = storage.create_scan(stored, [t.text for t in targets], __version__)
    done = storage.done_targets(scan_id)
    todo = [t for t in targets if t.text not in done]
    print(f"scan {scan_id}: {len(todo)} targets to scan" + (f" ({len(done)} already stored)" if done else ""),
          file=sys.stderr)
    lost = None
    try:
        summary = _scan(storage, scan_id, todo, stored, args, client)
    except ClusterError as exc:
        if getattr(exc, "summary", None) is None:
            raise
        lost, summary = exc, exc.summary   # the scheduler was lost mid-scan: what arrived is stored
    for failure in summary.failures:
        print(f"partition failed: {failure}", file=sys.stderr)
    statuses: dict[str, int] = {}
    errors = 0
    for row in storage.iter_rows(scan_id):   # one row at a time: a scan may hold millions
        statuses[row.status] = statuses.get(row.status, 0) + 1
        errors += any(f["severity"] == "error" for f in row.result.get("findings", []))
    summary.stored, summary.total = sum(statuses.values()), len(targets)
    status = ("interrupted" if summary.interrupted or lost else
              "deadline" if summary.deadline_reached else "finished")
    storage.set_status(scan_id, status)
    findings = dict(storage.finding_counts(scan_id))
    storage.close()
    _print_summary(scan_id, summary, status, statuses, errors, findings, args)
    from ..exitcodes import ExitCode

    if lost is not None:
        raise lost
    if summary.interrupted:
        return int(ExitCode.INTERRUPTED)
    if summary.deadline_reached:
        return int(ExitCode.INCOMPLETE)
    return int(ExitCode.FINDINGS if errors else ExitCode.OK)


def _scan(storage, scan_id, todo, stored, args, client):
    from ..discover.dns import parse_dns_server
    from ..scan.plan import CheckOptions
    from ..scan.politeness import Politeness
    from ..scan.progress import Progress
    from ..scan.runner import run_scan
    from ..scan.targets import Exclusions

    dns_server = parse_dns_server(stored["dns_server"]) if stored["dns_server"] else None
    options = CheckOptions(checks=stored["checks"], submission=stored["submission"],
                           timeout=stored["timeout"], session_deadline=min(60.0, stored["target_deadline"]),
                           target_deadline=stored["target_deadline"], ehlo_name=stored["ehlo"],
                           cafile=stored["cafile"], dns_server=dns_server, retries=stored["retries"],
                           source_address=stored.get("source_address"))
    politeness = Politeness(per_address=stored["per_address"], per_network=stored["per_network"],
                            rate=stored["rate"] or None)
    progress = Progress(enabled=args.progress)
    import signal

    def terminated(signum, frame):   # SIGTERM stops like Ctrl-C: finished targets are stored
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    vantage = stored.get("vantage")
    try:
        if client is not None:
            from ..scan.cluster import run_cluster_scan

            db_url = args.db if storage.dialect == "postgresql" else None
            return run_cluster_scan(client, todo, storage=storage, db_url=db_url, scan_id=scan_id,
                                    options=options, stored=stored, scan_deadline=args.deadline,
                                    partition_size=args.partition_size, vantage=vantage, progress=progress)
        return run_scan(todo, storage=storage, scan_id=scan_id, options=options,
                        exclusions=Exclusions.parse(stored["exclude_lines"]), politeness=politeness,
                        concurrency=stored["concurrency"], scan_deadline=args.deadline, progress=progress,
                        vantage=vantage)
    finally:
        progress.close()


def _print_summary(scan_id, summary, status, statuses, errors, findings, args) -> None:
    statuses = dict(sorted(statuses.items()))
    if args.json:
        import json

        print(json.dumps({"schema": "smtp-inspector/scan-summary/1",
                          "scan_id": scan_id, "status": status, "targets": summary.total,
                          "stored": summary.stored, "statuses": statuses, "targets_with_errors": errors,
                          "findings": findings, "connections": summary.connections,
                          **({"cluster": summary.cluster} if summary.cluster else {}),
                          "elapsed_s": round(summary.elapsed, 3)},
                         indent=2))
        return
    counts = ", ".join(f"{n} {s}" for s, n in statuses.items()) or "none new"
    rate = summary.new / summary.elapsed if summary.elapsed > 0 else 0.0
    print(f"scan {scan_id} {status}: {summary.stored}/{summary.total} targets stored ({counts}); "
          f"{errors} with errors; {summary.connections} connections in {summary.elapsed:.1f} s "
          f"({rate:.1f} targets/s)")
    if status != "finished":
        print(f"continue with: smtp-inspector scan --resume {scan_id}" +
              (f" --db {args.db}" if args.db else ""), file=sys.stderr)
