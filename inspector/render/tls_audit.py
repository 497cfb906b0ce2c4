"""Text and JSON for ``smtp-inspector tls`` (JSON layout: inspector/schema/tls-audit.schema.json)."""

from __future__ import annotations

import json

from ..frozen import asdict
from .json_output import certificate_report, finding
from .table import simple_table
from .text import render_findings, render_outcome, safe
from .tls_checks import checks_json, render_checks

SCHEMA_ID = "smtp-inspector/tls-audit/1"


def render_chain(report) -> str:
    rows = []
    for index, info in enumerate(report.chain):
        key = f"{info.key_type} {info.key_bits}" + (f" {info.curve}" if info.curve else "")
        rows.append((index, safe(info.subject), safe(info.issuer), info.not_after[:10], key,
                     info.signature_algorithm, info.sha256_fingerprint[:16] + "..."))
    table = simple_table(rows, ["#", "subject", "issuer", "not after", "key", "signature", "SHA-256"])
    verdict = "trusted" if report.trusted else f"NOT trusted: {safe(report.trust_error or '')}"
    match = ("matches " if report.hostname_match else "does NOT match ") + report.servername
    lines = [table, f"chain: {verdict}; hostname {match}"]
    if report.chain:
        lines.append(f"leaf SHA-256 SPKI {report.chain[0].spki_sha256}")
    for result in report.tlsa:
        state = "match" if result.matched else ("unusable" if not result.usable else "NO match")
        lines.append(f"TLSA {result.record.usage} {result.record.selector} {result.record.matching_type}: "
                     f"{state} ({result.detail})")
    return "\n".join(lines)


def render_version(version) -> str:
    if not version.supported:
        if version.error:  # never got an answer: unknown, not refused
            return f"{version.version}: not determined ({safe(version.error)})"
        return f"{version.version}: not accepted"
    order = {True: "server order", False: "client order", None: "order n/a"}[version.server_order]
    rows = [(s.iana_name, s.openssl_name or "-", s.kx if s.kx != "any" else (s.group or "any"),
             s.bits, s.group or "", s.weakness or ("no forward secrecy" if not s.forward_secret else ""))
            for s in version.suites]
    header = f"{version.version}: {len(version.suites)} suites, {order}, {version.connections} connections"
    if version.error:
        header += f" (incomplete: {safe(version.error)})"
    notes = []
    if version.handshake_completed is not None:
        notes.append(("complete handshake: " if version.handshake_completed else
                      "NO complete handshake: ") + safe(version.handshake_detail or ""))
    if version.closed_on:
        notes.append(f"closes the connection when {', '.join(version.closed_on)} suites come first "
                     "(left out above)")
    table = simple_table(rows, ["IANA name", "OpenSSL name", "kx", "bits", "group", "finding"])
    return "\n".join([header, table, *notes])


def render_tls_audit(result) -> str:
    cfg = result.config
    from ..net.address import host_port

    target = host_port(cfg.host, cfg.port)
    parts = [f"smtp-inspector tls {target} ({cfg.mode}, servername {cfg.expected_name})", ""]
    if result.session is not None:
        s = result.session
        parts += [f"default handshake: {s.version} {s.cipher} ({s.bits} bits)"
                  + (f", group {s.group}" if s.group else ""), ""]
    if result.certificate is not None:
        parts += [render_chain(result.certificate), ""]
    for version in result.versions:
        parts += [render_version(version), ""]
    if result.groups:
        parts += [f"key exchange groups ({result.groups_version}): {', '.join(result.groups)}", ""]
    if result.checks is not None:
        parts += [render_checks(result.checks, result.versions), ""]
    parts += [f"connections: {result.connections} ({result.retried} retried), "
              f"{result.duration_s:.2f} s", "", render_findings(result), "", render_outcome(result)]
    return "\n".join(parts)


def tls_audit_result(result) -> dict:
    cfg = result.config
    return {
        "schema": SCHEMA_ID,
        "target": {"host": cfg.host, "port": cfg.port, "address": result.peer_address, "mode": cfg.mode,
                   "servername": cfg.expected_name},
        "started_at": result.started_at,
        "duration_s": result.duration_s,
        "exit_code": int(result.exit_code),
        "error": result.error,
        "connections": {"used": result.connections, "retried": result.retried,
                        "concurrency": cfg.concurrency, "rate_per_minute": cfg.rate},
        "session": asdict(result.session) if result.session else None,
        "certificate": ({**certificate_report(result.certificate),
                         "tlsa": [{"record": str(r.record), "usable": r.usable, "matched": r.matched,
                                   "detail": r.detail} for r in result.certificate.tlsa]}
                        if result.certificate else None),
        "versions": [{
            "version": v.version, "supported": v.supported, "server_order": v.server_order,
            "connections": v.connections, "error": v.error,
            "handshake_completed": v.handshake_completed, "handshake_detail": v.handshake_detail,
            "closed_on": list(v.closed_on),
            "suites": [{"code": f"0x{s.code:04X}", "iana_name": s.iana_name, "openssl_name": s.openssl_name,
                        "kx": s.kx, "auth": s.auth, "cipher": s.cipher, "bits": s.bits, "group": s.group,
                        "weakness": s.weakness, "forward_secret": s.forward_secret} for s in v.suites],
        } for v in result.versions],
        "groups": {"version": result.groups_version, "accepted": list(result.groups)},
        "checks": checks_json(result.checks, result.versions),
        "findings": [finding(f) for f in result.findings],
    }


def dumps(result) -> str:
    return json.dumps(tls_audit_result(result), indent=2)
