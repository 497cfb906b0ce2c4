"""Rendering of a replay: the session table and transcripts (text), and JSON.

The JSON layout is described by inspector/schema/replay.schema.json; change
both together.
"""

from __future__ import annotations

import datetime
import json

from ..frozen import asdict
from . import json_output
from .table import escaped_table
from .text import render_transcript, safe
from .untrusted import table

SCHEMA_ID = "smtp-inspector/replay/1"


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="milliseconds")


def _addr(addr) -> str:
    host, port = addr
    return f"[{host}]" if ":" in host else host


def tls_cell(session) -> str:
    tls = session.tls
    if tls is None:
        return "-"
    mode = "STARTTLS" if tls.mode == "starttls" else "implicit"
    return f"{mode} {tls.version}" if tls.version else f"{mode} (no ServerHello)"


def auth_cell(session) -> str:
    cells = []
    for attempt in session.auth:
        user = f" {attempt.user}" if attempt.user else ""
        clear = " CLEAR" if attempt.in_clear else ""
        code = f" {attempt.reply_code}" if attempt.reply_code else ""
        cells.append(f"{attempt.mechanism}{user}{clear}{code}")
    return "; ".join(cells) or "-"


def session_rows(result) -> list[tuple]:
    rows = []
    for s in result.sessions:
        ids = ", ".join(dict.fromkeys(f.id for f in s.findings)) or "-"
        rows.append((s.number, _addr(s.client), _addr(s.server), f"{s.client[1]}->{s.server[1]}",
                     _iso(s.start)[11:23], f"{s.duration:.3f}", tls_cell(s), safe(auth_cell(s)), ids))
    return rows


def session_line(s) -> str:
    """One line for a session as it ends (``replay -``)."""
    ids = ", ".join(dict.fromkeys(f.id for f in s.findings)) or "-"
    return (f"{s.number}  {_addr(s.client)}:{s.client[1]} -> {_addr(s.server)}:{s.server[1]}  "
            f"{_iso(s.start)[11:23]}  {s.duration:.3f} s  closed {s.closed}  TLS {tls_cell(s)}  "
            f"AUTH {safe(auth_cell(s))}  findings: {ids}")


def render_table(result) -> str:
    if not result.sessions:
        return "No SMTP sessions found."
    return escaped_table(session_rows(result),
                         ["#", "client", "server", "ports", "start (UTC)", "duration s", "TLS",
                          "AUTH", "findings"])


def render_summary(result) -> str:
    skipped = ", ".join(f"{n} {why}" for why, n in result.skipped.items() if n)
    line = (f"smtp-inspector replay {safe(result.source)} ({result.format}): {result.packets} packets, "
            f"{max(result.sessions_total, len(result.sessions))} SMTP session(s)")
    if result.sessions_total > len(result.sessions):
        line += (f"; the first {len(result.sessions)} of {result.sessions_total} sessions are listed "
                 "(memory cap); the findings of the others are counted below")
    if result.evicted:
        line += (f"; {result.evicted} session(s) finished early: too many connections were open at "
                 "once (memory cap)")
    return line + (f"; skipped: {skipped}" if skipped else "")


def render_findings(result) -> str:
    rows = [(s.number, f.severity.value, f.id, _clip(f.evidence, 90)) for s in result.sessions
            for f in s.findings]
    omitted = [("", severity.value, fid, f"in {n} more session(s), not listed")
               for fid, severity, n in result.omitted_findings]
    if not rows and not omitted:
        return "Findings: none"
    return escaped_table(rows + omitted, ["#", "severity", "finding", "evidence"])


