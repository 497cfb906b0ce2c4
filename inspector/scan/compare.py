"""Reading scans back: one target's history, what changed between two scans, a scan's totals.

Pure functions over :class:`~inspector.scan.storage.Row` values; the
commands (``history``, ``diff``, ``report``) fetch the rows and render.
"""

from __future__ import annotations

import datetime
from collections import Counter

#: The columns a diff compares, in the order it lists changes.
COMPARED = ("status", "host", "address", "starttls", "tls_version", "trusted", "not_after", "dane",
            "mta_sts")
EXPIRY_WINDOWS = (14, 30)
TOP_FINDINGS = 10


def row_line(row) -> dict:
    """What one row says, in the words history and diff use."""
    return {"status": row.status, "host": row.host, "address": row.address, "port": row.port,
            "starttls": row.starttls, "tls_version": row.tls_version, "trusted": row.trusted,
            "not_after": row.not_after, "dane": row.dane, "mta_sts": row.mta_sts,
            "findings": list(row.finding_ids)}


def history(entries) -> list[dict]:
    """One entry per scan that stored the target, oldest first."""
    return [dict(scan_id=info.id, scan_started_at=info.started_at, finished_at=row.finished_at,
                 **row_line(row)) for info, row in entries]


def diff(old_rows, new_rows) -> list[dict]:
    """Per target, what changed: added/removed targets, changed columns, findings gained and lost."""
    old = {r.target: r for r in old_rows}
    new = {r.target: r for r in new_rows}
    changes = []
    for target in sorted(set(old) | set(new)):
        before, after = old.get(target), new.get(target)
        if before is None or after is None:
            changes.append({"target": target, "change": "added" if before is None else "removed",
                            "fields": {}, "findings_gained": [], "findings_lost": []})
            continue
        fields = {name: {"old": getattr(before, name), "new": getattr(after, name)}
                  for name in COMPARED if getattr(before, name) != getattr(after, name)}
        gained = sorted(set(after.finding_ids) - set(before.finding_ids))
        lost = sorted(set(before.finding_ids) - set(after.finding_ids))
        if fields or gained or lost:
            changes.append({"target": target, "change": "changed", "fields": fields,
                            "findings_gained": gained, "findings_lost": lost})
    return changes


def report(info, rows, finding_counts, *, now: datetime.datetime | None = None) -> dict:
    """A scan's totals: STARTTLS, valid certificates, TLS 1.3, DANE, MTA-STS, expiry, common findings."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    done = [r for r in rows if r.status == "done"]
    expiring = {}
    for days in EXPIRY_WINDOWS:
        limit = now + datetime.timedelta(days=days)
        expiring[f"within_{days}_days"] = sum(1 for r in done
                                              if r.not_after and _moment(r.not_after) <= limit)
    return {
        "schema": "smtp-inspector/scan-report/1",
        "scan": {"id": info.id, "started_at": info.started_at, "ended_at": info.ended_at,
                 "status": info.status, "tool_version": info.tool_version,
                 "targets": len(info.arguments.get("targets", []))},
        "stored": len(rows),
        "statuses": dict(sorted(Counter(r.status for r in rows).items())),
        "starttls": sum(1 for r in done if r.starttls),
        "valid_certificates": sum(1 for r in done if r.trusted),
        "tls_versions": dict(sorted(Counter(r.tls_version for r in done if r.tls_version).items())),
        "tls13": sum(1 for r in done if r.tls_version == "TLSv1.3"),
        "dane": sum(1 for r in rows if r.dane),
        "mta_sts": dict(sorted(Counter(r.mta_sts for r in rows if r.mta_sts).items())),
        "expiring": expiring,
        "expired": sum(1 for r in done if r.not_after and _moment(r.not_after) <= now),
        "top_findings": [{"id": i, "targets": n} for i, n in finding_counts[:TOP_FINDINGS]],
    }


def _moment(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def yes_no(value) -> str:
    return "-" if value is None else ("yes" if value else "no")
