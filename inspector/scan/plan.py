"""From a target to the sessions it needs, and from their outcomes back to the domain's facts.

:func:`plan_target` does the DNS work (MX, submission candidates, TLSA,
the ``_mta-sts`` TXT and policy) and checks every name and address against the
exclusions before anything is sent to a server. :func:`finish_domain` runs
discover's own DANE and MTA-STS checks on the certificates the sessions saw.
"""

from __future__ import annotations

import time

from ..commands.common import IMPLICIT_TLS_PORTS, TLS_REQUIRED_PORTS
from ..discover.dns import UNKNOWN_STATES
from ..frozen import frozen, replace
from ..probes.session import IMPLICIT, STARTTLS, ProbeConfig
from .record import EndpointOutcome, TargetPlan
from .targets import (
    DOMAIN,
    SMTP_PORT,
    Endpoint,
    Exclusions,
    Resolver,
    Target,
    first_addresses,
    first_resolution,
    mx_hosts,
    submission_candidates,
)


@frozen
class CheckOptions:
    checks: str = "quick"               #: quick or full
    submission: bool = False
    timeout: float = 10.0               #: per step
    session_deadline: float = 60.0      #: one session (and one audit)
    target_deadline: float = 120.0      #: everything for one target, waiting included
    ehlo_name: str | None = None
    cafile: str | None = None
    dns_server: tuple[str, int] | None = None
    retries: int = 3                    #: tries after a throttled one (421, refused, dropped)
    source_address: str | None = None   #: the local address every connection leaves from


def plan_target(target: Target, options: CheckOptions, exclusions: Exclusions,
                resolver: Resolver | None = None) -> TargetPlan:
    """``resolver``: the scan's one :class:`Resolver` (each name looked up once per scan)."""
    plan = TargetPlan(target, deadline_at=time.monotonic() + options.target_deadline)
    excluded = exclusions.name_excluded(target.host)
    if excluded:
        plan.status, plan.reason = "excluded", excluded
        return plan
    resolver = resolver or Resolver(options.dns_server, options.timeout,
                                    source_address=options.source_address)
    if target.kind != DOMAIN:
        addresses, error = resolver.addresses(target.host, plan.deadline_at)
        if not addresses:
            plan.status, plan.reason = "unresolved", error
            return plan
        port = target.port
        mode = IMPLICIT if port in IMPLICIT_TLS_PORTS else STARTTLS
        _add(plan, Endpoint("server", target.host, addresses[0], port, mode), exclusions, addresses, options)
        return plan
    dns = resolver.client(plan.deadline_at)
    records, error, mx_state = mx_hosts(dns, target.host)
    plan.dns["mx_error"] = error
    from ..rules import discovery as rules

    plan.findings += rules.null_mx(target.host, mx_state)
    source = options.source_address
    for preference, host in records:
        excluded = exclusions.name_excluded(host)
        resolved = first_resolution(dns, host, source) if not excluded else _excluded(excluded)
        tlsa = dns.query(f"_{SMTP_PORT}._tcp.{host}", "TLSA")
        plan.mx_facts.append((preference, host, resolved, tlsa))
        if resolved.addresses:
            _add(plan, Endpoint("mx", host, resolved.addresses[0], SMTP_PORT, STARTTLS, preference),
                 exclusions, resolved.addresses, options)
    if options.submission:
        for candidate in submission_candidates(dns, target.host, [h for _, h in records]):
            if exclusions.name_excluded(candidate.host):
                continue
            addresses, _ = first_addresses(dns, candidate.host, source)
            if addresses:
                _add(plan, Endpoint("submission", candidate.host, addresses[0], candidate.port,
                                    candidate.mode), exclusions, addresses, options)
    _plan_mta_sts(plan, dns, [h for _, h in records], options)
    if not plan.endpoints:
        plan.status, plan.reason = "unresolved", error or "no MX host resolves to an address"
    return plan


def _excluded(reason: str):
    from ..discover.dns import ERROR, Lookup, Resolution

    return Resolution((), Lookup(ERROR, f"not asked: {reason}"))


def _plan_mta_sts(plan: TargetPlan, dns, mx_names: list[str], options: CheckOptions) -> None:
    """RFC 8461 §3 with discover's code: the ``_mta-sts`` TXT record, then the policy over HTTPS."""
    from ..discover.inbound import sts_report, with_coverage
    from ..discover.sources import sts_source

    domain = plan.target.host
    report, texts = sts_source(f"_mta-sts.{domain}", dns.query(f"_mta-sts.{domain}", "TXT"))
    plan.sts_state, plan.sts_detail = report.status, report.detail
    if texts is None:
        return

    def fetch_named(url: str, host: str, max_bytes: int):
        from ..net.https import Fetch, fetch
        from ..net.source import reachable_from

        resolution = dns.addresses(host)
        addresses = reachable_from(options.source_address, resolution.addresses)
        if not addresses:
            why = resolution.lookup.detail if not resolution.addresses else \
                f"no address of the family of source address {options.source_address}"
            return Fetch(url, None, None, None, None, f"{host}: {why}", resolution.lookup.unknown)
        return fetch(url, addresses[0], timeout=options.timeout, deadline_at=plan.deadline_at,
                     cafile=options.cafile, max_bytes=max_bytes, source_address=options.source_address)

    plan.sts = with_coverage(sts_report(domain, texts, fetch_named), mx_names)


