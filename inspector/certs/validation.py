"""Path validation (RFC 5280 §6.1) as OpenSSL-based mail clients do it, and stricter profiles.

The trust verdict is OpenSSL's X509_verify_cert (:mod:`inspector.certs.openssl`) with the
"ssl_server" purpose and the client security level: what ``openssl s_client
-verify_return_error``, Postfix, swaks and Python's ``ssl`` decide for the same trust store.
A trust anchor is a name and a key (RFC 5280 §6.1.1 (d)); its extensions are not inputs.

A chain those clients accept may still break a stricter profile: OpenSSL's X509_STRICT
RFC 5280 checks (set by Python 3.13's ``ssl.create_default_context()``) and the CA/Browser
Forum web PKI profile (checked with ``cryptography``'s verifier). Those are
:attr:`TrustVerdict.departures`, warnings that do not change the verdict.
"""

from __future__ import annotations

import datetime
import re
import threading

from cryptography import x509

from inspector.errors import UsageError

from ..frozen import frozen
from . import openssl
from .describe import (
    der_of,
    key_size,
    load_der,
    name_string,
    one_line,
    position,
    signature_algorithm_name,
    subject_alt_names,
)
from .store import anchors_for, load_trust_anchors

ISSUER_NOT_FOUND = ("unable to get local issuer certificate: the issuer is neither sent by the server "
                    "nor in the trust store (an unknown root or a missing intermediate)")
SELF_SIGNED = "self-signed certificate"
SELF_SIGNED_IN_CHAIN = ("self-signed certificate in certificate chain: the server sent a root the "
                        "trust store does not hold")
ISSUER_OF_ANCHOR_NOT_FOUND = ("unable to get issuer certificate: the trust store holds a CA but not "
                              "the root above it (OpenSSL clients need the self-signed root)")
_NAME_CONSTRAINT_ERRORS = frozenset({47, 48, 49, 51, 52, 53})
_KEY_TOO_SMALL = frozenset({66, 67})
_DIGEST_TOO_WEAK = 68
_OID_NAMES = {"2.5.29.15": "keyUsage", "2.5.29.19": "basicConstraints",
              "2.5.29.14": "subjectKeyIdentifier", "2.5.29.35": "authorityKeyIdentifier",
              "2.5.29.37": "extendedKeyUsage", "2.5.29.17": "subjectAltName",
              "2.5.29.30": "nameConstraints", "2.5.29.32": "certificatePolicies"}


@frozen
class TrustVerdict:
    """The trust decision and, when refused, OpenSSL's error class and a reason a person can act on."""

    trusted: bool
    reason: str | None                 #: None when trusted
    detail: str | None = None          #: the reason naming the certificate (the finding's evidence)
    verify_error: int | None = None    #: X509_V_ERR number (0: verified), None without a verdict
    verify_depth: int | None = None
    departures: tuple[str, ...] = ()   #: stricter verifiers that would reject a trusted chain


def _where(verdict: openssl.OpenSslVerdict,
           sent: list[x509.Certificate]) -> tuple[str, x509.Certificate | None]:
    """Position (as sent) of the certificate OpenSSL's error depth points at."""
    if verdict.depth >= len(verdict.chain):
        return f"depth {verdict.depth}", None
    der = verdict.chain[verdict.depth]
    for index, cert in enumerate(sent):
        if der_of(cert) == der:
            return position(index, cert), cert
    try:
        anchor = load_der(der)
    except Exception:
        return "the trust anchor", None
    return f"the trust anchor {name_string(lambda: anchor.subject)}", anchor


