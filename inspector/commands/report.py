"""``smtp-inspector report SCAN_ID``: a scan's totals."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from . import SUMMARIES
from .common import add_html_option, ascii_int, write_html
from .history import add_db_argument

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["report"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, (2, "bad arguments, scan id or database"), 3)


def register(sub) -> None:
    parser = sub.add_parser("report", help=SUMMARY, description=SUMMARY + ".",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scan_id", nargs="?", type=ascii_int, metavar="SCAN_ID",
                        help="default: the latest scan")
    add_db_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_html_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..scan import compare
    from ..scan.storage import open_storage

    storage = open_storage(args.db)
    scan_id = args.scan_id
    if scan_id is None:
        scans = storage.scans()
        if not scans:
            raise UsageError("no scan in the database")
        scan_id = scans[-1].id
    info = storage.scan(scan_id)
    if info is None:
        raise UsageError(f"no scan {scan_id} in the database")
    totals = compare.report(info, storage.iter_rows(scan_id), storage.finding_counts(scan_id))
    storage.close()
    write_html(args, "scan-report", lambda: totals)
    if args.json:
        import json

        print(json.dumps(totals, indent=2))
    else:
        from ..render.scan_output import report_text

        print(report_text(totals))
    return 0