def _add(plan: TargetPlan, endpoint: Endpoint, exclusions: Exclusions, addresses: tuple[str, ...] = (),
         options: CheckOptions | None = None) -> None:
    """One session to run; with ``--source-address``, at the first of ``addresses`` of its family
    (none: ``unreachable`` from there, said in the reason, and nothing sent)."""
    from ..net.source import reachable_from, source_family

    source = options.source_address if options is not None else None
    reachable = reachable_from(source, addresses or (endpoint.address,))
    if reachable:
        endpoint = replace(endpoint, address=reachable[0])
    outcome = EndpointOutcome(endpoint)
    excluded = exclusions.address_excluded(endpoint.address)
    if excluded:
        outcome.status, outcome.reason = "excluded", excluded
    elif not reachable:
        outcome.status = "unreachable"
        outcome.reason = (f"{endpoint.name} has no {source_family(source)} address to reach from source "
                          f"address {source}")
    plan.endpoints.append(outcome)


def probe_config(endpoint: Endpoint, options: CheckOptions, deadline: float) -> ProbeConfig:
    """The session probe's own configuration; TLS is required on submission ports (RFC 8314 §3)."""
    required = endpoint.role == "submission" or endpoint.port in TLS_REQUIRED_PORTS
    return ProbeConfig(host=endpoint.address, port=endpoint.port, mode=endpoint.mode, require_tls=required,
                       ehlo_name=options.ehlo_name, timeout=options.timeout, deadline=deadline,
                       servername=endpoint.name, cafile=options.cafile, source_address=options.source_address)


def audit_config(endpoint: Endpoint, options: CheckOptions, deadline: float):
    """``--checks full``: the frugal TLS audit, one connection at a time (the address's one slot)."""
    from ..probes.tls_audit import TlsAuditConfig

    return TlsAuditConfig(host=endpoint.address, port=endpoint.port, mode=endpoint.mode,
                          servername=endpoint.name, cafile=options.cafile, ehlo_name=options.ehlo_name,
                          timeout=options.timeout, deadline=deadline, concurrency=1,
                          retries=options.retries, source_address=options.source_address)


def finish_domain(plan: TargetPlan, options: CheckOptions) -> None:
    """DANE per MX (RFC 7672) and MTA-STS (RFC 8461) with discover's code; facts into ``plan.dns``."""
    if plan.target.kind != DOMAIN:
        return
    from ..discover.inbound import mx_report
    from ..discover.probing import ProbeOutcome
    from ..rules import discovery as rules

    dns_server = options.dns_server
    if dns_server is None:
        from ..discover.dns import system_dns_server
        dns_server = system_dns_server()
    server = f"{dns_server[0]}:{dns_server[1]}"
    by_name = {o.endpoint.name: o for o in plan.endpoints if o.endpoint.role == "mx"}
    reports, rows = [], []
    for preference, host, resolved, tlsa in plan.mx_facts:
        outcome = by_name.get(host)
        probe = outcome.probe if outcome is not None and outcome.status == "done" else None
        skipped = None if probe is not None else (outcome.reason if outcome else None) or "not probed"
        report = mx_report(preference, host, resolved, ProbeOutcome(probe, None, skipped), tlsa,
                           plan.findings)
        plan.findings += rules.dnssec_unauthenticated(host, report.tlsa_lookup.state,
                                                      report.tlsa_authenticated, server)
        reports.append(report)
        rows.append({"host": report.host, "preference": report.preference, "address": report.address,
                     "error": report.error, "certificate_valid": report.certificate_valid,
                     "tlsa_records": list(report.tlsa_records),
                     "tlsa_authenticated": report.tlsa_authenticated, "tlsa_match": report.tlsa_match,
                     "tlsa_detail": report.tlsa_detail})
    plan.dns["mx"] = rows
    sts = plan.sts
    plan.findings += rules.mta_sts(plan.target.host, plan.sts_state, sts, reports)
    if sts is not None:
        plan.dns["mta_sts"] = {"id": sts.txt_id, "mode": sts.mode, "error": sts.txt_error or sts.error,
                               "mx_patterns": list(sts.mx_patterns), "max_age": sts.max_age,
                               "uncovered_mx": list(sts.uncovered_mx)}
    elif plan.sts_state in UNKNOWN_STATES:   # the TXT lookup got no answer: unknown, not "no policy"
        plan.dns["mta_sts"] = {"id": None, "mode": None, "error": plan.sts_detail, "mx_patterns": [],
                               "max_age": None, "uncovered_mx": []}
    else:
        plan.dns["mta_sts"] = None