def _reason(verdict: openssl.OpenSslVerdict, sent: list[x509.Certificate]) -> tuple[str, str | None]:
    """(reason, detail) for a refused chain, by OpenSSL's error class."""
    where, cert = _where(verdict, sent)
    code, message = verdict.error, verdict.message
    if code == 20:
        issuer = name_string(lambda: cert.issuer) if cert is not None else "?"
        return ISSUER_NOT_FOUND, (f"unable to get local issuer certificate: the issuer of {where}, "
                                  f"{issuer}, is neither sent by the server nor in the trust store "
                                  "(an unknown root, or an intermediate the server should send)")
    if code == 18:
        return SELF_SIGNED, None
    if code == 19:
        return SELF_SIGNED_IN_CHAIN, (f"self-signed certificate in certificate chain: {where} is a root "
                                      "the trust store does not hold")
    if code == 2:
        return ISSUER_OF_ANCHOR_NOT_FOUND, (f"unable to get issuer certificate: the trust store holds "
                                            f"{where} but not the root above it (OpenSSL clients need "
                                            "the self-signed root)")
    if code == 10:
        return f"certificate expired ({where})", None
    if code == 9:
        return f"certificate not yet valid ({where})", None
    if code in _NAME_CONSTRAINT_ERRORS:
        return f"name constraints: {message} ({where})", None
    if code in _KEY_TOO_SMALL and cert is not None:
        kind, bits = key_size(cert)
        return (f"{message} ({where}): the {kind} key is too weak for security level "
                f"{verdict.security_level} ({bits} bits)"), None
    if code == _DIGEST_TOO_WEAK and cert is not None:
        return (f"{message} ({where}): {signature_algorithm_name(cert)} is too weak for security "
                f"level {verdict.security_level}"), None
    return f"{message} ({where})", None


#: (DER chain as sent, cafile) -> (judged at, reusable until, verdict): see :func:`validate`.
_VERDICTS: dict[tuple, tuple[float, float, TrustVerdict]] = {}
_VERDICTS_LOCK = threading.Lock()
MAX_REMEMBERED_VERDICTS = 4096


def validate(sent: list[x509.Certificate], cafile: str | None, now: datetime.datetime) -> TrustVerdict:
    """RFC 5280 §6.1 path validation of ``sent`` (leaf first) as an OpenSSL TLS client does it.

    The same chain against the same trust store gets the same verdict until ``now`` crosses a
    notBefore or notAfter of a certificate on the path (the only time the verdict depends on),
    so a verdict is remembered per process until then: a scan meets one shared-hosting
    chain at thousands of addresses and judges it once (the hostname is checked apart).
    """
    key = (tuple(der_of(c) for c in sent), cafile)
    at = now.timestamp()
    with _VERDICTS_LOCK:
        remembered = _VERDICTS.get(key)
    if remembered is not None and remembered[0] <= at < remembered[1]:
        return remembered[2]
    verdict, anchors = _validate(sent, list(key[0]), cafile, now)
    if anchors is not None:
        until = _next_validity_boundary(sent, anchors, at)
        with _VERDICTS_LOCK:
            if len(_VERDICTS) >= MAX_REMEMBERED_VERDICTS:
                _VERDICTS.pop(next(iter(_VERDICTS)))
            _VERDICTS[key] = (at, until, verdict)
    return verdict


def _next_validity_boundary(sent: list[x509.Certificate], anchors: tuple[bytes, ...], at: float) -> float:
    """The first notBefore/notAfter after ``at`` of any certificate sent or of an anchor a path
    could use, less a second (OpenSSL compares whole seconds): until then a verdict cannot change."""
    certificates = list(sent)
    sent_ders = set(der_of(c) for c in sent)
    for der in anchors:
        if der not in sent_ders:
            try:
                certificates.append(load_der(der))
            except Exception:
                return at   # not parsable here: do not remember
    bounds = [t.timestamp() for c in certificates for t in (c.not_valid_before_utc, c.not_valid_after_utc)]
    return min((b - 1 for b in bounds if b - 1 > at), default=float("inf"))


