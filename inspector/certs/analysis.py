"""Describe and judge the chain a server presented: facts gathered here, findings from the rules.

Nothing in :func:`analyze_chain` raises on bad input: unparsable certificates, undecodable
extensions and verifier errors all become data in the report.
"""

from __future__ import annotations

import datetime
import functools
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from inspector.findings import Finding

from ..frozen import frozen
from .describe import (
    CertificateInfo,
    as_utc,
    common_names,
    describe_certificate,
    load_der,
    one_line,
    position,
    subject_alt_names,
    uses_weak_hash,
)
from .facts import CertFacts, ChainFacts, LeafFacts
from .names import hostname_matches
from .shape import absent_issuer, order_problem
from .validation import TrustVerdict, validate

if TYPE_CHECKING:
    from .tlsa import TlsaResult


@frozen
class CertificateReport:
    """The verdict on the chain a server presented; findings are merged by the caller."""

    servername: str
    chain: tuple[CertificateInfo, ...]
    hostname_match: bool
    trusted: bool
    trust_error: str | None
    findings: tuple[Finding, ...]
    tlsa: tuple[TlsaResult, ...] = ()
    #: OpenSSL's X509_V_ERR number for the chain (0: verified; None: no verdict was possible)
    verify_error: int | None = None


def _leaf_facts(leaf: x509.Certificate) -> LeafFacts:
    eku, undecodable = None, False
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        eku = tuple(getattr(oid, "_name", oid.dotted_string) for oid in usages)
        allows = bool({ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
                      & set(usages))
    except x509.ExtensionNotFound:
        allows = True
    except Exception:
        undecodable, allows = True, False
    return LeafFacts(has_san=subject_alt_names(leaf) is not None,
                     common_names=tuple(common_names(leaf)), eku=eku, eku_undecodable=undecodable,
                     eku_allows_server=allows)


@functools.lru_cache(maxsize=1024)
def _parsed(der: bytes) -> tuple[x509.Certificate, CertificateInfo, bool]:
    """A certificate parsed, described, and whether its signature hash is weak: functions of its
    bytes alone, kept per process (a scan meets one shared-hosting certificate at many servers).
    Raises as parsing does (not kept)."""
    cert = load_der(der)
    return cert, describe_certificate(cert), uses_weak_hash(cert)


@functools.lru_cache(maxsize=1024)
def _leaf_facts_of(der: bytes) -> LeafFacts:
    return _leaf_facts(_parsed(der)[0])


#: Size caps on what a server sends: real certificates are 1-4 KB, real chains 2-5 certificates.
MAX_CERTIFICATE_BYTES = 64 * 1024
MAX_CHAIN_CERTIFICATES = 16
MAX_CHAIN_BYTES = 256 * 1024


def _bounded_chain(der_chain) -> tuple[list[bytes], str | None]:
    """The first certificates of a chain within MAX_CHAIN_CERTIFICATES and MAX_CHAIN_BYTES."""
    kept, size = [], 0
    for der in der_chain:
        size += len(der)
        if len(kept) >= MAX_CHAIN_CERTIFICATES or size > MAX_CHAIN_BYTES:
            return kept, (f"chain cut after {len(kept)} of {len(der_chain)} certificates (caps: "
                          f"{MAX_CHAIN_CERTIFICATES} certificates, {MAX_CHAIN_BYTES:,} bytes)")
        kept.append(der)
    return kept, None


def analyze_chain(der_chain: list[bytes], servername: str, *, cafile: str | None = None,
                  now: datetime.datetime | None = None, tlsa=()) -> CertificateReport:
    """Describe and judge the certificates a server sent (leaf first). Never raises."""
    from inspector.rules.certificates import judge_chain

    now = as_utc(now) if now is not None else datetime.datetime.now(datetime.timezone.utc)
    sent: list[x509.Certificate] = []
    facts_of: list[CertFacts] = []
    der_chain, parse_error = _bounded_chain(der_chain)
    for index, der in enumerate(der_chain):
        if len(der) > MAX_CERTIFICATE_BYTES:
            parse_error = parse_error or (f"certificate not parsed: chain[{index}] is {len(der):,} "
                                          f"bytes, over the {MAX_CERTIFICATE_BYTES:,}-byte cap")
            continue
        try:
            cert, info, weak = _parsed(bytes(der))
        except Exception as exc:
            if parse_error is None:
                parse_error = f"certificate could not be parsed: chain[{index}]: {one_line(exc)}"
            continue
        sent.append(cert)
        facts_of.append(CertFacts(index, position(index, cert), info, cert.not_valid_before_utc,
                                  cert.not_valid_after_utc, weak))

    leaf = sent[0] if facts_of and facts_of[0].index == 0 else None
    complete = parse_error is None and leaf is not None
    if not der_chain:
        trust = TrustVerdict(False, "server sent no certificate")
    elif not complete:
        trust = TrustVerdict(False, parse_error or "certificate could not be parsed")
    else:
        trust = validate(sent, cafile, now)
    hostname_match = leaf is not None and hostname_matches(leaf, servername)
    tlsa_results: tuple = ()
    if tlsa:  # DANE is asked for by tls --tlsa and discover only: load it only then
        from .tlsa import check_tlsa
        tlsa_results = check_tlsa(tlsa, sent if complete else [], hostname_match)
    facts = ChainFacts(
        servername=servername, now=now, sent_count=len(der_chain),
        certificates=tuple(facts_of), leaf=_leaf_facts_of(bytes(der_chain[0])) if leaf is not None else None,
        complete=complete, hostname_match=hostname_match, trust=trust,
        chain_order=order_problem(sent) if complete else None,
        absent_issuer=absent_issuer(sent) if complete and not trust.trusted else None,
        tlsa=tlsa_results)
    return CertificateReport(
        servername=servername,
        chain=tuple(f.info for f in facts_of),
        hostname_match=hostname_match,
        trusted=trust.trusted,
        trust_error=trust.reason,
        findings=judge_chain(facts),
        tlsa=tlsa_results,
        verify_error=trust.verify_error,
    )
