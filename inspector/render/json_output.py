"""Results → JSON-ready dicts, in the shape of inspector/schema/probe-result.schema.json.

The one place that knows the JSON layout; the probes and the core only build
dataclasses. Change the schema file and its version string with this module.
"""

from __future__ import annotations

import base64
import json

from ..frozen import asdict
from ..smtp.capabilities import keyword_changes
from ..transcript import NOTE

SCHEMA_ID = "smtp-inspector/probe/1"


def reply(value) -> dict:
    return {
        "code": value.code,
        "enhanced_code": value.enhanced_code,
        "lines": [line.raw.decode("utf-8", "backslashreplace") for line in value.lines],
        "anomalies": [{"kind": a.kind, "line": a.line_index + 1, "evidence": a.evidence}
                      for a in value.anomalies],
    }


def capabilities(value) -> dict:
    return {
        "domain": value.domain,
        "keywords": {item.keyword: list(item.params) for item in value.items if item.keyword},
        "auth_mechanisms": list(value.auth_mechanisms),
        "legacy_auth": value.legacy_auth,
        "size": value.size_limit,
        "masked": list(value.masked),
        "lines": [item.line for item in value.items],
    }


def capability_changes(before, after) -> dict | None:
    """What TLS changed in the EHLO reply (RFC 3207 §4.2: re-learn everything)."""
    if before is None or after is None:
        return None
    added, removed = keyword_changes(before, after)
    return {"added": list(added), "removed": list(removed)}


def finding(value) -> dict:
    return {"id": value.id, "severity": value.severity.value, "title": value.title,
            "rfc": value.rfc, "evidence": value.evidence}


def certificate_report(value) -> dict:
    return {
        "servername": value.servername,
        "hostname_match": value.hostname_match,
        "trusted": value.trusted,
        "trust_error": value.trust_error,
        "chain": [{**asdict(info), "sans": list(info.sans)} for info in value.chain],
    }


def transcript_entry(value) -> dict:
    entry = {"t": round(value.t, 6), "direction": value.direction, "tls": value.tls,
             "text": value.text, "step": value.step}
    if value.direction != NOTE:
        entry["bytes_b64"] = base64.b64encode(value.data).decode("ascii")
        entry["redacted"] = value.redacted
    return entry


def step(value) -> dict:
    return {
        "name": value.name,
        "status": value.status,
        "duration_ms": None if value.duration_ms is None else round(value.duration_ms, 3),
        "reply": reply(value.reply) if value.reply else None,
        "detail": value.detail,
    }


def auth_outcome(value) -> dict:
    """The AUTH verdict; holds no secret (the session redacts before it gets here)."""
    return {
        "requested": value.requested,
        "mechanism": value.mechanism,
        "user": value.user,
        "status": value.status,
        "offered_before_tls": None if value.offered_before_tls is None else list(value.offered_before_tls),
        "offered_after_tls": None if value.offered_after_tls is None else list(value.offered_after_tls),
        "code": value.code,
        "enhanced_code": value.enhanced_code,
        "reply": reply(value.reply) if value.reply else None,
        "explanation": value.explanation,
        "rule": value.rule,
        "server_error": value.server_error,
        "server_verified": value.server_verified,
        "channel_binding": value.channel_binding,
        "answer_s": value.answer_s,
    }


def probe_result(result) -> dict:
    cfg = result.config
    before, after = result.capabilities_before, result.capabilities_after
    return {
        "schema": SCHEMA_ID,
        "target": {
            "host": cfg.host,
            "port": cfg.port,
            "address": result.peer_address,
            "mode": cfg.mode,
            "require_tls": cfg.require_tls,
            "servername": cfg.expected_name,
        },
        "started_at": result.started_at,
        "exit_code": int(result.exit_code),
        "error": result.error,
        "steps": [step(s) for s in result.steps],
        "transcript": [transcript_entry(e) for e in result.transcript],
        "capabilities": {
            "before_tls": capabilities(before) if before else None,
            "after_tls": capabilities(after) if after else None,
            "changes": capability_changes(before, after),
        },
        "tls": asdict(result.tls) if result.tls else None,
        "certificate": certificate_report(result.certificate) if result.certificate else None,
        "findings": [finding(f) for f in result.findings],
        "auth": auth_outcome(result.auth) if getattr(result, "auth", None) else None,
    }


def dumps(result) -> str:
    return json.dumps(probe_result(result), indent=2)


AUTH_TABLE_SCHEMA_ID = "smtp-inspector/auth-table/1"


def auth_table(table) -> dict:
    """``probe --auth all --json``: inspector/schema/auth-table.schema.json."""
    cfg = table.config
    return {
        "schema": AUTH_TABLE_SCHEMA_ID,
        "target": {"host": cfg.host, "port": cfg.port, "mode": cfg.mode,
                   "require_tls": cfg.require_tls, "servername": cfg.expected_name},
        "user": cfg.auth.credentials.user,
        "exit_code": int(table.exit_code),
        "error": table.error,
        "rows": [{"mechanism": r.mechanism, "offered_before_tls": r.offered_before_tls,
                  "offered_after_tls": r.offered_after_tls, "status": r.status, "code": r.code,
                  "enhanced_code": r.enhanced_code, "explanation": r.explanation, "rule": r.rule,
                  "probe": r.probe, "answer_s": r.answer_s} for r in table.rows],
        "findings": [finding(f) for f in table.findings],
        "discovery": probe_result(table.discovery),
        "probes": [probe_result(p) for p in table.probes],
    }


def dumps_auth_table(table) -> str:
    return json.dumps(auth_table(table), indent=2)
