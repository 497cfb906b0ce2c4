"""The vulnerability and protocol-feature checks of ``smtp-inspector tls``: which connections they cost.

Most answers are already in the enumeration's ServerHellos
(:mod:`inspector.tls.checks.features`: renegotiation_info, extended master
secret, encrypt-then-MAC, compression, tickets, status_request and the
stapled OCSP response, SCTs, heartbeat, ServerKeyExchange signatures).
Connections are added only for the rest, all through the audit's dialer:

- TLS_FALLBACK_SCSV (RFC 7507): one ClientHello one version below the best;
- CCS injection: one; ROBOT: five (only with an RSA key-exchange suite);
  Heartbleed: one, only when the server echoed the heartbeat extension
  (skipped, all three, with ``--no-attacks``; :mod:`.tls_attacks`);
- client-initiated renegotiation: one (:mod:`.tls_renegotiation`);
- the TLS 1.3 CertificateVerify signature schemes: one per scheme + 1 (:mod:`.tls_signatures`);
- session resumption: two per kind (:mod:`.tls_resumption`), the TLS 1.3
  pair also reading the EHLO reply inside TLS (REQUIRETLS, RFC 8689 §4);
- TLS-RPT (RFC 8460 §3): one DNS TXT query for ``_smtp._tls.DOMAIN`` with ``--domain``.
"""

from __future__ import annotations

from ..frozen import frozen
from ..tls.checks.features import Features, heartbeat_versions, read_features
from ..tls.checks.ocsp import StapledOcsp, embedded_scts, read_ocsp
from ..tls.enumerate import Offer, Unreachable, family
from ..tls.suites import SUITES
from . import tls_attacks, tls_renegotiation, tls_resumption, tls_signatures

_ORDER = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


@frozen
class Fallback:
    honoured: bool | None        #: None: not determined or not applicable
    detail: str


@frozen
class TlsRpt:
    records: tuple[str, ...]     #: the TXT records that start with v=TLSRPTv1
    state: str                   #: discover.dns lookup state ("found", "none", "nxdomain", ...)
    detail: str


@frozen
class TlsChecks:
    features: Features
    ocsp: StapledOcsp | None
    embedded_scts: int
    fallback: Fallback
    heartbleed: tls_attacks.AttackResult | None      #: None: skipped (--no-attacks)
    ccs_injection: tls_attacks.AttackResult | None
    robot: tls_attacks.AttackResult | None
    renegotiation: tls_renegotiation.Renegotiation
    resumption: tuple[tls_resumption.Resumption, ...]
    requiretls: bool | None
    tls_rpt: TlsRpt | None
    tls13_signatures: tls_signatures.Tls13Signatures | None = None   #: None: no TLS 1.3


def _best(outcomes) -> list[str]:
    return sorted((v for v, o in outcomes.items() if o.supported), key=_ORDER.index, reverse=True)


