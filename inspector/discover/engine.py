"""``discover``: sources → candidates → probes → ranking, plus the domain's inbound checks.

Stage 1 (concurrent): SRV ``_submissions._tcp`` and ``_submission._tcp``, MX,
``_mta-sts`` TXT, and the autoconfig documents. Stage 2: every candidate name
and MX resolved through the same DNS server. Stage 3 (bounded, staggered):
one core session probe per candidate and per MX (port 25, for its
certificate), the MTA-STS policy fetch and the TLSA lookups. Then ranking.
Nothing here raises for network trouble: each failure is a reason in the report.
"""

from __future__ import annotations

import datetime
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..exitcodes import ExitCode
from ..findings import Finding, Severity, make_finding
from ..net.https import fetch
from ..probes.session import IMPLICIT, PLAIN, STARTTLS, ProbeConfig, ProbeResult
from . import autoconfig as ac
from . import mta_sts
from .candidates import SRV_SERVICES, Candidate, SrvTarget, build_candidates
from .dns import DnsClient
from .probing import LoginCheck, run_staggered
from .ranking import Assessment, rank

MAX_MX = 5
#: SASL mechanisms in the order we recommend them over TLS, and what mail clients call them.
MECHANISM_PREFERENCE = ("PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "XOAUTH2",
                        "OAUTHBEARER")
CLIENT_TERMS = {"PLAIN": ("Normal password", "password-cleartext"),
                "LOGIN": ("Normal password", "password-cleartext"),
                "SCRAM-SHA-256": ("Encrypted password", "password-encrypted"),
                "SCRAM-SHA-1": ("Encrypted password", "password-encrypted"),
                "CRAM-MD5": ("Encrypted password", "password-encrypted"),
                "XOAUTH2": ("OAuth2", "OAuth2"), "OAUTHBEARER": ("OAuth2", "OAuth2")}


@dataclass(frozen=True)
class DiscoverOptions:
    email: str
    dns_server: tuple[str, int]
    timeout: float = 5.0
    deadline: float = 60.0
    cafile: str | None = None
    allow_http: bool = False
    concurrency: int = 4
    stagger: float = 0.1
    ehlo_name: str | None = None
    verify_login: LoginCheck | None = None   #: the --auth hook (see probing.py)


@dataclass(frozen=True)
class SourceReport:
    source: str            #: "srv", "autoconfig", "mx"
    query: str             #: the DNS name or URL asked
    status: str            #: "found", "none", "error", "refused"
    detail: str


@dataclass(frozen=True)
class CandidateOutcome:
    candidate: Candidate
    address: str | None
    probe: ProbeResult | None
    assessment: Assessment
    reason: str
    chosen: bool


@dataclass(frozen=True)
class Recommendation:
    host: str
    port: int
    mode: str
    auth_mechanisms: tuple[str, ...]
    authentication: str              #: what a mail client calls it, with the SASL mechanism
    autoconfig_authentication: str   #: Thunderbird's value
    username: str
    username_form: str
    username_placeholder: str
    tls_version: str | None
    certificate_problem: str | None
    sources: tuple[str, ...]
    login_verified: bool | None


@dataclass(frozen=True)
class MxReport:
    host: str
    preference: int
    address: str | None
    error: str | None                #: resolution or probe failure (no certificate seen)
    certificate_valid: bool | None   #: trusted and naming the MX (PKIX, what MTA-STS needs)
    certificate_detail: str | None
    tlsa_records: tuple[str, ...]
    tlsa_authenticated: bool         #: AD flag of the TLSA answer
    tlsa_match: bool | None          #: None: no TLSA records or no certificate to compare
    tlsa_detail: str


@dataclass(frozen=True)
class StsReport:
    txt_id: str | None
    txt_error: str | None            #: None also when there is no record at all
    policy_url: str | None
    mode: str | None
    mx_patterns: tuple[str, ...]
    max_age: int | None
    error: str | None
    uncovered_mx: tuple[str, ...]


@dataclass(frozen=True)
class DiscoverResult:
    email: str
    domain: str
    dns_server: str
    started_at: str
    sources: tuple[SourceReport, ...]
    candidates: tuple[CandidateOutcome, ...]   #: ranked, the recommendation first
    recommendation: Recommendation | None
    mx: tuple[MxReport, ...]
    mta_sts: StsReport | None
    findings: tuple[Finding, ...]
    exit_code: ExitCode
    error: str | None


