"""``ports`` and ``interference`` reports as text tables and as JSON-ready dicts.

The JSON layout is in inspector/schema/ports.schema.json and interference.schema.json.
"""

from __future__ import annotations

import json

from ..frozen import asdict
from .json_output import finding

PORTS_SCHEMA_ID = "smtp-inspector/ports/1"
INTERFERENCE_SCHEMA_ID = "smtp-inspector/interference/1"


def answer(value) -> dict | None:
    if value is None:
        return None
    out = asdict(value)
    out["options"] = list(value.options)
    out["hop_distance"] = value.hop_distance
    return out


def service(value) -> dict | None:
    if value is None:
        return None
    out = asdict(value)
    out["masked"] = list(value.masked)
    out["greeting_host"] = value.greeting_host
    return out


def observation(value, state: str) -> dict:
    return {
        "port": value.port,
        "state": state,
        "syn": answer(value.syn),
        "connect_error": value.connect_error,
        "connect_ms": value.connect_ms,
        "service": service(value.service),
        "trace": None if value.trace is None else [
            {"ttl": hop.ttl, "answer": answer(hop.answer)} for hop in value.trace.hops],
    }


def verdict(value) -> dict:
    out = asdict(value)
    out["evidence"] = list(value.evidence)
    return out


def ports_report(report) -> dict:
    states = dict(report.states)
    return {
        "schema": PORTS_SCHEMA_ID,
        "target": {"host": report.host, "address": report.address},
        "method": report.method,
        "host_distance": report.host_distance,
        "ports": [observation(o, states[o.port]) for o in report.observations],
        "notes": list(report.notes),
        "findings": [finding(f) for f in report.findings],
        "exit_code": int(report.exit_code),
    }


def interference_report(report) -> dict:
    states = dict(report.states)
    return {
        "schema": INTERFERENCE_SCHEMA_ID,
        "target": {"host": report.host, "address": report.address},
        "control_port": report.control_port,
        "host_distance": report.host_distance,
        "ports": [observation(o, states[o.port]) for o in report.observations],
        "verdicts": [verdict(v) for v in report.verdicts],
        "notes": list(report.notes),
        "findings": [finding(f) for f in report.findings],
        "exit_code": int(report.exit_code),
    }


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2)


# -- text ------------------------------------------------------------------------
def _answer_text(obs) -> str:
    if obs.syn is not None:
        return obs.syn.describe()
    if obs.connect_error:
        return f"connect(): {obs.connect_error}"
    return f"connect(): ok in {obs.connect_ms:.1f} ms"


TLS_MODE_SHOWN = {"starttls": "STARTTLS offered", "implicit": "implicit TLS", "none": "no TLS",
                  "unknown": "unknown"}


def _service_rows(observations) -> list[list]:
    rows = []
    for o in observations:
        s = o.service
        if s is None:
            continue
        tls = TLS_MODE_SHOWN[s.tls_mode]
        greeting = (s.greeting or s.error or "-")[:70]
        ms = f"{s.time_to_greeting_ms:.0f} ms" if s.time_to_greeting_ms is not None else "-"
        rows.append([o.port, greeting, tls, ms])
    return rows


def _table(rows, headers) -> str:
    from .untrusted import table

    return table(rows, headers, disable_numparse=False)


def render_ports(report) -> str:
    states = dict(report.states)
    method = "SYN probes (raw sockets)" if report.method == "syn" else "connect()"
    lines = [f"ports of {report.host} ({report.address}), by {method}", ""]
    lines.append(_table([[o.port, states[o.port], _answer_text(o)] for o in report.observations],
                        ["port", "state", "answer"]))
    services = _service_rows(report.observations)
    if services:
        lines += ["", _table(services, ["port", "greeting", "TLS", "to greeting"])]
    lines += [""] + [f"note: {n}" for n in report.notes]
    lines += _findings_text(report.findings)
    return "\n".join(lines).rstrip()


def render_interference(report) -> str:
    states = dict(report.states)
    control = f"control port {report.control_port}" if report.control_port else "no control port"
    distance = f", host {report.host_distance} hops away" if report.host_distance else ""
    lines = [f"interference on the path to {report.host} ({report.address}): {control}{distance}", ""]
    lines.append(_table([[o.port, states[o.port], _answer_text(o)] for o in report.observations],
                        ["port", "state", "SYN answer"]))
    services = _service_rows(report.observations)
    if services:
        lines += ["", _table(services, ["port", "greeting", "TLS", "to greeting"])]
    for o in report.observations:
        if o.trace and o.trace.hops:
            path = "  ".join(f"{h.ttl}:{h.answer.source or '*'}"
                             + ("" if h.answer.kind == "time-exceeded" else f"({h.answer.kind})")
                             for h in o.trace.hops)
            lines.append(f"trace {o.port}: {path}")
    lines.append("")
    if report.verdicts:
        lines.append(_table([[v.port, v.id, v.confidence, v.hop if v.hop is not None else "-",
                              v.hop_address or "-", "; ".join(v.evidence)[:90]] for v in report.verdicts],
                            ["port", "verdict", "confidence", "hop", "after", "evidence"]))
    elif report.control_port:
        lines.append("no interference seen: every port looks like the control port")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines).rstrip()


def _findings_text(findings) -> list[str]:
    if not findings:
        return []
    return ["", "findings:"] + [f"  {f.severity.value:8} {f.id}: {f.evidence}" for f in findings]
