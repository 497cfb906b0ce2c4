"""Discover results → JSON-ready dicts, in the shape of inspector/schema/discover.schema.json."""

from __future__ import annotations

import json

from .json_output import finding

SCHEMA_ID = "smtp-inspector/discover/2"


def _lookup(lookup) -> dict | None:
    return None if lookup is None else {"state": lookup.state, "detail": lookup.detail}


def _candidate(outcome) -> dict:
    c, a, probe = outcome.candidate, outcome.assessment, outcome.probe
    cert = None
    if probe is not None and probe.certificate is not None:
        report = probe.certificate
        cert = {"trusted": report.trusted, "hostname_match": report.hostname_match,
                "names": list(report.chain[0].sans) if report.chain else [],
                "trust_error": report.trust_error}
    return {
        "host": c.host, "port": c.port, "mode": c.mode, "sources": list(c.sources),
        "address": outcome.address, "lookup": _lookup(outcome.lookup), "tried": outcome.tried,
        "chosen": outcome.chosen, "reason": outcome.reason,
        "failure": a.failure, "tls": a.tls,
        "tls_version": probe.tls.version if probe is not None and probe.tls is not None else None,
        "certificate": cert, "certificate_problem": a.cert_problem,
        "auth_mechanisms": list(a.auth_mechanisms), "login": a.login,
        "finding_ids": sorted(probe.finding_ids) if probe is not None else [],
    }


def to_dict(result) -> dict:
    rec = result.recommendation
    sts = result.mta_sts
    return {
        "schema": SCHEMA_ID,
        "email": result.email,
        "domain": result.domain,
        "dns_server": result.dns_server,
        "started_at": result.started_at,
        "exit_code": int(result.exit_code),
        "error": result.error,
        "deadline_reached": result.deadline_reached,
        "not_tried": list(result.not_tried),
        "recommendation": None if rec is None else {
            "host": rec.host, "port": rec.port, "mode": rec.mode,
            "auth_mechanisms": list(rec.auth_mechanisms), "authentication": rec.authentication,
            "username": rec.username, "username_form": rec.username_form,
            "tls_version": rec.tls_version, "certificate_problem": rec.certificate_problem,
            "sources": list(rec.sources), "login_verified": rec.login_verified,
        },
        "candidates": [_candidate(o) for o in result.candidates],
        "sources": [{"source": s.source, "query": s.query, "status": s.status, "detail": s.detail}
                    for s in result.sources],
        "mx": [{"host": m.host, "preference": m.preference, "address": m.address,
                "address_lookup": _lookup(m.address_lookup), "tried": m.tried, "error": m.error,
                "certificate_valid": m.certificate_valid, "certificate_detail": m.certificate_detail,
                "tlsa_lookup": _lookup(m.tlsa_lookup), "tlsa_records": list(m.tlsa_records),
                "tlsa_authenticated": m.tlsa_authenticated,
                "tlsa_match": m.tlsa_match, "tlsa_detail": m.tlsa_detail} for m in result.mx],
        "mta_sts": None if sts is None else {
            "id": sts.txt_id, "record_error": sts.txt_error, "policy_url": sts.policy_url,
            "policy_state": sts.policy_state,
            "mode": sts.mode, "mx": list(sts.mx_patterns), "max_age": sts.max_age,
            "error": sts.error, "uncovered_mx": list(sts.uncovered_mx)},
        "findings": [finding(f) for f in result.findings],
    }


def dumps(result) -> str:
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False)
