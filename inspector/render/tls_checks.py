"""The vulnerability and feature checks of ``smtp-inspector tls`` as rows (text) and an object (JSON)."""

from __future__ import annotations

from ..tls.registry import signature_scheme_name

#: JSON states (inspector/schema/tls-audit.schema.json, "checks").
VULNERABLE, NOT_VULNERABLE, YES, NO, UNKNOWN, SKIPPED = (
    "vulnerable", "not-vulnerable", "yes", "no", "not-determined", "skipped")


def _yes_no(value: bool | None) -> str:
    return UNKNOWN if value is None else (YES if value else NO)


def _attack(result) -> tuple[str, str]:
    if result is None:
        return SKIPPED, "skipped (--no-attacks)"
    if result.vulnerable is None:
        return UNKNOWN, result.detail
    return (VULNERABLE if result.vulnerable else NOT_VULNERABLE), result.detail


def _signatures(tls12_schemes, tls13) -> tuple[str, str]:
    """TLS 1.2 ServerKeyExchange schemes, and TLS 1.3 CertificateVerify ones (read by decrypting)."""
    parts = []
    if tls12_schemes:
        parts.append("ServerKeyExchange (TLS <= 1.2): "
                     + ", ".join(signature_scheme_name(s) for s in tls12_schemes))
    if tls13 is not None:
        parts.append(f"CertificateVerify (TLS 1.3): {tls13.detail}")
    found = bool(tls12_schemes) or bool(tls13 and tls13.schemes)
    return (YES if found else UNKNOWN), "; ".join(parts) or "no ServerKeyExchange or CertificateVerify read"


def check_rows(checks, versions=()) -> list[tuple[str, str, str]]:
    """(check, state, detail) in a fixed order; ``versions`` gives the accepted suites."""
    f = checks.features
    at = f" ({f.version})" if f.version else ""
    rows = [
        ("secure_renegotiation", _yes_no(f.secure_renegotiation),
         f"renegotiation_info in the ServerHello{at}"),
        ("client_renegotiation", _yes_no(checks.renegotiation.accepted), checks.renegotiation.detail),
        ("fallback_scsv", _yes_no(checks.fallback.honoured), checks.fallback.detail),
        ("heartbleed", *_attack(checks.heartbleed)),
        ("ccs_injection", *_attack(checks.ccs_injection)),
        ("robot", *_attack(checks.robot)),
        ("compression", (VULNERABLE if f.compression else NOT_VULNERABLE) if f.version else UNKNOWN,
         ("picks DEFLATE (CRIME)" if f.compression else "no compression picked when DEFLATE is offered")
         if f.version else "no TLS <= 1.2 ServerHello"),
    ]
    suites = [(v.version, s) for v in versions for s in v.suites]
    for name, test, what in (
            ("sweet32", lambda s: s.cipher in ("3DES", "DES", "IDEA", "RC2"), "64-bit block ciphers"),
            ("logjam", lambda s: s.kx == "DHE" and (s.group or "").startswith("DHE-")
             and (s.group or "")[4:].isdigit() and int(s.group[4:]) < 2048, "DHE groups under 2048 bits"),
            ("freak_export", lambda s: "EXPORT" in s.iana_name, "export suites"),
            ("poodle", lambda s: "CBC" in s.iana_name, "SSLv3 with CBC"),
            ("rc4", lambda s: s.cipher == "RC4", "RC4 suites")):
        hits = [(v, s) for v, s in suites if test(s) and (name != "poodle" or v == "SSLv3")]
        detail = ", ".join(sorted({f"{v} {s.iana_name}" + (f" ({s.group})" if name == "logjam" else "")
                                   for v, s in hits})) or f"no {what} accepted"
        rows.append((name, VULNERABLE if hits else NOT_VULNERABLE, detail))
    for r in checks.resumption:
        rows.append((f"resumption_{r.kind}", _yes_no(r.resumed), r.detail))
    rows += [
        ("session_ticket_extension", _yes_no(f.session_ticket),
         "session_ticket in the ServerHello (RFC 5077)"),
        ("extended_master_secret", _yes_no(f.extended_master_secret), "RFC 7627"),
        ("encrypt_then_mac", _yes_no(f.encrypt_then_mac),
         "RFC 7366" if f.encrypt_then_mac is not None
         else "no CBC suite picked (RFC 7366 applies to CBC only)"),
        ("ocsp_stapling", _yes_no(f.status_request),
         checks.ocsp.detail if checks.ocsp else "no stapled OCSP response (status_request, RFC 6066 §8)"),
        ("certificate_transparency", YES if checks.embedded_scts or f.sct_extension or
         (checks.ocsp and checks.ocsp.scts) else NO,
         f"{checks.embedded_scts} SCT(s) embedded in the certificate; signed_certificate_timestamp "
         f"extension {'sent' if f.sct_extension else 'not sent'}"
         + (f"; {checks.ocsp.scts} in the OCSP response" if checks.ocsp and checks.ocsp.scts else "")),
        ("heartbeat_extension", _yes_no(f.heartbeat), "RFC 6520"),
        ("signature_algorithms", *_signatures(f.signature_schemes, checks.tls13_signatures)),
        ("requiretls", _yes_no(checks.requiretls), "REQUIRETLS in the EHLO reply inside TLS (RFC 8689 §4)"),
    ]
    if checks.tls_rpt is not None:
        rpt = checks.tls_rpt
        state = YES if rpt.records else (NO if rpt.state in ("none", "nxdomain") else UNKNOWN)
        rows.append(("tls_rpt", state, rpt.detail))
    return rows


def checks_json(checks, versions=()) -> dict | None:
    if checks is None:
        return None
    return {name: {"state": state, "detail": detail} for name, state, detail in check_rows(checks, versions)}


def render_checks(checks, versions=()) -> str:
    from .table import simple_table
    from .text import safe

    rows = [(name.replace("_", " "), state, safe(detail))
            for name, state, detail in check_rows(checks, versions)]
    return "checks:\n" + simple_table(rows, ["check", "result", "detail"])
