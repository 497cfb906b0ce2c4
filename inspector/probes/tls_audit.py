"""The TLS audit behind ``smtp-inspector tls``: certificate, versions, suites, groups.

Every connection speaks SMTP first (greeting, EHLO, STARTTLS; RFC 3207 §4)
through the one SMTP driver, or starts with TLS on implicit-TLS ports
(RFC 8314 §3.3); :mod:`inspector.probes.tls_dialer` opens them. The certificate comes
from one complete handshake with the ssl module; suites, versions and groups
from crafted ClientHellos (:mod:`inspector.tls.hello`) whose answers are read
without finishing the handshake; then one complete handshake per version the
server picks suites at (:mod:`inspector.probes.tls_verify`).

Connection discipline (concurrency cap, rate limit, retries): see the
dialer. Findings: :mod:`inspector.rules.tls_audit`. Nothing here raises to
the caller.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import time

from ..exitcodes import ExitCode
from ..findings import Finding, Severity
from ..frozen import frozen
from ..net.transport import TlsSession
from ..rules import tls_audit as audit_rules
from ..rules.tls import tls_legacy_version
from ..tls.enumerate import GroupOutcome, Unreachable, VersionOutcome, enumerate_groups, enumerate_version
from ..tls.hello import VERSIONS
from ..tls.registry import LEGACY_VERSIONS
from ..tls.suites import SUITES, describe_code
from .tls_checks import check_findings, run_checks, start_resumption
from .tls_dialer import Dialer, Fatal
from .tls_verify import Verification, handshake_findings, verify_all

STARTTLS, IMPLICIT = "starttls", "implicit"
ALL_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_ORDER = {name: index for index, name in enumerate(ALL_VERSIONS)}


@frozen
class TlsAuditConfig:
    host: str
    port: int = 587
    mode: str = STARTTLS
    servername: str | None = None
    cafile: str | None = None
    tlsa: tuple = ()                   #: parsed TlsaRecord values
    ehlo_name: str | None = None
    timeout: float = 10.0              #: per step (connect, each reply, the server's flight)
    deadline: float = 120.0            #: the whole audit
    concurrency: int = 4               #: connections open at once
    rate: float | None = None          #: connection starts per minute
    retries: int = 6                   #: per connection, for 4xx / refused / dropped
    versions: tuple[str, ...] = ALL_VERSIONS
    attacks: bool = True               #: Heartbleed, CCS injection, ROBOT (False: --no-attacks)
    domain: str | None = None          #: TLS-RPT lookup for this domain (--domain)
    dns_server: tuple[str, int] | None = None
    source_address: str | None = None  #: the local address to connect from (--source-address)

    @property
    def expected_name(self) -> str:
        return self.servername or self.host


@frozen
class AcceptedSuite:
    code: int
    iana_name: str
    openssl_name: str | None
    kx: str
    auth: str
    cipher: str
    bits: int
    group: str | None                  #: group seen when the server picked this suite
    weakness: str | None
    forward_secret: bool


@frozen
class VersionResult:
    version: str
    supported: bool
    suites: tuple[AcceptedSuite, ...]  #: in the order the server picked them
    server_order: bool | None          #: None: fewer than two suites to compare
    connections: int
    error: str | None
    #: a complete handshake pinned to this version finished (None: not tried or not possible)
    handshake_completed: bool | None = None
    handshake_detail: str | None = None
    #: key exchanges whose suites, offered first, made the server close (enumerate.py)
    closed_on: tuple[str, ...] = ()


@frozen
class TlsAuditResult:
    config: TlsAuditConfig
    started_at: str
    duration_s: float
    peer_address: str | None
    session: TlsSession | None          #: what a normal handshake negotiated
    certificate: object | None          #: inspector.certs.CertificateReport
    versions: tuple[VersionResult, ...]
    groups: tuple[str, ...]
    groups_version: str | None
    connections: int
    retried: int
    findings: tuple[Finding, ...]
    exit_code: ExitCode
    error: str | None
    checks: object | None = None        #: inspector.probes.tls_checks.TlsChecks

    @property
    def finding_ids(self) -> set[str]:
        return {f.id for f in self.findings}

    def accepted(self, version: str) -> set[str]:
        """IANA names accepted at ``version``."""
        return {s.iana_name for v in self.versions if v.version == version for s in v.suites}


def _candidates(version: str) -> list[int]:
    """Registry suites defined for ``version`` (RFC 8446 §B.4 suites only for TLS 1.3)."""
    level = _ORDER[version]
    return [s.code for s in SUITES if not s.scsv
            and _ORDER[s.min_version] <= level <= _ORDER[s.max_version]]


def _accepted(outcome: VersionOutcome) -> tuple[AcceptedSuite, ...]:
    out = []
    for code in outcome.picks:
        suite = describe_code(code)
        out.append(AcceptedSuite(code, suite.iana_name, suite.openssl_name, suite.kx, suite.auth,
                                 suite.cipher, suite.bits, outcome.groups.get(code), suite.weakness(),
                                 suite.forward_secret))
    return tuple(out)


def run_tls_audit(config: TlsAuditConfig) -> TlsAuditResult:
    """Run the whole audit; never raises for network or protocol trouble."""
    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    dialer = Dialer(config, started + config.deadline)
    cert_box: dict = {}

    def certificate_task():
        try:
            facts = dialer.run(dialer.handshake, "certificate")
            cert_box["facts"] = facts
        except Unreachable as exc:
            cert_box["error"] = str(exc)

    def version_task(version):
        return enumerate_version(version, _candidates(version), dialer.exchange)

    def groups_task():
        ecdhe = [s.code for s in SUITES if s.kx == "ECDHE" and s.max_version == "TLSv1.2"]
        return enumerate_groups(_candidates("TLSv1.3"), ecdhe,
                                lambda offer: dialer.exchange(offer, "groups"))

    outcomes: dict[str, VersionOutcome] = {}
    checks: dict[str, Verification] = {}
    extra = None
    groups = GroupOutcome()
    interrupted = False
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(config.versions) + 6,
                                                 thread_name_prefix="tls-audit")
    try:
        cert_future = pool.submit(certificate_task)
        # Newest first: the versions most servers accept have the most suites to find.
        futures = {pool.submit(version_task, v): v for v in sorted(config.versions, key=_ORDER.get,
                                                                    reverse=True)}
        groups_future = pool.submit(groups_task)
        resumption = start_resumption(pool, dialer)
        for future, version in futures.items():
            outcomes[version] = future.result()
        groups = groups_future.result()
        cert_future.result()
        # The checks and the complete handshakes need only the enumeration: both at once.
        extra_future = pool.submit(run_checks, pool, dialer, outcomes, cert_box.get("facts"), resumption,
                                   tuple(groups.groups) if groups.version == "TLSv1.3" else ())
        checks = verify_all(pool, dialer, outcomes, cert_box.get("facts"))
        extra = extra_future.result()
    except KeyboardInterrupt:
        interrupted = True
        dialer.fatal = Fatal("interrupted", ExitCode.INTERRUPTED)
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)

    certificate, session = None, None
    if "facts" in cert_box:
        from ..certs import analyze_chain

        facts = cert_box["facts"]
        session = facts.session
        certificate = analyze_chain(list(facts.chain_der), config.expected_name, cafile=config.cafile,
                                    tlsa=config.tlsa)
    versions = tuple(
        VersionResult(v, outcomes[v].supported, _accepted(outcomes[v]), outcomes[v].server_order,
                      dialer.per_version.get(v, 0), outcomes[v].error,
                      checks[v].completed if v in checks else None,
                      checks[v].detail if v in checks else None, tuple(outcomes[v].closed_on))
        for v in sorted(outcomes, key=_ORDER.get))
    findings = _judge(config, versions, certificate, cert_box.get("error")) \
        + handshake_findings(outcomes, checks) + (check_findings(extra, versions) if extra else [])
    exit_code, error = _verdict(dialer, versions, cert_box.get("error"), groups, findings, interrupted)
    return TlsAuditResult(config, started_at, round(time.monotonic() - started, 3), dialer.peer_address,
                          session, certificate, versions, tuple(groups.groups), groups.version,
                          dialer.connections, dialer.retried, tuple(findings), exit_code, error, extra)


def _judge(config, versions, certificate, cert_error) -> list[Finding]:
    findings: list[Finding] = []
    by_version = {v.version: v for v in versions}
    legacy = [v.version for v in versions if v.version in LEGACY_VERSIONS and v.supported]
    if legacy:
        findings.append(tls_legacy_version(legacy, detail="accepts " + ", ".join(
            f"{v} ({len(by_version[v].suites)} suites)" for v in legacy)))
    accepted = [(v, s) for v in versions for s in v.suites]
    tls13 = by_version.get("TLSv1.3")
    findings += [f for f in (
        audit_rules.cipher_weak([(v.version, s.iana_name, s.weakness) for v, s in accepted]),
        audit_rules.cipher_no_forward_secrecy([(s.iana_name, s.forward_secret) for _, s in accepted]),
        audit_rules.tls13_not_supported(tls13 is not None, bool(tls13 and tls13.supported),
                                        tls13.error if tls13 is not None else None),
        audit_rules.no_server_cipher_order([v.version for v in versions if v.server_order is False]),
    ) if f is not None]
    if certificate is not None:
        findings.extend(certificate.findings)
    return findings


def _verdict(dialer, versions, cert_error, groups, findings, interrupted):
    if interrupted:
        return ExitCode.INTERRUPTED, "interrupted"
    if dialer.fatal is not None:
        return dialer.fatal.exit_code, str(dialer.fatal)
    if dialer.connections == 0 or (dialer.peer_address is None and cert_error):
        return ExitCode.CONNECT, f"connect: {cert_error or 'no connection'}"
    picked = [v for v in versions if v.supported]
    if picked and all(v.handshake_completed is False for v in picked):
        return ExitCode.TLS, "no TLS handshake completes: " + "; ".join(
            f"{v.version}: {v.handshake_detail}" for v in picked)
    incomplete = [f"{v.version}: {v.error}" for v in versions if v.error]
    if cert_error:
        incomplete.insert(0, f"certificate: {cert_error}")
    if groups.error:
        incomplete.append(f"groups: {groups.error}")
    if incomplete:
        return ExitCode.INCOMPLETE, "; ".join(incomplete)
    if not any(v.supported for v in versions):
        return ExitCode.TLS, "the server accepted no TLS version and no cipher suite"
    if any(f.severity is Severity.ERROR for f in findings):
        return ExitCode.FINDINGS, None
    return ExitCode.OK, None


__all__ = ["TlsAuditConfig", "TlsAuditResult", "VersionResult", "AcceptedSuite", "run_tls_audit",
           "ALL_VERSIONS", "VERSIONS", "STARTTLS", "IMPLICIT"]