def discover(options: DiscoverOptions) -> DiscoverResult:
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    deadline_at = time.monotonic() + options.deadline
    email = options.email
    domain = email.rpartition("@")[2].rstrip(".").lower()
    dns = DnsClient(options.dns_server, timeout=options.timeout, deadline_at=deadline_at)
    findings: list[Finding] = []
    sources: list[SourceReport] = []

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="discover-source") as pool:
        srv_jobs = [(service, pool.submit(dns.query, f"{service}.{domain}", "SRV"))
                    for service, _ in SRV_SERVICES]
        mx_job = pool.submit(dns.query, domain, "MX")
        sts_txt_job = pool.submit(dns.query, f"_mta-sts.{domain}", "TXT")
        ac_jobs = [(url, pool.submit(_fetch_named, dns, url, host, options, deadline_at, ac.MAX_BYTES))
                   for url, host in ac.autoconfig_urls(domain, email, allow_http=options.allow_http)]

        srv_targets = []
        for service, job in srv_jobs:
            answer = job.result()
            query = f"{service}.{domain}"
            if answer.error:
                sources.append(SourceReport("srv", query, "error", answer.error))
                continue
            records = [SrvTarget(service, r.priority, r.weight, r.port, r.target.to_text(omit_final_dot=True))
                       for r in answer.rdatas]
            if not records:
                sources.append(SourceReport("srv", query, "none", f"no SRV record ({answer.rcode})"))
            elif all(r.target in ("", ".") or r.port == 0 for r in records):
                sources.append(SourceReport("srv", query, "none",
                                            'target "." : the service is not offered (RFC 6186 §3)'))
            else:
                srv_targets += records
                sources.append(SourceReport("srv", query, "found", "; ".join(
                    f"{r.priority} {r.weight} {r.port} {r.target}" for r in records)))

        autoconfig_servers = []
        for url, job in ac_jobs:
            got = job.result()
            if got.error:
                quiet = got.status == 404 or got.address is None
                sources.append(SourceReport("autoconfig", url, "none" if quiet else "error", got.error))
                continue
            try:
                servers = ac.parse_autoconfig(got.body, email)
            except ac.AutoconfigError as exc:
                sources.append(SourceReport("autoconfig", url, "refused", str(exc)))
                findings.append(make_finding("autoconfig-invalid", f"{url}: {exc}"))
                continue
            if url.startswith("http://"):
                findings.append(make_finding("autoconfig-http", f"{url} (fetched because of --allow-http)"))
            autoconfig_servers += servers
            sources.append(SourceReport("autoconfig", url, "found", "; ".join(
                f"{s.hostname}:{s.port} {s.mode}" for s in servers)))

        mx_answer = mx_job.result()
        mx_records = sorted(((r.preference, r.exchange.to_text(omit_final_dot=True).lower())
                             for r in mx_answer.rdatas), key=lambda p: p)
        mx_records = [(p, h) for p, h in mx_records if h not in ("", ".")][:MAX_MX]
        if mx_answer.error:
            sources.append(SourceReport("mx", domain, "error", mx_answer.error))
        else:
            sources.append(SourceReport("mx", domain, "found" if mx_records else "none",
                                        "; ".join(f"{p} {h}" for p, h in mx_records)
                                        or f"no MX record ({mx_answer.rcode})"))

        candidates = build_candidates(domain, srv_targets, autoconfig_servers, [h for _, h in mx_records])
        names = list(dict.fromkeys([c.host for c in candidates] + [h for _, h in mx_records]))
        resolved = dict(zip(names, pool.map(dns.addresses, names), strict=True))
        sts_txt = sts_txt_job.result()
        tlsa_jobs = {h: pool.submit(dns.query, f"_25._tcp.{h}", "TLSA") for _, h in mx_records}
        sts_job = pool.submit(_mta_sts, dns, domain, sts_txt, [h for _, h in mx_records], options,
                              deadline_at)

        probe_configs, probe_keys = [], []
        for c in candidates:
            addresses, _ = resolved[c.host]
            if addresses:
                probe_keys.append(("candidate", c.key))
                probe_configs.append(_config(c.host, addresses[0], c.port, c.mode, options))
        for _, host in mx_records:
            addresses, _ = resolved[host]
            if addresses:
                probe_keys.append(("mx", host))
                probe_configs.append(_config(host, addresses[0], 25, STARTTLS, options))
        outcomes = dict(zip(probe_keys, run_staggered(
            probe_configs, concurrency=options.concurrency, stagger=options.stagger,
            deadline_at=deadline_at, verify_login=options.verify_login), strict=True))
        sts = sts_job.result()
        tlsa = {h: job.result() for h, job in tlsa_jobs.items()}

    assessments, probes, addresses_of = [], [], []
    for index, c in enumerate(candidates):
        addresses, resolve_error = resolved[c.host]
        outcome = outcomes.get(("candidate", c.key))
        assessments.append(_assess(index, c, resolve_error, outcome))
        probes.append(outcome.result if outcome else None)
        addresses_of.append(addresses[0] if addresses else None)
    ranking = rank(assessments)
    ranked = tuple(CandidateOutcome(candidates[a.index], addresses_of[a.index], probes[a.index], a,
                                    ranking.reasons[a.index], a is ranking.chosen) for a in ranking.ordered)

    recommendation = None
    if ranking.chosen is not None:
        chosen = ranked[0]
        recommendation = _recommend(chosen, email)
        if recommendation.port == 25:
            findings.append(make_finding("discover-port-25", f"only {recommendation.host}:25 worked; "
                                         "port 25 is for server-to-server relay and often blocked"))
        if recommendation.certificate_problem:
            findings.append(make_finding("discover-certificate-invalid",
                                         f"{recommendation.host}:{recommendation.port}: "
                                         f"{recommendation.certificate_problem}"))

    mx_reports = tuple(_mx_report(pref, host, resolved[host], outcomes.get(("mx", host)), tlsa[host],
                                  options, findings) for pref, host in mx_records)
    if sts is not None:
        findings.extend(_sts_findings(sts, domain))
        if sts.mode in ("enforce", "testing"):
            for mx in mx_reports:
                if mx.certificate_valid is False or mx.error:
                    problem = mx.certificate_detail or mx.error
                    findings.append(make_finding("mta-sts-mx-certificate",
                                                 f"MX {mx.host}: {problem} (policy mode {sts.mode})"))

    if recommendation is None:
        exit_code = ExitCode.NO_SUBMISSION_SERVER
        error = (f"no submission server for {domain} answered with TLS; "
                 f"{len(candidates)} candidates tried, see the table for each reason")
    elif recommendation.login_verified is False:  # --auth: the server refused this login
        exit_code = ExitCode.AUTH
        error = (f"{recommendation.host}:{recommendation.port} refused the login: these settings "
                 "work, but check the user name and the password or token")
    else:
        has_error = any(f.severity is Severity.ERROR for f in findings)
        exit_code, error = (ExitCode.FINDINGS if has_error else ExitCode.OK), None
    return DiscoverResult(email, domain, f"{options.dns_server[0]}:{options.dns_server[1]}", started_at,
                          tuple(sources), ranked, recommendation, mx_reports, sts, tuple(findings),
                          exit_code, error)