def _validate(sent: list[x509.Certificate], ders: list[bytes], cafile: str | None,
              now: datetime.datetime) -> tuple[TrustVerdict, tuple[bytes, ...] | None]:
    """The verdict, and the trust anchors a path could use (None: a verdict not to remember)."""
    try:
        anchors = anchors_for(sent, cafile)
    except UsageError as exc:
        return TrustVerdict(False, str(exc)), None
    try:
        verdict = openssl.verify(ders, anchors, at=now.timestamp())
    except ValueError as exc:
        return TrustVerdict(False, f"certificate could not be parsed: {one_line(exc)}"), ()
    except openssl.OpenSslUnavailable:
        return _without_openssl(sent, cafile, now), None
    if not verdict.ok:
        reason, detail = _reason(verdict, sent)
        return TrustVerdict(False, reason, detail, verdict.error, verdict.depth), tuple(anchors)
    strict = openssl.verify(ders, anchors, at=now.timestamp(), strict=True)
    departures = []
    if not strict.ok:
        departures.append("OpenSSL with X509_STRICT (RFC 5280 conformance checks, as Python 3.13's "
                          f"ssl.create_default_context() sets) rejects it: {_reason(strict, sent)[0]}")
    web = _web_pki_rejection(sent, verdict.chain[-1] if verdict.chain else None, now)
    if web:
        departures.append("a CA/Browser Forum web PKI verifier (Python cryptography's) rejects it: " + web)
    return TrustVerdict(True, None, None, verdict.error, verdict.depth, tuple(departures)), tuple(anchors)


def _without_openssl(sent: list[x509.Certificate], cafile: str | None,
                     now: datetime.datetime) -> TrustVerdict:
    """Last resort where no OpenSSL libcrypto can be loaded: cryptography's web PKI verifier,
    stricter than OpenSSL clients, and the reason says so."""
    from cryptography.x509.verification import PolicyBuilder, Store

    subject = _verifier_subject(sent[0])
    anchors = load_trust_anchors(cafile)
    note = "(judged by cryptography's web PKI verifier: OpenSSL's libcrypto could not be loaded)"
    if subject is None or not anchors:
        return TrustVerdict(False, f"leaf has no usable subjectAltName or no trust anchor {note}")
    try:
        PolicyBuilder().store(Store(anchors)).time(now).build_server_verifier(subject).verify(
            sent[0], sent[1:])
    except Exception as exc:
        return TrustVerdict(False, f"{_explain_profile_error(exc)} {note}")
    return TrustVerdict(True, None)


def _verifier_subject(leaf: x509.Certificate):
    """A name the leaf itself presents, so the profile is judged apart from the hostname."""
    from cryptography.x509.verification import DNSName, IPAddress

    san = subject_alt_names(leaf)
    if san is None:
        return None
    for pattern in san.get_values_for_type(x509.DNSName):
        concrete = "x" + pattern[1:] if pattern.startswith("*.") else pattern
        try:
            return DNSName(concrete)
        except Exception:
            continue
    for address in san.get_values_for_type(x509.IPAddress):
        try:
            return IPAddress(address)
        except Exception:
            continue
    return None


def _web_pki_rejection(sent: list[x509.Certificate], anchor_der: bytes | None,
                       now: datetime.datetime) -> str | None:
    """Why ``cryptography``'s CA/B Forum profile verifier refuses the path OpenSSL accepted, if it does.

    A leaf without subjectAltName is left to cert-no-san (one cause, one finding).
    """
    from cryptography.x509.verification import PolicyBuilder, Store

    leaf = sent[0]
    subject = _verifier_subject(leaf)
    if subject is None or anchor_der is None:
        return None
    try:
        anchor = load_der(anchor_der)
        verifier = PolicyBuilder().store(Store([anchor])).time(now).build_server_verifier(subject)
        verifier.verify(leaf, sent[1:])
    except Exception as exc:  # VerificationError, ValueError, UnsupportedAlgorithm
        return _explain_profile_error(exc)
    return None


def _explain_profile_error(exc: Exception) -> str:
    message = one_line(exc, limit=1000)
    subject = re.search(r"subject=<Name\((.*?)\)>", message)
    message = re.sub(r"^validation failed:\s*", "", message)
    message = re.sub(r"\s*\(encountered processing <Certificate.*$", "", message)
    message = re.sub(r"^candidates exhausted:\s*", "", message)
    message = re.sub(r"\b(2\.5\.29\.\d+)\b",
                     lambda m: f"{_OID_NAMES[m.group(1)]} ({m.group(1)})" if m.group(1) in _OID_NAMES
                     else m.group(1), message)
    if subject:
        message += f" (in {subject.group(1)})"
    return one_line(Exception(message))
