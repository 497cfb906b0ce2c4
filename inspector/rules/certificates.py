"""Certificate and DANE findings: one pure function per id, from :class:`ChainFacts` to a Finding.

The facts come from ``inspector.certs.analyze_chain``; the trust verdict in them is OpenSSL's
(what OpenSSL-based mail clients decide). De-duplication policy, the same for every id: at
most one finding per id per chain; evidence from several certificates is joined with "; ",
each distinct piece once; findings come in catalogue order.
"""

from __future__ import annotations

import datetime

from inspector.certs.describe import iso_utc, span
from inspector.certs.facts import ChainFacts
from inspector.findings import CATALOGUE, Finding, make_finding

EXPIRY_WARNING_DAYS = 30
MIN_RSA_DSA_BITS = 2048
MIN_EC_BITS = 256
#: OpenSSL X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: an issuer is neither sent nor trusted
UNABLE_TO_GET_LOCAL_ISSUER = 20


def _finding(finding_id: str, parts) -> Finding | None:
    """One rule's evidence: its distinct pieces, in order, joined; None if none.

    (Across findings, :class:`inspector.findings.FindingList` is the one de-duplication policy.)
    """
    distinct = list(dict.fromkeys(p for p in parts if p))
    return make_finding(finding_id, "; ".join(distinct)) if distinct else None


