"""Plain-text rendering of a discover result: the settings block, then tables (tabulate)."""

from __future__ import annotations

from .text import safe
from .untrusted import table

ENCRYPTION = {"implicit": "SSL/TLS (implicit TLS, RFC 8314)", "starttls": "STARTTLS (RFC 3207)",
              "none": "none"}
SHORT_MODE = {"implicit": "SSL/TLS", "starttls": "STARTTLS", "plain": "none"}


def _table(rows, headers) -> str:
    return table(rows, headers)


def render_recommendation(result) -> str:
    rec = result.recommendation
    if rec is None:
        return (f"No working submission server found for {result.email}.\n"
                f"  {safe(result.error or '')}")
    verified = [rec.tls_version or "TLS"]
    verified.append(f"certificate valid for {rec.host}" if rec.certificate_problem is None
                    else f"CERTIFICATE PROBLEM: {safe(rec.certificate_problem)}")
    verified.append("AUTH offered after TLS" if rec.auth_mechanisms else "no AUTH offered")
    if rec.login_verified is not None:
        verified.append("login verified" if rec.login_verified else "LOGIN FAILED")
    lines = [
        f"Outgoing mail (SMTP) settings for {safe(result.email)}:",
        f"  Server:          {safe(rec.host)}",
        f"  Port:            {rec.port}",
        f"  Encryption:      {ENCRYPTION.get(rec.mode, rec.mode)}",
        f"  Authentication:  {safe(rec.authentication)}",
        f"  User name:       {safe(rec.username)}  ({rec.username_form})",
        f"  Verified:        {'; '.join(verified)}",
        f"  Found by:        {', '.join(rec.sources)}",
    ]
    return "\n".join(lines)


def render_candidates(result) -> str:
    rows = []
    for rank, outcome in enumerate(result.candidates, 1):
        c, a = outcome.candidate, outcome.assessment
        probe = outcome.probe
        if a.failure is not None:
            verdict = "failed"
        elif a.tls == "none":
            verdict = "no TLS"
        else:
            verdict = ("ok" if a.cert_problem is None else "cert problem") + (
                f", AUTH {' '.join(a.auth_mechanisms)}" if a.auth_mechanisms else ", no AUTH")
        tls = probe.tls.version if probe is not None and probe.tls is not None else "-"
        rows.append([rank, ("* " if outcome.chosen else "") + safe(c.host), c.port, SHORT_MODE[c.mode],
                     outcome.address or "-", tls, verdict, ", ".join(c.sources),
                     safe(outcome.reason)])
    return "Candidates (best first):\n" + _table(
        rows, ["#", "server", "port", "encryption", "address", "TLS", "result", "source", "reason"])


def render_sources(result) -> str:
    rows = [[s.source, safe(s.query), s.status, safe(s.detail)[:100]] for s in result.sources]
    return "Sources:\n" + _table(rows, ["source", "query", "status", "detail"])


def render_inbound(result) -> str:
    parts = [f"Inbound mail for {result.domain}:"]
    if not result.mx:
        parts.append("  no MX records (RFC 5321 §5.1: mail goes to the domain's own address)")
    else:
        rows = []
        for mx in result.mx:
            cert = mx.error or mx.certificate_detail or "-"
            tlsa = "no records" if not mx.tlsa_records else (
                ("match" if mx.tlsa_match else "NO MATCH" if mx.tlsa_match is False else "not compared")
                + (", AD set" if mx.tlsa_authenticated else ", AD not set"))
            rows.append([mx.preference, safe(mx.host), mx.address or "-", safe(cert)[:70], tlsa,
                         safe(mx.tlsa_detail)[:60]])
        parts.append(_table(rows, ["pref", "MX", "address", "certificate (port 25)", "DANE TLSA", "detail"]))
    sts = result.mta_sts
    if sts is None:
        parts.append("MTA-STS: no _mta-sts TXT record (no policy)")
    elif sts.txt_error:
        parts.append(f"MTA-STS: TXT record refused: {safe(sts.txt_error)}")
    elif sts.error:
        parts.append(f"MTA-STS: id {sts.txt_id}; {safe(sts.error)}")
    else:
        covered = ("every MX matches" if not sts.uncovered_mx
                   else f"NOT matched: {', '.join(sts.uncovered_mx)}")
        parts.append(f"MTA-STS: id {sts.txt_id}; mode {sts.mode}; max_age {sts.max_age}; "
                     f"mx {', '.join(sts.mx_patterns) or '-'} ({covered})")
    return "\n".join(parts)


def render_findings(result) -> str:
    if not result.findings:
        return "Findings: none"
    rows = [[f.severity.value, f.id, safe(f.evidence)[:110], f.rfc] for f in result.findings]
    return "Findings:\n" + _table(rows, ["severity", "id", "evidence", "rule"])


def render_discover(result) -> str:
    return "\n\n".join([render_recommendation(result), render_candidates(result), render_sources(result),
                        render_inbound(result), render_findings(result)])
