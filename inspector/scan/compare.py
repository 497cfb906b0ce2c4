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
    """A scan's totals: STARTTLS, valid certificates, TLS 1.3, DANE, MTA-STS, expiry, common findings.

    One pass over ``rows`` (any iterable: the command streams them from the database).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    limits = {f"within_{days}_days": now + datetime.timedelta(days=days) for days in EXPIRY_WINDOWS}
    statuses, versions, sts = Counter(), Counter(), Counter()
    totals = Counter()
    expiring = dict.fromkeys(limits, 0)
    for r in rows:
        statuses[r.status] += 1
        totals["dane"] += bool(r.dane)
        if r.mta_sts:
            sts[r.mta_sts] += 1
        if r.status != "done":
            continue
        totals["starttls"] += bool(r.starttls)
        totals["valid"] += bool(r.trusted)
        if r.tls_version:
            versions[r.tls_version] += 1
        if r.not_after:
            moment = _moment(r.not_after)
            totals["expired"] += moment <= now
            for key, limit in limits.items():
                expiring[key] += moment <= limit
    return {
        "schema": "smtp-inspector/scan-report/1",
        "scan": {"id": info.id, "started_at": info.started_at, "ended_at": info.ended_at,
                 "status": info.status, "tool_version": info.tool_version,
                 "targets": len(info.arguments.get("targets", []))},
        "stored": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "starttls": totals["starttls"],
        "valid_certificates": totals["valid"],
        "tls_versions": dict(sorted(versions.items())),
        "tls13": versions["TLSv1.3"],
        "dane": totals["dane"],
        "mta_sts": dict(sorted(sts.items())),
        "expiring": expiring,
        "expired": totals["expired"],
        "top_findings": [{"id": i, "targets": n} for i, n in finding_counts[:TOP_FINDINGS]],
    }


def _moment(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def yes_no(value) -> str:
    return "-" if value is None else ("yes" if value else "no")
