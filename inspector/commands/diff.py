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
    parser.add_argument("--by-vantage", nargs="*", metavar="NAME",
                        help="compare the same targets seen from two vantage points (scan --vantage): "
                             "the newest row of each target from each, over the scans of NEW's target "
                             "list (default: the latest scan's); name the two vantages, or leave it "
                             "when there are exactly two")
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
    if args.by_vantage is not None:
        (old, new), changes = _by_vantage(storage, args)
    else:
        older, newer = _pair(storage, args.old, args.new)
        changes = compare.diff(storage.rows(older.id), storage.rows(newer.id))
        old, new = older.id, newer.id
    storage.close()
    if args.json:
        import json

        extra = {"by_vantage": True} if args.by_vantage is not None else {}
        print(json.dumps({"schema": "smtp-inspector/scan-diff/1",
                          "old": old, "new": new, **extra, "changes": changes}, indent=2))
    else:
        from ..render.scan_output import diff_csv, diff_text

        label = "vantage" if args.by_vantage is not None else "scan"
        print(diff_csv(changes) if args.csv else diff_text(old, new, changes, label=label))
    return 1 if changes else 0


def _by_vantage(storage, args):
    """The newest row per target from each of two vantages: "added" is seen only from the second."""
    from ..scan import compare

    scan_id = args.new or args.old
    info = storage.scan(scan_id) if scan_id else (storage.scans() or [None])[-1]
    if info is None:
        raise UsageError(f"no scan {scan_id} in the database" if scan_id else "no scans in the database")
    seen = storage.rows_by_vantage(info.target_list)
    names = args.by_vantage or sorted(seen)
    if len(names) != 2:
        raise UsageError(f"--by-vantage compares two vantages; scans of this target list have "
                         f"{', '.join(sorted(seen)) or 'none'}: name two")
    missing = [n for n in names if n not in seen]
    if missing:
        raise UsageError(f"no results from vantage {missing[0]!r} for this target list "
                         f"(there are: {', '.join(sorted(seen)) or 'none'})")
    first, second = names
    return (first, second), compare.diff(seen[first].values(), seen[second].values())