# -- helpers ----------------------------------------------------------------------------


def _config(name: str, address: str, port: int, mode: str, options: DiscoverOptions) -> ProbeConfig:
    """Connect to the address our DNS server gave; SNI and the certificate check use the name."""
    return ProbeConfig(host=address, port=port, mode=mode, require_tls=mode != PLAIN,
                       ehlo_name=options.ehlo_name, timeout=options.timeout, deadline=options.deadline,
                       servername=name, cafile=options.cafile)


def _fetch_named(dns: DnsClient, url: str, host: str, options: DiscoverOptions, deadline_at: float,
                 max_bytes: int):
    from ..net.https import Fetch

    addresses, error = dns.addresses(host)
    if not addresses:
        return Fetch(url, None, None, None, None, f"{host}: {error}")
    return fetch(url, addresses[0], timeout=options.timeout, deadline_at=deadline_at,
                 cafile=options.cafile, max_bytes=max_bytes)


def _assess(index: int, c: Candidate, resolve_error: str | None, outcome) -> Assessment:
    common = dict(index=index, label=c.label, port=c.port, source_rank=c.source_rank,
                  srv_priority=c.srv_priority, srv_weight=c.srv_weight)
    if resolve_error is not None:
        return Assessment(failure=f"name does not resolve: {resolve_error}", tls="none", cert_problem=None,
                          auth_mechanisms=(), login=None, **common)
    if outcome is None or outcome.result is None:
        why = outcome.skipped if outcome else "not probed"
        return Assessment(failure=why, tls="none", cert_problem=None, auth_mechanisms=(), login=None,
                          **common)
    result = outcome.result
    failure = _failure(result)
    tls = result.config.mode if result.tls is not None else "none"
    caps = result.capabilities_after if result.tls is not None else result.capabilities_before
    return Assessment(failure=failure, tls=tls, cert_problem=_certificate_problem(result),
                      auth_mechanisms=tuple(caps.auth_mechanisms) if caps else (),
                      login=outcome.login, **common)


