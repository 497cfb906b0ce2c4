"""Plain-text rendering of a discover result: the settings block, then tables (tabulate)."""

from __future__ import annotations

from .text import safe
from .untrusted import table

ENCRYPTION = {"implicit": "SSL/TLS (implicit TLS, RFC 8314)", "starttls": "STARTTLS (RFC 3207)",
              "none": "none"}
SHORT_MODE = {"implicit": "SSL/TLS", "starttls": "STARTTLS", "plain": "none"}
#: A source's lookup state in the words of the table (detail says more); unknown is never "none".
STATUS_WORDS = {"found": "found", "none": "none", "nxdomain": "no such name", "null": 'none (".")',
                "no-answer": "unknown (no answer)", "error": "error", "refused": "refused"}


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
        if not outcome.tried and a.failure is not None and a.failure.startswith("not tried"):
            verdict = "not tried"
        tls = probe.tls.version if probe is not None and probe.tls is not None else "-"
        rows.append([rank, ("* " if outcome.chosen else "") + safe(c.host), c.port, SHORT_MODE[c.mode],
                     outcome.address or "-", tls, verdict, ", ".join(c.sources),
                     safe(outcome.reason)])
    table = "Candidates (best first):\n" + _table(
        rows, ["#", "server", "port", "encryption", "address", "TLS", "result", "source", "reason"])
    return "\n".join([table, *_not_tried(result)])


def _not_tried(result) -> list[str]:
    """Name what the deadline, or a DNS server that gave no answer, left untried."""
    untried = [o for o in result.candidates if o.candidate.label in result.not_tried]
    late = [o.candidate.label for o in untried if "deadline" in o.reason]
    unknown = [o.candidate.label for o in untried if "deadline" not in o.reason]
    lines = []
    if late:
        lines.append(f"Not tried before the deadline ({len(late)}): {', '.join(late)}")
    if unknown:
        lines.append(f"Not tried, address unknown ({len(unknown)}): {', '.join(unknown)}")
    return lines


def render_sources(result) -> str:
    rows = [[s.source, safe(s.query), STATUS_WORDS.get(s.status, s.status), safe(s.detail)[:100]]
            for s in result.sources]
    return "Sources:\n" + _table(rows, ["source", "query", "status", "detail"])


def _no_mx_rows(result) -> str:
    """What the MX lookup said when it named no host: each answer in its own words."""
    row = result.source("mx")
    state = row.status if row is not None else "no-answer"
    if state == "null":
        return f"  null MX (RFC 7505): {result.domain} accepts no mail"
    if state == "nxdomain":
        return f"  {result.domain} does not exist (NXDOMAIN): no mail can be delivered to it"
    if state == "none":
        return "  no MX records (RFC 5321 §5.1: mail goes to the domain's own address)"
    return f"  MX: {safe(row.detail) if row is not None else 'unknown (no answer)'}"


def _tlsa_words(mx) -> str:
    if mx.tlsa_lookup.unknown:
        return "unknown"
    if not mx.tlsa_records:
        return "no records"
    return (("match" if mx.tlsa_match else "NO MATCH" if mx.tlsa_match is False else "not compared")
            + (", AD set" if mx.tlsa_authenticated else ", AD not set"))


def _sts_line(result) -> str:
    sts = result.mta_sts
    if sts is None:
        row = result.source("mta-sts")
        if row is None or row.status in ("no-answer", "error"):
            return f"MTA-STS: {safe(row.detail) if row is not None else 'unknown (no answer)'}"
        return f"MTA-STS: no policy (_mta-sts.{result.domain}: {safe(row.detail)})"
    if sts.txt_error:
        return f"MTA-STS: TXT record refused: {safe(sts.txt_error)}"
    if sts.error:
        return f"MTA-STS: id {sts.txt_id}; {safe(sts.error)}"
    covered = ("every MX matches" if not sts.uncovered_mx
               else f"NOT matched: {', '.join(sts.uncovered_mx)}")
    return (f"MTA-STS: id {sts.txt_id}; mode {sts.mode}; max_age {sts.max_age}; "
            f"mx {', '.join(sts.mx_patterns) or '-'} ({covered})")


def render_inbound(result) -> str:
    parts = [f"Inbound mail for {result.domain}:"]
    if not result.mx:
        parts.append(_no_mx_rows(result))
    else:
        rows = []
        for mx in result.mx:
            cert = mx.error or mx.certificate_detail or "-"
            rows.append([mx.preference, safe(mx.host), mx.address or "-", safe(cert)[:70], _tlsa_words(mx),
                         safe(mx.tlsa_detail)[:60]])
        parts.append(_table(rows, ["pref", "MX", "address", "certificate (port 25)", "DANE TLSA", "detail"]))
    parts.append(_sts_line(result))
    return "\n".join(parts)


def render_findings(result) -> str:
    if not result.findings:
        return "Findings: none"
    rows = [[f.severity.value, f.id, safe(f.evidence)[:110], f.rfc] for f in result.findings]
    return "Findings:\n" + _table(rows, ["severity", "id", "evidence", "rule"])


def render_discover(result) -> str:
    return "\n\n".join([render_recommendation(result), render_candidates(result), render_sources(result),
                        render_inbound(result), render_findings(result)])
