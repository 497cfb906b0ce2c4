"""The frozen results of ``discover``: what renderers (text, JSON, autoconfig) and rules read."""

from __future__ import annotations

from ..exitcodes import ExitCode
from ..findings import Finding
from ..frozen import frozen
from ..probes.session import ProbeResult
from .candidates import Candidate
from .dns import Lookup
from .probing import LoginCheck
from .ranking import Assessment


@frozen
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


@frozen
class SourceReport:
    source: str            #: "srv", "autoconfig", "mx", "mta-sts"
    query: str             #: the DNS name or URL asked
    status: str            #: a lookup state (dns.py) or "refused" (autoconfig document not accepted)
    detail: str


@frozen
class CandidateOutcome:
    candidate: Candidate
    address: str | None
    lookup: Lookup | None        #: its A/AAAA lookup (None: the deadline came before it was asked)
    probe: ProbeResult | None    #: None: not tried
    assessment: Assessment
    reason: str
    chosen: bool

    @property
    def tried(self) -> bool:
        return self.probe is not None


@frozen
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


@frozen
class MxReport:
    host: str
    preference: int
    address: str | None
    address_lookup: Lookup | None    #: None: the deadline came before it was asked
    tried: bool                      #: a session on port 25 was attempted
    error: str | None                #: resolution or probe failure (no certificate seen)
    certificate_valid: bool | None   #: trusted and naming the MX (PKIX, what MTA-STS needs)
    certificate_detail: str | None
    tlsa_lookup: Lookup
    tlsa_records: tuple[str, ...]
    tlsa_authenticated: bool         #: AD flag of the TLSA answer
    tlsa_match: bool | None          #: None: no TLSA records or no certificate to compare
    tlsa_detail: str


@frozen
class StsReport:
    """A ``_mta-sts`` record starting ``v=STSv1`` was found; what became of it (RFC 8461 §3)."""

    txt_id: str | None
    txt_error: str | None            #: the record is malformed or not unique
    policy_url: str | None
    policy_state: str | None         #: "valid", "invalid", "unknown" (no answer); None: not fetched
    mode: str | None
    mx_patterns: tuple[str, ...]
    max_age: int | None
    error: str | None
    uncovered_mx: tuple[str, ...]


@frozen
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
    not_tried: tuple[str, ...] = ()            #: host:port never probed: deadline or unknown address
    deadline_reached: bool = False

    def source(self, kind: str) -> SourceReport | None:
        return next((s for s in self.sources if s.source == kind), None)