def _failure(result: ProbeResult) -> str | None:
    """Why the session is of no use to a mail client, in the words of the table."""
    if result.exit_code in (ExitCode.OK, ExitCode.FINDINGS, ExitCode.CERTIFICATE):
        if result.step("ehlo-tls") is None and result.step("ehlo") is None:
            return "no EHLO answer"
        return None
    message = (result.error or "").partition(": ")[2] or (result.error or "failed")
    step = (result.error or "").partition(":")[0]
    if step == "connect":
        return f"port blocked or closed: {message}"
    if step == "starttls":
        if "starttls-not-offered" in result.finding_ids:
            return "no STARTTLS offered (RFC 3207)"
        return f"STARTTLS refused: {message}"
    if step == "tls-handshake":
        return f"TLS handshake failed: {message}"
    if step in ("greeting", "ehlo", "ehlo-tls"):
        return f"no working SMTP session ({step}): {message}"
    return message


def _certificate_problem(result: ProbeResult) -> str | None:
    if result.tls is None:
        return None
    report = result.certificate
    if report is None:
        return "no certificate checked"
    if not report.hostname_match:
        names = ", ".join(report.chain[0].sans[:4]) if report.chain else "(none)"
        return f"certificate for another name ({names}), not {report.servername}"
    if not report.trusted:
        return f"certificate not trusted: {report.trust_error}"
    return None


def _recommend(chosen: CandidateOutcome, email: str) -> Recommendation:
    c, a, result = chosen.candidate, chosen.assessment, chosen.probe
    offered = a.auth_mechanisms
    mechanism = next((m for m in MECHANISM_PREFERENCE if m in offered), offered[0] if offered else None)
    if mechanism is None:
        authentication, ac_auth = "none offered (the server accepts no login here)", "none"
    else:
        term, ac_auth = CLIENT_TERMS.get(mechanism, (mechanism, "password-cleartext"))
        authentication = f"{term} (SASL {mechanism}; offered: {' '.join(offered)})"
    local = email.partition("@")[0]
    if c.username and c.username == local:
        username, form, placeholder = local, "local part only, from autoconfig", "%EMAILLOCALPART%"
    elif c.username and c.username != email:
        username, form, placeholder = c.username, "as autoconfig gives it", c.username
    elif c.username:
        username, form, placeholder = email, "full e-mail address, from autoconfig", "%EMAILADDRESS%"
    else:
        username, form, placeholder = email, "full e-mail address, assumed: no source says otherwise", \
            "%EMAILADDRESS%"
    tls_version = result.tls.version if result and result.tls else None
    return Recommendation(c.host, c.port, a.tls, offered, authentication, ac_auth, username, form,
                          placeholder, tls_version, a.cert_problem, c.sources, a.login)


def _mta_sts(dns: DnsClient, domain: str, txt, mx_hosts: list[str], options: DiscoverOptions,
             deadline_at: float) -> StsReport | None:
    """RFC 8461 §3: no record, no policy (None); otherwise fetch and parse the policy."""
    texts = [b"".join(r.strings).decode("utf-8", "replace") for r in txt.rdatas]
    if txt.error:
        return StsReport(None, f"TXT lookup failed: {txt.error}", None, None, (), None, None, ())
    if not any(t.startswith("v=STSv1") for t in texts):
        return None
    url, host = mta_sts.policy_url(domain)
    try:
        sts_id = mta_sts.parse_sts_txt(texts)
    except mta_sts.StsError as exc:
        return StsReport(None, str(exc), url, None, (), None, None, ())
    got = _fetch_named(dns, url, host, options, deadline_at, mta_sts.MAX_POLICY_BYTES)
    if got.error:
        return StsReport(sts_id, None, url, None, (), None, f"policy not fetched: {got.error}", ())
    if not mta_sts.is_text_plain(got.content_type):
        return StsReport(sts_id, None, url, None, (), None,
                         f"policy served as {got.content_type!r}, not text/plain (RFC 8461 §3.3)", ())
    try:
        policy = mta_sts.parse_sts_policy(got.body)
    except mta_sts.StsError as exc:
        return StsReport(sts_id, None, url, None, (), None, f"policy invalid: {exc}", ())
    uncovered = tuple(mta_sts.uncovered_mx(policy, mx_hosts)) if policy.mode != "none" else ()
    return StsReport(sts_id, None, url, policy.mode, policy.mx, policy.max_age, None, uncovered)