def fallback(dialer, outcomes) -> Fallback:
    """RFC 7507 §3: a hello below the server's best version, with the SCSV, must be refused."""
    supported = _best(outcomes)
    if not supported or supported[0] == "SSLv3":
        return Fallback(None, "not applicable: no version below the best to fall back to")
    lower = _ORDER[_ORDER.index(supported[0]) - 1]
    if lower == "SSLv3" and lower not in supported:
        return Fallback(None, "not applicable: the server accepts only one version")
    accepted = lower in outcomes and bool(outcomes[lower].picks)
    picks = outcomes[lower].picks if accepted else [
        s.code for s in SUITES if not s.scsv and _ORDER.index(s.min_version) <= _ORDER.index(lower)
        <= _ORDER.index(s.max_version)]
    try:
        # A close is an answer here: the same suites without the SCSV got a ServerHello.
        answer = dialer.exchange(Offer(lower, tuple(picks), fallback_scsv=True, retry_drops=not accepted),
                                 "fallback")
    except Unreachable as exc:
        return Fallback(None, f"not determined: {exc}")
    if answer.kind == "alert" and answer.alert == "inappropriate_fallback":
        return Fallback(True, f"a {lower} hello with TLS_FALLBACK_SCSV got alert inappropriate_fallback")
    if answer.kind in ("alert", "none") and accepted:
        # Dovecot 2.3 closes without sending its alert; sslyze counts any refusal as support.
        what = f"alert {answer.alert}" if answer.kind == "alert" else "the connection closed"
        return Fallback(True, f"a {lower} hello with TLS_FALLBACK_SCSV was refused ({what}), the same "
                        "hello without it accepted")
    if answer.kind == "hello":
        return Fallback(False, f"a {lower} hello with TLS_FALLBACK_SCSV got a {answer.version} ServerHello "
                        f"although the server accepts {supported[0]}")
    return Fallback(None, f"a {lower} hello with TLS_FALLBACK_SCSV got "
                    f"{'alert ' + answer.alert if answer.alert else answer.detail or 'no answer'}")


def tls_rpt(domain: str, dns_server, timeout: float, deadline_at: float) -> TlsRpt:
    """RFC 8460 §3: the TXT record at ``_smtp._tls.DOMAIN`` starting with ``v=TLSRPTv1``."""
    from ..discover.dns import DnsClient

    name = f"_smtp._tls.{domain.rstrip('.')}"
    answer = DnsClient(dns_server, timeout=timeout, deadline_at=deadline_at).query(name, "TXT")
    texts = tuple("".join(part.decode("utf-8", "replace") for part in r.strings) for r in answer.rdatas)
    records = tuple(t for t in texts if t.startswith("v=TLSRPTv1"))
    lookup = answer.lookup
    if records:
        return TlsRpt(records, "found", f"{name}: {records[0]}")
    return TlsRpt((), lookup.state if not answer.rdatas else "none",
                  f"{name}: {lookup.detail if not answer.rdatas else 'no v=TLSRPTv1 record'}")


def start_resumption(pool, dialer) -> dict:
    """The resumption pairs need no enumeration: started with it (kind -> future).

    Only kinds whose version the audit asks about; the EHLO inside TLS is
    read on the TLS 1.3 pair (else on the session-id pair).
    """
    versions = dialer.config.versions
    kinds = [k for k in tls_resumption.KINDS if ("TLSv1.3" if k == "tls13_ticket" else "TLSv1.2") in versions]
    ehlo_kind = "tls13_ticket" if "tls13_ticket" in kinds else (kinds[0] if kinds else None)
    return {kind: pool.submit(tls_resumption.resume, dialer, kind, read_ehlo=kind == ehlo_kind)
            for kind in kinds}