def render_session(session) -> str:
    parts = [f"Session {session.number}: {_addr(session.client)}:{session.client[1]} -> "
             f"{_addr(session.server)}:{session.server[1]}, started {_iso(session.start)}, "
             f"{session.duration:.3f} s, {session.packets} packets, closed: {session.closed}", ""]
    parts.append(render_transcript(session.transcript or ()))
    rows = [("TLS", tls_cell(session))]
    if session.tls is not None:
        tls = session.tls
        rows += [("SNI", tls.sni or "(none)"), ("client offered", f"up to {tls.client_version}, "
                                                 f"{len(tls.offered_suites)} suites"),
                 ("cipher", tls.cipher or "(not seen)"), ("certificates seen", tls.certificates)]
    rows.append(("AUTH", auth_cell(session)))
    t = session.tcp
    rows.append(("TCP", f"{t.retransmissions} retransmitted, {t.out_of_order} out of order, "
                        f"{t.overlaps} overlapping, {t.conflicts} conflicting, {t.gaps} gaps"))
    parts += ["", table([(k, safe(str(v))) for k, v in rows], ["session", ""],
                           tablefmt="simple", disable_numparse=True)]
    if session.findings:
        parts += ["", table([(f.severity.value, f.id, _clip(f.evidence, 90), f.rfc)
                                for f in session.findings],
                               ["severity", "finding", "evidence", "rule"], tablefmt="simple",
                               disable_numparse=True)]
    else:
        parts += ["", "Findings: none"]
    return "\n".join(parts)


def render_replay(result, *, session: int | None = None) -> str:
    if session is not None:
        return render_session(result.session(session))
    return "\n".join([render_summary(result), "", render_table(result), "", render_findings(result)])


def _clip(text: str, width: int) -> str:
    text = safe(text)
    return text if len(text) <= width else text[:width - 3] + "..."


# -- JSON ------------------------------------------------------------------------------------

def session_json(s, *, with_transcript: bool) -> dict:
    out = {
        "number": s.number,
        "client": {"address": s.client[0], "port": s.client[1]},
        "server": {"address": s.server[0], "port": s.server[1]},
        "start": _iso(s.start),
        "duration_s": round(s.duration, 6),
        "packets": s.packets,
        "bytes": {"client": s.bytes_client, "server": s.bytes_server},
        "closed": s.closed,
        "greeting": s.greeting,
        "ehlo_name": s.ehlo_name,
        "commands": s.commands,
        "messages": s.messages,
        "capabilities": json_output.capabilities(s.capabilities) if s.capabilities else None,
        "tls": None if s.tls is None else {**asdict(s.tls),
                                           "offered_suites": list(s.tls.offered_suites),
                                           "alpn": list(s.tls.alpn)},
        "auth": [asdict(a) for a in s.auth],
        "tcp": asdict(s.tcp),
        "certificate": json_output.certificate_report(s.certificate) if s.certificate else None,
        "findings": [json_output.finding(f) for f in s.findings],
        "transactions": [_transaction(t) for t in s.transactions],
        "transactions_omitted": s.transactions_omitted,
    }
    if with_transcript and s.transcript is not None:
        out["transcript"] = [json_output.transcript_entry(e) for e in s.transcript]
    return out


def _reply(info) -> dict | None:
    return None if info is None else {"code": info.code, "enhanced": info.enhanced, "text": info.text}


def _transaction(t) -> dict:
    return {
        "mail_from": None if t.mail_from is None else {
            "address": t.mail_from, "parameters": list(t.parameters), "reply": _reply(t.mail_reply)},
        "rcpt_to": [{"address": r.address, "parameters": list(r.parameters), "reply": _reply(r.reply)}
                    for r in t.recipients],
        "rcpt_omitted": t.recipients_omitted,
        "data": None if t.data_command is None else {
            "command": t.data_command, "size": t.size, "reply": _reply(t.final_reply)},
        "ended": t.ended,
    }


def capture_json(result) -> dict:
    return {
        "file": result.source,
        "format": result.format,
        "packets": result.packets,
        "tcp_packets": result.tcp_packets,
        "skipped": dict(result.skipped),
        "complete": result.error is None,
        "error": result.error,
        "open_flows_peak": result.open_flows_peak,
        "evicted_flows": result.evicted,
        "sessions_total": result.sessions_total,
        "omitted_findings": [{"id": fid, "severity": sev.value, "sessions": n}
                             for fid, sev, n in result.omitted_findings],
    }


def replay_json(result, exit_code: int, *, session: int | None = None,
                transcripts: bool = False) -> dict:
    sessions = result.sessions if session is None else (result.session(session),)
    return {
        "schema": SCHEMA_ID,
        "capture": capture_json(result),
        "exit_code": exit_code,
        "sessions": [session_json(s, with_transcript=session is not None or transcripts)
                     for s in sessions],
    }


def dumps(result, exit_code: int, *, session: int | None = None, transcripts: bool = False) -> str:
    return json.dumps(replay_json(result, exit_code, session=session, transcripts=transcripts),
                      indent=2)
