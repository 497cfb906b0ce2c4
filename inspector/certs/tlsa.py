"""DANE for SMTP: TLSA records (RFC 6698 §2) matched against the chain a server sent (RFC 7672 §3).

The findings these results lead to (tlsa-mismatch, tlsa-unusable) are decided in
``inspector.rules.certificates``.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from inspector.errors import UsageError

from ..frozen import frozen
from .describe import der_of, spki_der
from .shape import issuer_path


@frozen
class TlsaRecord:
    """One DANE TLSA record (RFC 6698 §2.1): certificate usage, selector, matching type, data."""

    usage: int
    selector: int
    matching_type: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.matching_type} {self.data.hex()}"


@frozen
class TlsaResult:
    record: TlsaRecord
    usable: bool                 #: RFC 7672 §3.1.3: only DANE-TA(2) and DANE-EE(3) are usable for SMTP
    matched: bool
    detail: str


def parse_tlsa(text: str) -> TlsaRecord:
    """``"U S M HEX"`` as in a TLSA RR's presentation form (RFC 6698 §2.2); UsageError if malformed."""
    parts = text.split()
    if len(parts) < 4 or not all(p.isascii() and p.isdigit() for p in parts[:3]):
        raise UsageError(f"--tlsa {text!r}: expected \"USAGE SELECTOR MATCHING-TYPE HEX\", "
                         "e.g. \"3 1 1 ab12...\"")
    usage, selector, matching = (int(p) for p in parts[:3])
    if usage > 3 or selector > 1 or matching > 2:
        raise UsageError(f"--tlsa {text!r}: usage 0-3, selector 0-1 and matching type 0-2 (RFC 6698 §2.1)")
    try:
        data = bytes.fromhex("".join(parts[3:]))
    except ValueError:
        raise UsageError(f"--tlsa {text!r}: the association data is not hexadecimal") from None
    expected = {1: 32, 2: 64}.get(matching)
    if expected is not None and len(data) != expected:
        raise UsageError(f"--tlsa {text!r}: matching type {matching} needs {expected} bytes, "
                         f"got {len(data)}")
    return TlsaRecord(usage, selector, matching, data)


def _tlsa_selected(cert: x509.Certificate, selector: int) -> bytes:
    if selector == 0:
        return der_of(cert)
    return spki_der(cert.public_key())


def tlsa_matches(record: TlsaRecord, cert: x509.Certificate) -> bool:
    """RFC 6698 §2.1.2-2.1.3: selector picks full certificate or SPKI; matching type 0/1/2."""
    try:
        selected = _tlsa_selected(cert, record.selector)
    except Exception:
        return False
    if record.matching_type == 1:
        digest = hashes.Hash(hashes.SHA256())
    elif record.matching_type == 2:
        digest = hashes.Hash(hashes.SHA512())
    else:
        return selected == record.data
    digest.update(selected)
    return digest.finalize() == record.data


def check_tlsa(records, sent: list[x509.Certificate], hostname_match: bool) -> tuple[TlsaResult, ...]:
    """DANE for SMTP (RFC 7672 §3.1): DANE-EE(3) matches the leaf alone, names and dates ignored;
    DANE-TA(2) matches a CA certificate on the leaf's issuer path, and the name must match.
    PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (RFC 7672 §3.1.3)."""
    results = []
    path = issuer_path(sent) if sent else []
    for record in records:
        if record.usage not in (2, 3):
            results.append(TlsaResult(record, False, False,
                                      f"usage {record.usage} is not usable for SMTP (RFC 7672 §3.1.3)"))
            continue
        if record.selector not in (0, 1) or record.matching_type not in (0, 1, 2):
            results.append(TlsaResult(record, False, False, f"selector {record.selector} or matching "
                                      f"type {record.matching_type} is unknown (RFC 6698 §2.1)"))
            continue
        if record.usage == 3:
            ok = bool(sent) and tlsa_matches(record, sent[0])
            results.append(TlsaResult(record, True, ok, "leaf matches" if ok else "leaf does not match"))
            continue
        matched = next((i for i in path[1:] if tlsa_matches(record, sent[i])), None)
        if matched is None:
            results.append(TlsaResult(record, True, False,
                                      "no certificate on the leaf's issuer path matches"))
        elif not hostname_match:
            results.append(TlsaResult(record, True, False,
                                      f"chain[{matched}] matches but the leaf does not name the server "
                                      "(RFC 7672 §3.2.2)"))
        else:
            results.append(TlsaResult(record, True, True, f"trust anchor chain[{matched}] matches"))
    return tuple(results)


def match_tlsa(records, der_chain, *, hostname_match: bool) -> tuple[TlsaResult, ...]:
    """:func:`check_tlsa` on certificates as sent (DER, leaf first); unparsable ones are left out."""
    sent = []
    for der in der_chain:
        try:
            sent.append(x509.load_der_x509_certificate(der))
        except ValueError:
            break
    return check_tlsa(records, sent, hostname_match)
