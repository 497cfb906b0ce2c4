"""Each command's JSON document → the template context (the page's sections)."""

from __future__ import annotations

from . import ladder, session_view
from .chain import chain_view
from .tls_matrix import matrix

TEMPLATE = {"probe": "session", "demo": "session", "send": "session", "tls": "tls",
            "replay": "replay", "discover": "discover", "auth-table": "auth_table",
            "scan-report": "scan_report"}

COMMAND_TITLE = {"probe": "probe", "demo": "demo", "send": "send", "tls": "TLS audit",
                 "replay": "replay", "discover": "discover", "auth-table": "probe --auth all",
                 "scan-report": "scan report"}


def context(kind: str, doc: dict) -> dict:
    geo = {name: getattr(ladder, name) for name in ("WIDTH", "TIME_X", "CLIENT_X", "SERVER_X", "NOTE_X",
                                                    "NOTE_W", "LINE_H", "SUB_H", "PAD")}
    base = {"kind": kind, "doc": doc, "command": COMMAND_TITLE[kind], "geo": geo}
    if kind in ("probe", "demo", "send"):
        base.update(_session_context(kind, doc))
    elif kind == "tls":
        base.update(_tls_context(doc))
    elif kind == "replay":
        base.update(_replay_context(doc))
    elif kind == "auth-table":
        base.update(_auth_table_context(doc))
    elif kind == "scan-report":
        base.update(_scan_report_context(doc))
    else:
        base.update(_discover_context(doc))
    return base


def _scan_report_context(doc: dict) -> dict:
    """``report SCAN_ID --html``: the totals table of the text report, from its JSON document."""
    from ..scan_output import report_rows

    return {"title": f"smtp-inspector report {doc['scan']['id']}", "totals": report_rows(doc)}


def _target(target: dict) -> str:
    host = target.get("host", "")
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{target.get('port')}"


def _auth_table_context(doc: dict) -> dict:
    """``probe --auth all``: the mechanism table, then the discovery session and one per mechanism."""
    sessions = []
    for number, (label, probe) in enumerate([("discovery", doc["discovery"]),
                                              *((f"AUTH {p['auth']['mechanism'] or p['auth']['requested']}"
                                                 if p.get("auth") else "probe", p) for p in doc["probes"])],
                                             start=1):
        view = _session_context("probe", probe, key=f"s{number}")["sessions"][0]
        view.title = f"{label}: {view.title}"
        sessions.append(view)
    return {"title": f"smtp-inspector probe {_target(doc['target'])} --auth all as {doc['user']}",
            "sessions": sessions}


def _session_context(kind: str, doc: dict, key: str = "s1") -> dict:
    teaching = None
    if kind == "demo":
        from ..teaching import STEP_NOTES
        teaching = STEP_NOTES
    target = _target(doc["target"])
    end = f"end of session: exit code {doc['exit_code']}" + (f" ({doc['error']})" if doc.get("error") else "")
    view = session_view.build(
        key, f"{target} ({doc['target'].get('mode')})", transcript=doc.get("transcript"),
        findings=doc.get("findings"), tls=doc.get("tls"), steps=doc.get("steps"),
        capabilities=doc.get("capabilities"), certificate=doc.get("certificate"), end_text=end,
        teaching=teaching, packets=doc.get("packets"))
    return {"title": f"smtp-inspector {kind} {target}", "sessions": [view], "auth": doc.get("auth")}


def _tls_context(doc: dict) -> dict:
    cert = doc.get("certificate")
    return {"title": f"smtp-inspector tls {_target(doc['target'])}",
            "chain": chain_view(cert) if cert else None, "matrix": matrix(doc.get("versions") or []),
            "findings": doc.get("findings") or []}


def _tcp_facts(s: dict) -> list[str]:
    tcp = s.get("tcp") or {}
    facts = [f"{s.get('packets')} packets, {s['bytes']['client']} bytes from the client, "
             f"{s['bytes']['server']} from the server; closed by {s.get('closed')}"]
    counters = [(tcp.get("retransmissions"), "retransmitted"), (tcp.get("out_of_order"), "out of order"),
                (tcp.get("overlaps"), "overlapping"), (tcp.get("conflicts"), "conflicting"),
                (tcp.get("gaps"), "gaps")]
    facts.append("TCP segments: " + ", ".join(f"{n or 0} {what}" for n, what in counters)
                 + (f" ({tcp['gap_bytes']} bytes missing)" if tcp.get("gap_bytes") else ""))
    return facts


def _end_text(s: dict) -> str:
    closed = s.get("closed")
    tcp = s.get("tcp") or {}
    text = {"rst": "connection reset (TCP RST)", "fin": "connection closed (FIN)"}.get(
        closed, f"capture ends, connection {closed}")
    extra = [f"{tcp[k]} {what}" for k, what in (("retransmissions", "retransmitted segments"),
                                                ("gaps", "gaps"), ("conflicts", "conflicting segments"))
             if tcp.get(k)]
    return text + (": " + ", ".join(extra) if extra else "")


def _replay_context(doc: dict) -> dict:
    views = []
    for s in doc["sessions"]:
        title = (f"session {s['number']}: {s['client']['address']}:{s['client']['port']} → "
                 f"{s['server']['address']}:{s['server']['port']}, {s['start']}")
        views.append(session_view.build(
            f"s{s['number']}", title, transcript=s.get("transcript"), findings=s.get("findings"),
            tls=s.get("tls"), capabilities={"before_tls": s.get("capabilities"), "after_tls": None},
            certificate=s.get("certificate"), end_text=_end_text(s), facts=_tcp_facts(s)))
    return {"title": f"smtp-inspector replay {doc['capture']['file']}", "sessions": views,
            "raw_sessions": doc["sessions"]}


def _discover_context(doc: dict) -> dict:
    return {"title": f"smtp-inspector discover {doc.get('email')}", "findings": doc.get("findings") or []}
