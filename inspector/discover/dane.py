"""DANE for SMTP (RFC 7672, RFC 6698): does an MX's certificate chain match its TLSA records? (pure)"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

USAGE_NAMES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}


@dataclass(frozen=True)
class TlsaRecord:
    usage: int
    selector: int
    mtype: int
    data: bytes

    def text(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"


@dataclass(frozen=True)
class TlsaVerdict:
    matched: TlsaRecord | None
    usable: tuple[TlsaRecord, ...]    #: records with parameters SMTP clients use
    unusable: tuple[TlsaRecord, ...]  #: RFC 7672 §3.1.3: PKIX-TA/PKIX-EE, unknown selector or type

    @property
    def matches(self) -> bool:
        return self.matched is not None


def _selected(cert_der: bytes, selector: int) -> bytes:
    """RFC 6698 §2.1.2: 0 = the whole certificate, 1 = its SubjectPublicKeyInfo."""
    if selector == 0:
        return cert_der
    cert = x509.load_der_x509_certificate(cert_der)
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def _digest(data: bytes, mtype: int) -> bytes:
    """RFC 6698 §2.1.3: 0 = exact, 1 = SHA-256, 2 = SHA-512."""
    if mtype == 1:
        return hashlib.sha256(data).digest()
    if mtype == 2:
        return hashlib.sha512(data).digest()
    return data


def match_tlsa(records: list[TlsaRecord], chain_der: list[bytes]) -> TlsaVerdict:
    """DANE-EE (3) is matched against the leaf, DANE-TA (2) against the certificates after it
    (RFC 7672 §3.1.1, §3.1.2); PKIX usages are unusable for SMTP (§3.1.3)."""
    usable = tuple(r for r in records if r.usage in (2, 3) and r.selector in (0, 1) and r.mtype in (0, 1, 2))
    unusable = tuple(r for r in records if r not in usable)
    for record in usable:
        certs = chain_der[:1] if record.usage == 3 else chain_der[1:]
        for der in certs:
            try:
                if _digest(_selected(der, record.selector), record.mtype) == record.data:
                    return TlsaVerdict(record, usable, unusable)
            except ValueError:
                continue
    return TlsaVerdict(None, usable, unusable)
