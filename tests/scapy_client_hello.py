"""The reference for inspector/tls/client_hello.py: the scapy builder the audit used until issue 20.

Kept byte for byte as it was in ``inspector/packets/hello.py`` (only the
imports changed), so that tests/test_tls_client_hello.py can check that the
pure builder writes the same records scapy's TLS layer writes for the same
arguments (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2).
"""

from __future__ import annotations

import os

from inspector.packets import scapy_tls
from inspector.tls.records import HANDSHAKE
from inspector.tls.registry import VERSIONS

#: Groups offered in supported_groups while enumerating suites (as OpenSSL 3 offers them, plus more).
OFFERED_GROUPS = (0x001D, 0x0017, 0x001E, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104,
                  0x001A, 0x001B, 0x001C)

#: signature_algorithms (RFC 8446 §4.2.3, RFC 5246 §7.4.1.4.1), legacy SHA-1/MD5 last.
SIGNATURE_ALGORITHMS = (0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806,
                        0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301,
                        0x0302, 0x0402, 0x0502, 0x0602, 0x0203, 0x0201, 0x0202, 0x0101)

_RENEGOTIATION_INFO_SCSV = 0x00FF
FALLBACK_SCSV = 0x5600  #: RFC 7507 §4

#: Extensions a TLS <= 1.2 hello asks for, so that the enumeration's ServerHellos answer the
#: feature checks (inspector.tls.checks) without more connections: (type, data).
FEATURE_EXTENSIONS = (
    (0x0016, b""),                       # encrypt_then_mac, RFC 7366 §2
    (0x0023, b""),                       # session_ticket, RFC 5077 §3.2
    (0x0005, b"\x01\x00\x00\x00\x00"),  # status_request: OCSP, no responder ids, RFC 6066 §8
    (0x0012, b""),                       # signed_certificate_timestamp, RFC 6962 §3.3.1
    (0x000F, b"\x01"),                   # heartbeat: peer_allowed_to_send, RFC 6520 §2
)


def client_hello(version: str, suites, *, servername: str | None = None,
                 groups=OFFERED_GROUPS, key_share_group: int | None = 0x001D,
                 fallback_scsv: bool = False, compression=(1, 0),
                 renegotiation_info: bytes | None = None) -> bytes:
    """The record(s) of one ClientHello offering ``suites`` (code points) at ``version``.

    For TLS 1.3, ``key_share_group=None`` sends an empty key_share, so a
    server that shares a group must answer with a HelloRetryRequest naming it.
    Below TLS 1.3 the hello also offers DEFLATE (RFC 3749; CRIME) and
    :data:`FEATURE_EXTENSIONS`; ``fallback_scsv`` adds TLS_FALLBACK_SCSV (RFC 7507).
    ``renegotiation_info`` (a renegotiating hello, RFC 5746 §3.5): the
    client_verify_data sent in the extension instead of the SCSV.
    """
    tls = scapy_tls()
    code = VERSIONS[version]
    ciphers = list(suites)
    extensions = []
    if servername:
        extensions.append(tls.TLS_Ext_ServerName(
            servernames=[tls.ServerName(servername=servername.encode("idna"))]))
    if groups:
        extensions.append(tls.TLS_Ext_SupportedGroups(groups=list(groups)))
        extensions.append(tls.TLS_Ext_SupportedPointFormat(ecpl=[0]))
    if code >= 0x0303:
        extensions.append(tls.TLS_Ext_SignatureAlgorithms(sig_algs=list(SIGNATURE_ALGORITHMS)))
    if code == 0x0304:
        extensions.append(tls.TLS_Ext_SupportedVersion_CH(versions=[0x0304]))
        shares = []
        if key_share_group is not None:
            shares.append(tls.KeyShareEntry(group=key_share_group,
                                            key_exchange=_key_share(key_share_group)))
        extensions.append(tls.TLS_Ext_KeyShare_CH(client_shares=shares))
        legacy = 0x0303
    else:
        if renegotiation_info is not None:
            extensions.append(tls.TLS_Ext_RenegotiationInfo(renegotiated_connection=renegotiation_info))
        elif _RENEGOTIATION_INFO_SCSV not in ciphers:
            ciphers.append(_RENEGOTIATION_INFO_SCSV)  # RFC 5746 §3.3
        extensions.append(tls.TLS_Ext_ExtendedMasterSecret())
        legacy = code
    if fallback_scsv:
        ciphers.append(FALLBACK_SCSV)
    methods = list(compression) if code < 0x0304 else [0]
    hello = tls.TLSClientHello(version=legacy, ciphers=ciphers, comp=methods, ext=extensions or None,
                               gmt_unix_time=int.from_bytes(os.urandom(4), "big"),
                               random_bytes=os.urandom(28), sid=os.urandom(32) if code == 0x0304 else b"")
    record = tls.TLS(version=min(code, 0x0301), type=HANDSHAKE, msg=[hello])
    if code == 0x0304:
        return bytes(record)
    return _with_extensions(bytes(record), _FEATURE_BYTES)


#: FEATURE_EXTENSIONS as wire bytes, appended to scapy's hello (building them as scapy
#: layers cost more CPU than the rest of the hello: ~0.6 ms a hello, ~110 hellos an audit).
_FEATURE_BYTES = b"".join(kind.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data
                          for kind, data in FEATURE_EXTENSIONS)


def _with_extensions(record: bytes, extra: bytes) -> bytes:
    """One ClientHello record with ``extra`` appended to its extensions (RFC 5246 §7.4.1.2 lengths)."""
    body = bytearray(record[9:])
    pos = 2 + 32
    pos += 1 + body[pos]
    pos += 2 + int.from_bytes(body[pos:pos + 2], "big")
    pos += 1 + body[pos]
    if pos + 2 <= len(body):
        body[pos:pos + 2] = (int.from_bytes(body[pos:pos + 2], "big") + len(extra)).to_bytes(2, "big")
    else:
        body += b"\x00\x00"
        body[pos:pos + 2] = len(extra).to_bytes(2, "big")
    body += extra
    handshake = record[5:6] + len(body).to_bytes(3, "big") + bytes(body)
    return record[:3] + len(handshake).to_bytes(2, "big") + handshake


def _key_share(group: int) -> bytes:
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