def run_checks(pool, dialer, outcomes, cert_facts, early: dict | None = None,
               tls13_groups: tuple[str, ...] = ()) -> TlsChecks:
    """Every check, concurrently under the dialer's limits; never raises Unreachable.

    ``early``: the futures of :func:`start_resumption`, if started with the enumeration;
    ``tls13_groups``: the TLS 1.3 groups the enumeration found (empty: unknown).
    """
    config = dialer.config
    by_version = {v: o.answers for v, o in outcomes.items() if v != "TLSv1.3"}
    features = read_features(by_version)
    leaf = cert_facts.chain_der[0] if cert_facts is not None and cert_facts.chain_der else None
    if leaf is None:
        leaf = next((a.chain_der[0] for answers in by_version.values() for a in answers if a.chain_der), None)
    ocsp = read_ocsp(features.ocsp_response, leaf) if features.ocsp_response else None

    futures = {"fallback": pool.submit(fallback, dialer, outcomes),
               "renegotiation": pool.submit(tls_renegotiation.client_renegotiation, dialer, outcomes)}
    if "TLSv1.3" in outcomes and outcomes["TLSv1.3"].supported:
        futures["signatures"] = pool.submit(tls_signatures.tls13_signatures, dialer,
                                            outcomes["TLSv1.3"].picks, tls13_groups)
    if config.attacks and features.version is not None:
        futures["ccs"] = pool.submit(tls_attacks.ccs_injection, dialer, features.version,
                                     features.hello_suite)
        futures["heartbleed"] = pool.submit(tls_attacks.heartbleed, dialer, heartbeat_versions(by_version))
        rsa = next(((v, code) for v in _best(outcomes) if v != "TLSv1.3"
                    for code in outcomes[v].picks if family(code) == "RSA"), None)
        futures["robot"] = pool.submit(tls_attacks.robot, dialer, *rsa, pool=pool) if rsa else None
    supported = set(_best(outcomes))
    resumption = {kind: future for kind, future in (early or start_resumption(pool, dialer)).items()
                  if ("TLSv1.3" if kind == "tls13_ticket" else "TLSv1.2") in supported}
    rpt = None
    if config.domain:
        rpt = tls_rpt(config.domain, config.dns_server, config.timeout, dialer.deadline)
    results = {}
    for name, future in futures.items():
        results[name] = future.result() if future is not None else tls_attacks.AttackResult(
            False, "the server picks no RSA key-exchange suite (ROBOT needs one)")
    if config.attacks and features.version is None:
        # TLS 1.3 only: no heartbeat (RFC 8446 §4.2 has none), no early CCS to take, no RSA key transport.
        for name in ("heartbleed", "ccs", "robot"):
            results[name] = tls_attacks.AttackResult(False, "not applicable: no TLS <= 1.2 ServerHello")
    resumed, ehlo = [], None
    for future in resumption.values():
        outcome, reply = future.result()
        resumed.append(outcome)
        ehlo = ehlo or reply
    keywords = tls_resumption.ehlo_keywords(ehlo)
    return TlsChecks(features, ocsp, embedded_scts(leaf), results["fallback"],
                     results.get("heartbleed"), results.get("ccs"),
                     results.get("robot"), results["renegotiation"], tuple(resumed),
                     None if keywords is None else "REQUIRETLS" in keywords, rpt, results.get("signatures"))


def check_findings(checks: TlsChecks, versions) -> list:
    """The findings of :mod:`inspector.rules.tls_vulnerabilities` for these checks and accepted suites."""
    from ..rules import tls_vulnerabilities as rules

    accepted = [(v.version, s) for v in versions for s in v.suites]
    f = checks.features
    found = [
        rules.insecure_renegotiation(f.secure_renegotiation, f.version),
        rules.client_renegotiation(checks.renegotiation.accepted, checks.renegotiation.detail),
        rules.fallback_scsv_ignored(checks.fallback.honoured, checks.fallback.detail),
        rules.compression(f.compression),
        rules.sweet32([(v, s.iana_name, s.cipher) for v, s in accepted]),
        rules.logjam([(v, s.iana_name, s.group) for v, s in accepted if s.kx == "DHE"]),
        rules.export_ciphers([(v, s.iana_name) for v, s in accepted]),
        rules.poodle([(v, s.iana_name) for v, s in accepted]),
        rules.rc4([(v, s.iana_name) for v, s in accepted]),
        rules.no_extended_master_secret(f.extended_master_secret, f.version),
    ]
    for name, rule in (("heartbleed", rules.heartbleed), ("ccs_injection", rules.ccs_injection),
                       ("robot", rules.robot)):
        result = getattr(checks, name)
        if result is not None:
            found.append(rule(result.vulnerable, result.detail))
    if checks.ocsp is not None:
        found.append(rules.ocsp_stapled_invalid(checks.ocsp.valid, checks.ocsp.detail))
    if checks.tls_rpt is not None:
        found.append(rules.tls_rpt_missing(checks.tls_rpt.state, checks.tls_rpt.detail))
    return [finding for finding in found if finding is not None]
