"""Crafted ClientHellos as bytes (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2), pure: no scapy, no sockets.

:func:`client_hello` builds the record of one ClientHello for SSL 3.0 to
TLS 1.2 or TLS 1.3 (legacy_version 1.2 plus supported_versions, key_share,
supported_groups, signature_algorithms). The bytes are the ones scapy's TLS
layer wrote for the same arguments until issue 20 (tests/scapy_client_hello.py
keeps that builder as the reference; building each hello as scapy layers cost
about 1 ms of CPU and scapy's import about 0.3 s per audit). The answer is read
by :class:`inspector.tls.hello.FlightReader`.
"""

from __future__ import annotations

import os
import struct

from .records import HANDSHAKE
from .registry import VERSIONS

#: Groups offered in supported_groups while enumerating suites (as OpenSSL 3 offers them, plus more).
OFFERED_GROUPS = (0x001D, 0x0017, 0x001E, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104,
                  0x001A, 0x001B, 0x001C)

#: signature_algorithms (RFC 8446 §4.2.3, RFC 5246 §7.4.1.4.1), legacy SHA-1/MD5 last.
SIGNATURE_ALGORITHMS = (0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806,
                        0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301,
                        0x0302, 0x0402, 0x0502, 0x0602, 0x0203, 0x0201, 0x0202, 0x0101)

RENEGOTIATION_INFO_SCSV = 0x00FF  #: RFC 5746 §3.3
FALLBACK_SCSV = 0x5600            #: RFC 7507 §4

#: Extensions a TLS <= 1.2 hello asks for, so that the enumeration's ServerHellos answer the
#: feature checks (inspector.tls.checks) without more connections: (type, data).
FEATURE_EXTENSIONS = (
    (0x0016, b""),                       # encrypt_then_mac, RFC 7366 §2
    (0x0023, b""),                       # session_ticket, RFC 5077 §3.2
    (0x0005, b"\x01\x00\x00\x00\x00"),  # status_request: OCSP, no responder ids, RFC 6066 §8
    (0x0012, b""),                       # signed_certificate_timestamp, RFC 6962 §3.3.1
    (0x000F, b"\x01"),                   # heartbeat: peer_allowed_to_send, RFC 6520 §2
)


def _u16s(values) -> bytes:
    return struct.pack(f">{len(values)}H", *values)


def _vector(data: bytes, width: int = 2) -> bytes:
    return len(data).to_bytes(width, "big") + data


def extension(kind: int, data: bytes) -> bytes:
    """One extension: type, length, data (RFC 5246 §7.4.1.4)."""
    return kind.to_bytes(2, "big") + _vector(data)


_FEATURE_BYTES = b"".join(extension(kind, data) for kind, data in FEATURE_EXTENSIONS)
_SIGNATURE_ALGORITHMS = extension(0x000D, _vector(_u16s(SIGNATURE_ALGORITHMS)))
_POINT_FORMATS = extension(0x000B, b"\x01\x00")      # uncompressed only, RFC 8422 §5.1.2
_EXTENDED_MASTER_SECRET = extension(0x0017, b"")     # RFC 7627 §5.1
_SUPPORTED_VERSIONS_13 = extension(0x002B, b"\x02\x03\x04")  # RFC 8446 §4.2.1


def client_hello(version: str, suites, *, servername: str | None = None,
                 groups=OFFERED_GROUPS, key_share_group: int | None = 0x001D,
                 fallback_scsv: bool = False, compression=(1, 0),
                 renegotiation_info: bytes | None = None,
                 signature_algorithms=None, key_share_value: bytes | None = None) -> bytes:
    """The record of one ClientHello offering ``suites`` (code points) at ``version``.

    For TLS 1.3, ``key_share_group=None`` sends an empty key_share, so a
    server that shares a group must answer with a HelloRetryRequest naming it.
    Below TLS 1.3 the hello also offers DEFLATE (RFC 3749; CRIME) and
    :data:`FEATURE_EXTENSIONS`; ``fallback_scsv`` adds TLS_FALLBACK_SCSV (RFC 7507).
    ``renegotiation_info`` (a renegotiating hello, RFC 5746 §3.5): the
    client_verify_data sent in the extension instead of the SCSV.
    ``signature_algorithms``: another list than :data:`SIGNATURE_ALGORITHMS`;
    ``key_share_value``: our real public key for ``key_share_group`` (else random bytes).
    """
    code = VERSIONS[version]
    ciphers = list(suites)
    extensions = []
    if servername:
        name = servername.encode("idna")
        extensions.append(extension(0x0000, _vector(b"\x00" + _vector(name))))   # RFC 6066 §3
    if groups:
        extensions.append(extension(0x000A, _vector(_u16s(groups))))           # RFC 8422 §5.1.1
        extensions.append(_POINT_FORMATS)
    if code >= 0x0303:
        extensions.append(_SIGNATURE_ALGORITHMS if signature_algorithms is None else
                          extension(0x000D, _vector(_u16s(signature_algorithms))))
    if code == 0x0304:
        extensions.append(_SUPPORTED_VERSIONS_13)
        shares = b""
        if key_share_group is not None:
            value = key_share_value if key_share_value is not None else key_share(key_share_group)
            shares = key_share_group.to_bytes(2, "big") + _vector(value)
        extensions.append(extension(0x0033, _vector(shares)))                   # RFC 8446 §4.2.8
        legacy, session_id = 0x0303, os.urandom(32)
    else:
        if renegotiation_info is not None:
            extensions.append(extension(0xFF01, _vector(renegotiation_info, 1)))  # RFC 5746 §3.2
        elif RENEGOTIATION_INFO_SCSV not in ciphers:
            ciphers.append(RENEGOTIATION_INFO_SCSV)
        extensions.append(_EXTENDED_MASTER_SECRET)
        extensions.append(_FEATURE_BYTES)
        legacy, session_id = code, b""
    if fallback_scsv:
        ciphers.append(FALLBACK_SCSV)
    methods = bytes(compression) if code < 0x0304 else b"\x00"
    random = os.urandom(4) + os.urandom(28)      # gmt_unix_time and random_bytes (RFC 5246 §7.4.1.2)
    body = (legacy.to_bytes(2, "big") + random + _vector(session_id, 1) + _vector(_u16s(ciphers))
            + _vector(methods, 1) + _vector(b"".join(extensions)))
    handshake = b"\x01" + _vector(body, 3)
    return bytes([HANDSHAKE]) + min(code, 0x0301).to_bytes(2, "big") + _vector(handshake)


def key_share(group: int) -> bytes:
    """A syntactically valid public value for the group (RFC 8446 §4.2.8.2); never used to finish."""
    if group == 0x001D:
        return os.urandom(32)
    if group == 0x001E:
        return os.urandom(56)
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    curve = {0x0017: ec.SECP256R1, 0x0018: ec.SECP384R1, 0x0019: ec.SECP521R1}[group]()
    return ec.generate_private_key(curve).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)
