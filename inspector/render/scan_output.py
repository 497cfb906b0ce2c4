"""Text and CSV for ``history``, ``diff`` and ``report`` (JSON is the dicts of inspector/scan/compare.py)."""

from __future__ import annotations

import csv
import io
import json

from ..scan.compare import yes_no
from .untrusted import shown
from .untrusted import table as simple_table  # every cell escaped for the terminal


def _show(value) -> str:
    if isinstance(value, bool) or value is None:
        return yes_no(value)
    return str(value)


def history_text(target: str, entries: list[dict]) -> str:
    target = shown(target)
    if not entries:
        return f"{target}: in no stored scan"
    rows = [[e["scan_id"], e["finished_at"][:19], e["status"], _show(e["address"]), _show(e["starttls"]),
             _show(e["tls_version"]), _show(e["trusted"]), (e["not_after"] or "-")[:10],
             " ".join(e["findings"]) or "-"] for e in entries]
    return f"{target}\n" + simple_table(rows, ["scan", "when", "status", "address", "starttls", "tls",
                                                "trusted", "expires", "findings"])


def diff_text(old_id, new_id, changes: list[dict], *, label: str = "scan") -> str:
    head = f"{label} {old_id} -> {label} {new_id}: {len(changes)} target(s) changed"
    if not changes:
        return head
    rows = []
    for c in changes:
        if c["change"] != "changed":
            rows.append([c["target"], c["change"], "", ""])
            continue
        for name, values in c["fields"].items():
            rows.append([c["target"], name, _show(values["old"]), _show(values["new"])])
        if c["findings_gained"]:
            rows.append([c["target"], "findings gained", "", " ".join(c["findings_gained"])])
        if c["findings_lost"]:
            rows.append([c["target"], "findings lost", " ".join(c["findings_lost"]), ""])
    return head + "\n" + simple_table(rows, ["target", "what", "old", "new"])


def diff_csv(changes: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["target", "change", "field", "old", "new"])
    for c in changes:
        if c["change"] != "changed":
            writer.writerow([c["target"], c["change"], "", "", ""])
        for name, values in c["fields"].items():
            writer.writerow([c["target"], "changed", name, _csv(values["old"]), _csv(values["new"])])
        for finding in c["findings_gained"]:
            writer.writerow([c["target"], "changed", "finding", "", finding])
        for finding in c["findings_lost"]:
            writer.writerow([c["target"], "changed", "finding", finding, ""])
    return out.getvalue().rstrip("\n")


def _csv(value) -> str:
    return "" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)


def report_rows(report: dict) -> list[list]:
    """The totals as (what, targets, share): the text table's rows and the --html table's."""
    done = report["statuses"].get("done", 0)
    rows = [["offer STARTTLS", report["starttls"], done],
            ["valid certificate (trusted, right name)", report["valid_certificates"], done],
            ["negotiated TLS 1.3", report["tls13"], done],
            ["DANE TLSA matched", report["dane"], report["stored"]],
            ["MTA-STS policy", sum(report["mta_sts"].values()), report["stored"]],
            ["certificate expired", report["expired"], done]]
    rows += [[f"certificate expires within {key.split('_')[1]} days", n, done]
             for key, n in report["expiring"].items()]
    return [[what, n, f"{100 * n / total:.0f}%" if total else "-"] for what, n, total in rows]


def report_text(report: dict) -> str:
    scan = report["scan"]
    lines = [f"scan {scan['id']} ({scan['status']}, started {scan['started_at'][:19]}, "
             f"smtp-inspector {scan['tool_version']}): "
             f"{report['stored']} of {scan['targets']} targets stored",
             "statuses: " + (", ".join(f"{n} {s}" for s, n in report["statuses"].items()) or "none")]
    lines.append(simple_table(report_rows(report), ["", "targets", "share"]))
    if report["tls_versions"]:
        lines.append("TLS versions: " + ", ".join(f"{v} {n}" for v, n in report["tls_versions"].items()))
    if report["top_findings"]:
        lines.append("most common findings:")
        lines.append(simple_table([[f["id"], f["targets"]] for f in report["top_findings"]],
                                  ["finding", "targets"]))
    return "\n".join(lines)
