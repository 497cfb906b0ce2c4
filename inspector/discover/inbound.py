"""The domain's inbound mail: each MX (certificate, DANE TLSA) and the MTA-STS policy.

``sts_report`` fetches and reads the policy once a ``v=STSv1`` record was
found (RFC 8461 §3); ``mx_report`` puts together what the MX's address lookup,
its port 25 session and its TLSA lookup established (RFC 7672). A lookup or
fetch that got no answer stays "unknown" here and in every word shown.
"""

from __future__ import annotations

from ..certs import TlsaRecord, match_tlsa
from ..findings import Finding
from ..rules.certificates import tlsa_mismatch, tlsa_unusable
from . import mta_sts
from .dns import FOUND, DnsAnswer, Resolution
from .results import MxReport, StsReport
from .settings import certificate_problem, unresolved_reason


def sts_report(domain: str, texts: list[str], fetch_named) -> StsReport:
    """RFC 8461 §3: the record's id, then the policy (``fetch_named(url, host, max_bytes)``)."""
    url, host = mta_sts.policy_url(domain)
    try:
        sts_id = mta_sts.parse_sts_txt(texts)
    except mta_sts.StsError as exc:
        return StsReport(None, str(exc), url, None, None, (), None, None, ())
    got = fetch_named(url, host, mta_sts.MAX_POLICY_BYTES)
    if got.error:
        state = "unknown" if got.no_answer else "invalid"
        words = "unknown (no answer)" if got.no_answer else "policy not fetched"
        return StsReport(sts_id, None, url, state, None, (), None, f"{words}: {got.error}", ())
    if not mta_sts.is_text_plain(got.content_type):
        return StsReport(sts_id, None, url, "invalid", None, (), None,
                         f"policy served as {got.content_type!r}, not text/plain (RFC 8461 §3.3)", ())
    try:
        policy = mta_sts.parse_sts_policy(got.body)
    except mta_sts.StsError as exc:
        return StsReport(sts_id, None, url, "invalid", None, (), None, f"policy invalid: {exc}", ())
    return StsReport(sts_id, None, url, "valid", policy.mode, policy.mx, policy.max_age, None, ())


def with_coverage(sts: StsReport, mx_hosts: list[str]) -> StsReport:
    """RFC 8461 §4.1: the MX hosts no pattern of an enforcing or testing policy matches."""
    from ..frozen import replace

    if sts.policy_state != "valid" or sts.mode == "none":
        return sts
    policy = mta_sts.StsPolicy(sts.mode, sts.mx_patterns, sts.max_age)
    return replace(sts, uncovered_mx=tuple(mta_sts.uncovered_mx(policy, mx_hosts)))


def mx_report(preference: int, host: str, resolution: Resolution | None, outcome,
              tlsa_answer: DnsAnswer, findings: list[Finding]) -> MxReport:
    """One MX row; TLSA comparison findings (tlsa-mismatch, tlsa-unusable) go to ``findings``."""
    result = outcome.result if outcome else None
    addresses = resolution.addresses if resolution else ()
    if not addresses:
        error = unresolved_reason(resolution)
    elif result is None:
        error = outcome.skipped if outcome else "not probed"
    elif not result.chain_der:
        error = result.error or "no certificate received"
    else:
        error = None
    cert_valid = cert_detail = None
    if result is not None and result.certificate is not None:
        problem = certificate_problem(result)
        cert_valid, cert_detail = problem is None, problem or f"trusted and valid for {host}"
    lookup = tlsa_answer.lookup
    records = [TlsaRecord(r.usage, r.selector, r.mtype, r.cert) for r in tlsa_answer.rdatas]
    match, detail = None, lookup.detail
    if lookup.state != FOUND:
        if not lookup.unknown:
            detail = f"no TLSA records ({'NXDOMAIN' if lookup.state == 'nxdomain' else 'NODATA'}): " \
                     "DANE not used"
    elif result is None or not result.chain_der:
        detail = "no certificate to compare"
    else:
        match, detail = _compare(host, records, result, findings)
    return MxReport(host, preference, addresses[0] if addresses else None,
                    resolution.lookup if resolution else None, result is not None, error, cert_valid,
                    cert_detail, lookup, tuple(str(r) for r in records), tlsa_answer.authenticated, match,
                    detail)


def _compare(host: str, records, result, findings: list[Finding]) -> tuple[bool | None, str]:
    """RFC 7672 §3: the chain against the TLSA set (the decision is the certificates' match_tlsa)."""
    name_ok = bool(result.certificate and result.certificate.hostname_match)
    checked = match_tlsa(records, result.chain_der, hostname_match=name_ok)
    matched = next((c for c in checked if c.matched), None)
    usable = [c for c in checked if c.usable]
    match: bool | None = matched is not None
    if matched is not None:
        detail = f"certificate matches TLSA {str(matched.record)[:40]} ({matched.detail})"
    elif usable:
        detail = "certificate matches none of the TLSA records"
    else:
        match, detail = None, "no TLSA record usable for SMTP"
    for finding in (tlsa_mismatch(checked, f"_25._tcp.{host}"), tlsa_unusable(checked, f"_25._tcp.{host}")):
        if finding is not None:
            findings.append(finding)
    return match, detail
