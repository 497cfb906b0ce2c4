"""A stapled OCSP response (RFC 6066 §8, RFC 6960 §4.2) and the certificate's SCTs (RFC 6962 §3.3).

Pure: DER in, facts out (the ``cryptography`` parsers, no I/O).
"""

from __future__ import annotations

import datetime

from ...frozen import frozen

SCT_OID = "1.3.6.1.4.1.11129.2.4.2"            #: RFC 6962 §3.3: SCTs embedded in the certificate
OCSP_SCT_OID = "1.3.6.1.4.1.11129.2.4.5"       #: RFC 6962 §3.3: SCTs in the OCSP response


@frozen
class StapledOcsp:
    valid: bool
    detail: str                 #: one line: status, validity window, or what is wrong
    cert_status: str | None = None
    next_update: str | None = None
    scts: int = 0


def read_ocsp(der: bytes, leaf_der: bytes | None, now: datetime.datetime | None = None) -> StapledOcsp:
    """Is the stapled response successful, for the leaf, "good", and inside its validity window?"""
    from cryptography import x509
    from cryptography.x509 import ocsp

    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        return StapledOcsp(False, f"the stapled OCSP response does not parse: {exc}")
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return StapledOcsp(False, f"OCSP response status {response.response_status.name}")
    try:
        status = response.certificate_status.name.lower()
        this_update = response.this_update_utc
        next_update = response.next_update_utc
        scts = sum(len(ext.value) for ext in response.single_extensions
                   if ext.oid.dotted_string == OCSP_SCT_OID)
    except ValueError as exc:   # more than one SingleResponse, a bad extension
        return StapledOcsp(False, f"the stapled OCSP response does not read: {exc}")
    nxt = next_update.isoformat() if next_update else None
    if leaf_der is not None:
        try:
            leaf = x509.load_der_x509_certificate(leaf_der)
            if leaf.serial_number != response.serial_number:
                return StapledOcsp(False, "the stapled OCSP response is for another certificate (serial "
                                   f"{response.serial_number:x}, leaf {leaf.serial_number:x})",
                                   status, nxt, scts)
        except ValueError:
            pass
    if status != "good":
        return StapledOcsp(False, f"the stapled OCSP response says {status}", status, nxt, scts)
    if this_update > now:
        return StapledOcsp(False, f"the stapled OCSP response is not valid before {this_update.isoformat()}",
                           status, nxt, scts)
    if next_update is not None and next_update < now:
        return StapledOcsp(False, f"the stapled OCSP response expired at {nxt}", status, nxt, scts)
    return StapledOcsp(True, f"good, produced {response.produced_at_utc.isoformat()}"
                       + (f", next update {nxt}" if nxt else ""), status, nxt, scts)


def embedded_scts(leaf_der: bytes | None) -> int:
    """How many SCTs the leaf certificate embeds (RFC 6962 §3.3, X.509v3 extension)."""
    if not leaf_der:
        return 0
    from cryptography import x509

    try:
        leaf = x509.load_der_x509_certificate(leaf_der)
        extensions = list(leaf.extensions)
    except ValueError:  # a malformed extension (a hostile server's certificate): none readable
        return 0
    for ext in extensions:
        if ext.oid.dotted_string == SCT_OID:
            try:
                return len(ext.value)
            except TypeError:
                return 1
    return 0


def rsa_public_numbers(leaf_der: bytes | None) -> tuple[int, int] | None:
    """(n, e) of an RSA leaf certificate, for ROBOT's ClientKeyExchanges; None otherwise."""
    if not leaf_der:
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = x509.load_der_x509_certificate(leaf_der).public_key()
    except ValueError:
        return None
    if not isinstance(key, rsa.RSAPublicKey):
        return None
    numbers = key.public_numbers()
    return numbers.n, numbers.e