def _sts_findings(sts: StsReport, domain: str) -> list[Finding]:
    found = []
    if sts.txt_error:
        found.append(make_finding("mta-sts-record-invalid", f"_mta-sts.{domain}: {sts.txt_error}"))
    elif sts.error:
        found.append(make_finding("mta-sts-policy-invalid", f"{sts.policy_url}: {sts.error}"))
    if sts.uncovered_mx:
        found.append(make_finding("mta-sts-mx-mismatch", f"MX {', '.join(sts.uncovered_mx)} not matched by "
                                  f"the policy's mx patterns ({', '.join(sts.mx_patterns)})"))
    if sts.mode == "testing":
        found.append(make_finding("mta-sts-testing", f"{sts.policy_url}: mode testing"))
    return found


def _mx_report(preference: int, host: str, resolved, outcome, tlsa_answer, options, findings) -> MxReport:
    addresses, resolve_error = resolved
    from ..certs import TlsaRecord, match_tlsa

    records = [TlsaRecord(r.usage, r.selector, r.mtype, r.cert) for r in tlsa_answer.rdatas]
    texts = tuple(str(r) for r in records)
    ad = tlsa_answer.authenticated
    result = outcome.result if outcome else None
    error = (f"does not resolve: {resolve_error}" if resolve_error else
             (outcome.skipped if outcome and outcome.skipped else None))
    if result is not None and not result.chain_der:
        error = result.error or "no certificate received"
    cert_valid = cert_detail = None
    if result is not None and result.certificate is not None:
        problem = _certificate_problem(result)
        cert_valid, cert_detail = problem is None, problem or f"trusted and valid for {host}"
    if tlsa_answer.error:
        match, detail = None, f"TLSA lookup failed: {tlsa_answer.error}"
    elif not records:
        match, detail = None, "no TLSA records: DANE not used"
    elif result is None or not result.chain_der:
        match, detail = None, "no certificate to compare"
    else:
        name_ok = bool(result.certificate and result.certificate.hostname_match)
        checked = match_tlsa(records, result.chain_der, hostname_match=name_ok)
        matched = next((c for c in checked if c.matched), None)
        usable = [c for c in checked if c.usable]
        unusable = [c for c in checked if not c.usable]
        match = matched is not None
        if matched is not None:
            detail = f"certificate matches TLSA {str(matched.record)[:40]} ({matched.detail})"
        elif usable:
            detail = "certificate matches none of the TLSA records"
            findings.append(make_finding("tlsa-mismatch", f"_25._tcp.{host}: {detail} ("
                                         + "; ".join(f"{str(c.record)[:40]}: {c.detail}" for c in usable)
                                         + ")"))
        else:
            match, detail = None, "no TLSA record usable for SMTP"
        if unusable:
            findings.append(make_finding("tlsa-unusable", f"_25._tcp.{host}: " + "; ".join(
                f"{str(c.record)[:40]}: {c.detail}" for c in unusable)))
    if records and not ad and not tlsa_answer.error:
        findings.append(make_finding("dnssec-unauthenticated",
                                     f"_25._tcp.{host} TLSA answer without the AD flag from "
                                     f"{options.dns_server[0]}:{options.dns_server[1]}"))
    return MxReport(host, preference, addresses[0] if addresses else None, error, cert_valid, cert_detail,
                    texts, ad, match, detail)


__all__ = ["IMPLICIT", "DiscoverOptions", "DiscoverResult", "discover"]

# Public names for ``scan``, which checks each mail domain's TLSA and MTA-STS with this same code.
mx_report = _mx_report
mta_sts_report = _mta_sts
sts_findings = _sts_findings
