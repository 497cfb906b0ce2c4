"""``smtp-inspector diff [OLD] [NEW]``: per target, what changed between two scans."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from . import SUMMARIES
from .common import ascii_int
from .history import add_db_argument

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["diff"]

#: The exit codes this command can end with (its --help lists these), in diff's words.
EXIT_CODES = ((0, "nothing changed"), (1, "something changed"), (2, "bad arguments, scan ids or database"),
              3)


def register(sub) -> None:
    parser = sub.add_parser(
        "diff", help=SUMMARY,
        description=SUMMARY + ": targets added or removed, changed columns (address, STARTTLS, TLS "
                              "version, trust, expiry, DANE, MTA-STS), findings gained and lost.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", nargs="?", type=ascii_int, metavar="OLD",
                        help="older scan id (default: the scan before NEW with the same target list)")
    parser.add_argument("new", nargs="?", type=ascii_int, metavar="NEW",
                        help="newer scan id (default: the latest)")
    add_db_argument(parser)
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the changes as JSON")
    form.add_argument("--csv", action="store_true", help="print the changes as CSV")
    parser.set_defaults(handler=run)


def _pair(storage, old: int | None, new: int | None):
    if old is not None and new is None:
        new, old = old, None   # one id: compare it with the scan before it
    if new is None:
        pair = storage.latest_pair()
        if pair is None:
            raise UsageError("no two scans of the same target list in the database; name OLD and NEW")
        return pair
    newer = storage.scan(new)
    if newer is None:
        raise UsageError(f"no scan {new} in the database")
    if old is None:
        older = [s for s in storage.scans() if s.target_list == newer.target_list and s.id < newer.id]
        if not older:
            raise UsageError(f"no earlier scan of scan {new}'s target list; name OLD")
        return older[-1], newer
    older = storage.scan(old)
    if older is None:
        raise UsageError(f"no scan {old} in the database")
    return older, newer


def run(args) -> int:
    from ..scan import compare
    from ..scan.storage import open_storage

    storage = open_storage(args.db)
    older, newer = _pair(storage, args.old, args.new)
    changes = compare.diff(storage.rows(older.id), storage.rows(newer.id))
    storage.close()
    if args.json:
        import json

        print(json.dumps({"schema": "smtp-inspector/scan-diff/1",
                          "old": older.id, "new": newer.id, "changes": changes}, indent=2))
    else:
        from ..render.scan_output import diff_csv, diff_text

        print(diff_csv(changes) if args.csv else diff_text(older.id, newer.id, changes))
    return 1 if changes else 0
