"""One SMTP session's JSON document (probe, demo, a replayed session; ``send`` later) → what the
templates draw: the ladder rows, the step table, the capabilities before/after TLS, the chain.

Works on the dicts of inspector/render/json_output.py and replay_output.py,
never on internal classes, so it follows the schemas, not the code that fills them.
"""

from __future__ import annotations

from ...frozen import field, mutable
from . import ladder
from .chain import chain_view
from .pins import SESSION_END, pin_rows
from .wrap import fold


@mutable
class SessionView:
    key: str                     # stable id prefix: "s1", "s2", ...
    title: str
    rows: list
    height: float
    pins: list
    tls_span: tuple | None
    tls_label: str
    handshake_y: float | None
    arrows: int
    commands: int
    replies: int
    steps: list = field(default_factory=list)
    capabilities: list = field(default_factory=list)
    capability_changes: dict | None = None
    chain: dict | None = None
    findings: list = field(default_factory=list)
    facts: list = field(default_factory=list)


def time_label(t: float) -> str:
    if t < 1:
        return f"+{t * 1000:.1f} ms"
    return f"+{t:.3f} s"


def build(key: str, title: str, *, transcript, findings, tls=None, steps=None, capabilities=None,
          certificate=None, end_text="end of session", facts=(), teaching=None,
          packets=None) -> SessionView:
    items = ladder.arrows_and_notes(transcript or [])
    items.append(ladder.Note(items[-1].t if items else 0.0, False, SESSION_END,
                             fold(end_text, ladder.NOTE_ROW_CHARS)))
    if packets and packets.get("segments"):
        from .packets import with_packets
        items = with_packets(items, packets["segments"], offset=transcript[0]["t"] if transcript else 0.0)
    by_row, pins = pin_rows(items, findings or [], ladder.NOTE_CHARS)
    teaching_by_row = {}
    if teaching:
        seen = set()
        for number, item in enumerate(items):
            if item.step in teaching and item.step not in seen:
                seen.add(item.step)
                teaching_by_row[number] = fold(teaching[item.step], ladder.NOTE_CHARS, limit=12)
    rows, height = ladder.layout(items, pins_by_row=by_row, teaching_by_row=teaching_by_row)
    span = ladder.tls_span(rows)
    first_tls = ladder.handshake_row(rows)
    arrows = [r.item for r in rows if r.is_arrow]
    tls_label = ""
    if tls:
        tls_label = " ".join(str(tls[k]) for k in ("version", "cipher") if tls.get(k))
        if tls.get("bits"):
            tls_label += f" ({tls['bits']} bits)"
    return SessionView(
        key=key, title=title, rows=rows, height=height, pins=pins, tls_span=span,
        tls_label=tls_label or "TLS", handshake_y=first_tls.y if first_tls else None,
        arrows=len(arrows), commands=sum(a.kind == "command" for a in arrows),
        replies=sum(a.kind == "reply" for a in arrows),
        steps=step_rows(steps, rows, pins),
        capabilities=capability_rows(capabilities),
        capability_changes=(capabilities or {}).get("changes"),
        chain=chain_view(certificate) if certificate else None,
        findings=pins, facts=list(facts))


def step_rows(steps, rows, pins) -> list[dict]:
    """The step table: the probe's own steps, or (a capture) the steps the ladder inferred."""
    ids_by_step: dict[str, list[str]] = {}
    for pin in pins:
        ids_by_step.setdefault(pin.step, []).append(pin.finding["id"])
    if steps:
        return [{"name": s["name"], "status": s["status"],
                 "duration": "" if s.get("duration_ms") is None else f"{s['duration_ms']:.1f} ms",
                 "reply": s.get("detail") or _reply_summary(s.get("reply")),
                 "findings": ids_by_step.get(s["name"], [])} for s in steps]
    out: dict[str, dict] = {}
    for row in rows:
        item = row.item
        if item.step == SESSION_END:
            continue
        entry = out.setdefault(item.step, {"name": item.step, "status": "seen", "duration": "",
                                           "reply": "", "start": item.t,
                                           "findings": ids_by_step.get(item.step, [])})
        entry["duration"] = f"{(item.t - entry['start']) * 1000:.1f} ms"
        if isinstance(item, ladder.Arrow) and item.kind == "reply" and not entry["reply"]:
            entry["reply"] = _clip(item.label[0])
    return list(out.values())


def _reply_summary(reply) -> str:
    if not reply or not reply.get("lines"):
        return ""
    return _clip(reply["lines"][-1].rstrip("\r\n"))


def _clip(text: str, width: int = 44) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def capability_rows(capabilities) -> list[dict]:
    """Keyword | before TLS | after TLS, each row marked added, removed, changed or same."""
    if not capabilities:
        return []
    before = (capabilities.get("before_tls") or {}).get("keywords")
    after = (capabilities.get("after_tls") or {}).get("keywords")
    if before is None and after is None:
        return []
    names = list(dict.fromkeys([*(before or {}), *(after or {})]))
    rows = []
    for name in names:
        b = None if before is None or name not in before else (" ".join(before[name]) or "✓")
        a = None if after is None or name not in after else (" ".join(after[name]) or "✓")
        if before is None or after is None:
            change = "only"
        elif b is None:
            change = "added"
        elif a is None:
            change = "removed"
        else:
            change = "same" if a == b else "changed"
        rows.append({"keyword": name, "before": b, "after": a, "change": change})
    return rows