def _short_sans(sans: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(sans[:limit])
    return shown + (f" (+{len(sans) - limit} more)" if len(sans) > limit else "")


def cert_untrusted(facts: ChainFacts) -> Finding | None:
    """RFC 5280 §6.1: no valid path from the leaf to a trust anchor (OpenSSL's X509_verify_cert)."""
    if facts.sent_count == 0:
        return _finding("cert-untrusted", ["server sent no certificate"])
    trust = facts.trust
    if trust.trusted:
        return None
    return _finding("cert-untrusted", [trust.detail or trust.reason])


def cert_hostname_mismatch(facts: ChainFacts) -> Finding | None:
    """RFC 6125 §6.4: the leaf must name the server (SAN; the CN only without any SAN)."""
    if facts.leaf is None or facts.hostname_match or not facts.servername:
        return None
    leaf = facts.certificates[0].info
    presented = (f"SANs: {_short_sans(leaf.sans)}" if facts.leaf.has_san
                 else f"no SAN, CN {', '.join(facts.leaf.common_names) or '(none)'}")
    return _finding("cert-hostname-mismatch", [f"{presented}, servername {facts.servername}"])


def cert_no_san(facts: ChainFacts) -> Finding | None:
    """RFC 6125 §6.4.4: a leaf without subjectAltName relies on the deprecated CN fallback."""
    if facts.leaf is None or facts.leaf.has_san:
        return None
    return _finding("cert-no-san", [f"leaf {facts.certificates[0].info.subject} has no subjectAltName"])


def cert_self_signed(facts: ChainFacts) -> Finding | None:
    """RFC 5280 §6.1: a self-signed leaf is trusted only when pinned as its own anchor."""
    if facts.leaf is None or not facts.certificates[0].info.self_signed:
        return None
    return _finding("cert-self-signed", [f"leaf {facts.certificates[0].info.subject} is its own issuer"])


def cert_expired(facts: ChainFacts) -> Finding | None:
    """RFC 5280 §4.1.2.5: the validity period must contain the current time."""
    now = facts.now
    return _finding("cert-expired", [
        f"{c.position} notAfter {iso_utc(c.not_after)}, {span(now - c.not_after)} ago"
        for c in facts.certificates if now > c.not_after])


def cert_not_yet_valid(facts: ChainFacts) -> Finding | None:
    """RFC 5280 §4.1.2.5: notBefore lies in the future."""
    now = facts.now
    return _finding("cert-not-yet-valid", [
        f"{c.position} notBefore {iso_utc(c.not_before)}, in {span(c.not_before - now)}"
        for c in facts.certificates if now < c.not_before and not now > c.not_after])


def cert_expiring_soon(facts: ChainFacts) -> Finding | None:
    """RFC 5280 §4.1.2.5: the leaf expires within EXPIRY_WARNING_DAYS."""
    now, soon = facts.now, datetime.timedelta(days=EXPIRY_WARNING_DAYS)
    return _finding("cert-expiring-soon", [
        f"{c.position} notAfter {iso_utc(c.not_after)}, in {span(c.not_after - now)}"
        for c in facts.certificates
        if c.index == 0 and c.not_before <= now <= c.not_after and c.not_after - now <= soon])


def cert_weak_key(facts: ChainFacts) -> Finding | None:
    """RFC 9325 §4.3: RSA/DSA keys of at least 2048 bits, EC keys of at least 256."""
    parts = []
    for c in facts.certificates:
        info = c.info
        if ((info.key_type in ("RSA", "DSA") and info.key_bits < MIN_RSA_DSA_BITS)
                or (info.key_type == "EC" and info.key_bits < MIN_EC_BITS)):
            curve = f" ({info.curve})" if info.curve else ""
            parts.append(f"{c.position}: {info.key_type} {info.key_bits} bits{curve}")
    return _finding("cert-weak-key", parts)


def cert_sha1_signature(facts: ChainFacts) -> Finding | None:
    """RFC 9155 §5: SHA-1 (or MD5) signatures; a root's self-signature is not relied upon."""
    return _finding("cert-sha1-signature", [
        f"{c.position}: {c.info.signature_algorithm}" for c in facts.certificates
        if c.weak_hash and not (c.index > 0 and c.info.self_signed)])


def cert_no_server_auth_eku(facts: ChainFacts) -> Finding | None:
    """RFC 5280 §4.2.1.12: with an EKU extension, the key may serve TLS only if it lists serverAuth."""
    leaf = facts.leaf
    if leaf is None or not facts.complete:
        return None
    if leaf.eku_undecodable:
        return _finding("cert-no-server-auth-eku", ["leaf extendedKeyUsage cannot be decoded"])
    if leaf.eku_allows_server:
        return None
    names = ", ".join(leaf.eku or ()) or "none"
    return _finding("cert-no-server-auth-eku", [f"leaf extendedKeyUsage lists {names}, not serverAuth"])


def cert_missing_intermediate(facts: ChainFacts) -> Finding | None:
    """RFC 5246 §7.4.2, RFC 8446 §4.4.2: the server must send the intermediates its leaf needs.

    Only when OpenSSL found no local issuer and the absent issuer is shown not to be a root:
    a leaf signed directly by an unknown root is cert-untrusted alone (issue 19 case 11).
    """
    absent = facts.absent_issuer
    if (facts.trust.verify_error != UNABLE_TO_GET_LOCAL_ISSUER or absent is None
            or absent.not_a_root is None or not facts.complete):
        return None
    return _finding("cert-missing-intermediate", [
        f"{absent.position} was issued by {absent.issuer}, which the server did not send and no "
        f"trust anchor is; {absent.not_a_root}"])


def cert_chain_order(facts: ChainFacts) -> Finding | None:
    """RFC 5246 §7.4.2: each certificate must directly certify the one preceding it."""
    if facts.chain_order is None or not facts.complete:
        return None
    return _finding("cert-chain-order", [
        f"the issuer path is {facts.chain_order}; each certificate must directly follow the one it "
        "certifies"])


def cert_profile_nonconforming(facts: ChainFacts) -> Finding | None:
    """RFC 5280 §4.2 conformance / CA/B Forum profile: OpenSSL clients trust it, stricter verifiers do not."""
    if not facts.trust.trusted:
        return None
    return _finding("cert-profile-nonconforming", facts.trust.departures)


def tlsa_unusable(results, where: str = "") -> Finding | None:
    """RFC 7672 §3.1.3: PKIX-TA(0)/PKIX-EE(1) and unknown parameters are not used by SMTP clients.

    ``results``: the chain's facts, or the TLSA comparison of each record
    (``certs.tlsa.match_tlsa``, as discover has it); ``where``: the TLSA name
    for discover's MX rows.
    """
    results = getattr(results, "tlsa", results)
    parts = [f"{r.record}: {r.detail}" for r in results if not r.usable]
    if where and parts:
        parts = [f"{where}: " + "; ".join(parts)]
    return _finding("tlsa-unusable", parts)


def tlsa_mismatch(results, where: str = "") -> Finding | None:
    """RFC 7672 §3.1: at least one usable TLSA record must match the chain (arguments as above)."""
    usable = [r for r in getattr(results, "tlsa", results) if r.usable]
    if not usable or any(r.matched for r in usable):
        return None
    shown = "; ".join(f"{r.record.usage} {r.record.selector} {r.record.matching_type} ...: {r.detail}"
                      for r in usable)
    return make_finding("tlsa-mismatch", f"{where}: {shown}" if where else shown)


RULES = (cert_untrusted, cert_hostname_mismatch, cert_no_san, cert_self_signed, cert_expired,
         cert_not_yet_valid, cert_expiring_soon, cert_weak_key, cert_sha1_signature,
         cert_no_server_auth_eku, cert_missing_intermediate, cert_chain_order,
         cert_profile_nonconforming, tlsa_unusable, tlsa_mismatch)


def judge_chain(facts: ChainFacts) -> tuple[Finding, ...]:
    """Every certificate finding for one chain, in catalogue order."""
    found = {f.id: f for f in (rule(facts) for rule in RULES) if f is not None}
    return tuple(found[fid] for fid in CATALOGUE if fid in found)
