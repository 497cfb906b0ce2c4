"""``smtp-inspector history TARGET``: one line per stored scan of a target, what it found then."""

from __future__ import annotations

import argparse

from . import SUMMARIES

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["history"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, (2, "bad arguments, target or database"), 3)


def add_db_argument(parser) -> None:
    parser.add_argument("--db", metavar="FILE|URL", help="SQLite file or postgresql://... (default: "
                        "$XDG_DATA_HOME/smtp-inspector/scans.sqlite3)")


def register(sub) -> None:
    parser = sub.add_parser("history", help=SUMMARY, description=SUMMARY + ".",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", metavar="TARGET", help="as in the target file: HOST:PORT or a mail domain")
    add_db_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the history as JSON")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..scan import compare
    from ..scan.storage import open_storage
    from ..scan.targets import parse_target_line

    target = parse_target_line(args.target)
    storage = open_storage(args.db)
    entries = compare.history(storage.history(target.text))
    storage.close()
    if args.json:
        import json

        print(json.dumps({"schema": "smtp-inspector/scan-history/1",
                          "target": target.text, "scans": entries}, indent=2))
    else:
        from ..render.scan_output import history_text

        print(history_text(target.text, entries))
    return 0
