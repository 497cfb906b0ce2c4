"""One target's outcome as stored: the indexed columns and a compact JSON result.

The verdicts are the probe's own (``ProbeResult`` from the session probe,
findings from ``inspector.rules`` and the certificate check, DANE and MTA-STS
from discover's code, the TLS audit's findings with ``--checks full``); this
module only summarises them. Transcripts are left out: a scan of many
thousand servers keeps what was decided and the replies that decided it.
"""

from __future__ import annotations

from ..findings import Finding
from ..frozen import field, mutable
from .storage import Row
from .targets import Endpoint, Target

SCHEMA_ID = "smtp-inspector/scan-target/1"


@mutable
class EndpointOutcome:
    endpoint: Endpoint
    status: str = "pending"          #: done, throttled, excluded, deadline
    reason: str | None = None
    attempts: int = 0
    throttled: list[str] = field(default_factory=list)   #: why each discarded try was discarded
    probe: object | None = None      #: ProbeResult of the try that counted
    audit: object | None = None      #: TlsAuditResult with --checks full


@mutable
class TargetPlan:
    """A target being scanned: its endpoints, their outcomes, and the domain's DNS facts."""

    target: Target
    deadline_at: float
    endpoints: list[EndpointOutcome] = field(default_factory=list)
    status: str | None = None        #: set when the target ends before any session (excluded, ...)
    reason: str | None = None
    findings: list[Finding] = field(default_factory=list)   #: domain-level (TLSA, MTA-STS)
    dns: dict = field(default_factory=dict)
    mx_facts: list = field(default_factory=list)          #: (preference, host, resolved, tlsa answer)
    sts: object | None = None        #: discover's StsReport (None: no v=STSv1 record, or unknown)
    sts_state: str | None = None     #: the ``_mta-sts`` TXT lookup state (discover.dns)
    sts_detail: str = ""
    queued: bool = False             #: handed to the writer (the scheduler sets it, once)

    @property
    def complete(self) -> bool:
        return all(e.status != "pending" for e in self.endpoints)


def finding_json(f: Finding, where: str | None = None) -> dict:
    found = {"id": f.id, "severity": f.severity.value, "evidence": f.evidence}
    if where:
        found["endpoint"] = where
    return found


def _certificate(report) -> dict | None:
    if report is None:
        return None
    leaf = report.chain[0] if report.chain else None
    return {"trusted": report.trusted, "hostname_match": report.hostname_match,
            "trust_error": report.trust_error, "subject": leaf.subject if leaf else None,
            "issuer": leaf.issuer if leaf else None, "not_after": leaf.not_after if leaf else None,
            "sha256": leaf.sha256_fingerprint if leaf else None}


def endpoint_json(outcome: EndpointOutcome) -> dict:
    e, probe = outcome.endpoint, outcome.probe
    found = {"role": e.role, "name": e.name, "address": e.address, "port": e.port, "mode": e.mode,
             "preference": e.preference, "status": outcome.status, "reason": outcome.reason,
             "attempts": outcome.attempts, "throttled": list(outcome.throttled)}
    if probe is not None:
        caps = probe.capabilities_before
        found.update({
            "exit_code": int(probe.exit_code), "error": probe.error,
            "greeting": next((s.reply.summary() for s in probe.steps if s.name == "greeting" and s.reply),
                             None),
            "starttls": bool(caps and caps.starttls) if caps is not None else None,
            "steps": [{"name": s.name, "status": s.status, "detail": s.detail,
                       "reply": s.reply.summary() if s.reply else None} for s in probe.steps],
            "tls": {"version": probe.tls.version, "cipher": probe.tls.cipher, "group": probe.tls.group}
            if probe.tls else None,
            "certificate": _certificate(probe.certificate),
        })
    if outcome.audit is not None:
        audit = outcome.audit
        found["audit"] = {"exit_code": int(audit.exit_code), "error": audit.error,
                          "connections": audit.connections,
                          "versions": {v.version: sorted(s.iana_name for s in v.suites)
                                       for v in audit.versions}}
    found["findings"] = [finding_json(f) for f in endpoint_findings(outcome)]
    return found


def endpoint_findings(outcome: EndpointOutcome) -> list[Finding]:
    found = list(outcome.probe.findings) if outcome.probe is not None else []
    if outcome.audit is not None:
        seen = {f.id for f in found}
        found += [f for f in outcome.audit.findings if f.id not in seen]
    return found


def build_row(plan: TargetPlan, finished_at: str, source_address: str | None = None) -> Row:
    """The stored row: columns from the first endpoint (in preference order) that gave a verdict."""
    target = plan.target
    primary = next((o for o in plan.endpoints if o.status == "done"), None)
    endpoints = [endpoint_json(o) for o in plan.endpoints]
    findings = [finding_json(f) for f in plan.findings]
    for o in plan.endpoints:
        where = f"{o.endpoint.name}:{o.endpoint.port}"
        findings += [finding_json(f, where) for f in endpoint_findings(o)]
    status = plan.status or _status(plan)
    reason = plan.reason or (None if primary else next((o.reason for o in plan.endpoints if o.reason), None))
    result = {"schema": SCHEMA_ID, "target": target.text, "kind": target.kind, "status": status,
              "reason": reason, "source_address": source_address, "endpoints": endpoints, "dns": plan.dns,
              "findings": findings}
    probe = primary.probe if primary else None
    caps = probe.capabilities_before if probe else None
    cert = probe.certificate if probe else None
    leaf = cert.chain[0] if cert is not None and cert.chain else None
    dane = None
    tlsa = [m for m in plan.dns.get("mx", []) if m.get("tlsa_records")]
    if tlsa:
        dane = all(m.get("tlsa_match") for m in tlsa)
    sts = plan.dns.get("mta_sts") or {}
    return Row(
        target=target.text, status=status,
        host=primary.endpoint.name if primary else None,
        address=primary.endpoint.address if primary else None,
        port=primary.endpoint.port if primary else None,
        starttls=(bool(caps.starttls) if caps is not None else None),
        tls_version=probe.tls.version if probe and probe.tls else None,
        trusted=(bool(cert.trusted and cert.hostname_match) if cert is not None else None),
        not_after=leaf.not_after if leaf else None,
        dane=dane, mta_sts=sts.get("mode"),
        finding_ids=tuple(sorted({f["id"] for f in findings})),
        finished_at=finished_at, result=result)


def _status(plan: TargetPlan) -> str:
    statuses = {o.status for o in plan.endpoints}
    if "done" in statuses:
        return "done"
    if not statuses:
        return "unresolved"
    for status in ("throttled", "unreachable", "deadline", "error", "excluded"):
        if status in statuses:
            return status
    return "done"
