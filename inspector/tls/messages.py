"""TLS handshake messages, sans I/O: re-cut from record bodies, then read field by field.

RFC 8446 §4 / RFC 5246 §7.4: a handshake message is ``type(1) length(3)``
plus a body, carried in one or more handshake records. Read here: the
ClientHello (offered versions and suites, SNI RFC 6066 §3, ALPN RFC 7301),
the ServerHello and HelloRetryRequest (RFC 8446 §4.1.3-4.1.4: chosen version,
suite, key_share group), the Certificate list (RFC 5246 §7.4.2) and the group
of a ServerKeyExchange (RFC 8422 §5.4, RFC 5246 §7.4.3). Nothing here raises
on bad input: a message too short to read is None.
"""

from __future__ import annotations

from ..frozen import frozen
from .registry import group_name, is_grease

CLIENT_HELLO, SERVER_HELLO, CERTIFICATE, SERVER_KEY_EXCHANGE, SERVER_HELLO_DONE = 1, 2, 11, 12, 14
CERTIFICATE_STATUS = 22              #: RFC 6066 §8: the stapled OCSP response (TLS <= 1.2)
FINISHED = 20
_SNI, _ALPN, _SUPPORTED_VERSIONS, _KEY_SHARE = 0x0000, 0x0010, 0x002B, 0x0033

#: RFC 8446 §4.1.3: the Random of a HelloRetryRequest.
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")


@frozen
class ClientHelloInfo:
    version: int                     #: legacy_version
    suites: tuple[int, ...]
    sni: str | None
    alpn: tuple[str, ...]
    supported_versions: tuple[int, ...]

    @property
    def highest_version(self) -> int:
        real = [v for v in self.supported_versions if not is_grease(v)]
        return max(real) if real else self.version


@frozen
class ServerHelloInfo:
    version: int                     #: the negotiated version (supported_versions wins)
    suite: int
    group: int | None = None         #: key_share (or the HRR's selected_group)
    retry: bool = False              #: a HelloRetryRequest (RFC 8446 §4.1.4)
    #: every extension as (type, data), in the order sent (read by inspector.tls.checks)
    extensions: tuple[tuple[int, bytes], ...] = ()
    compression: int = 0             #: compression_method (RFC 5246 §7.4.1.3; 1: DEFLATE, RFC 3749)
    session_id: bytes = b""

    @property
    def group_name(self) -> str | None:
        return group_name(self.group)


class HandshakeStream:
    """Handshake messages re-cut from handshake record bodies (they may span records)."""

    def __init__(self, limit: int = 1 << 17) -> None:
        self._buffer = bytearray()
        self._limit = limit

    def feed(self, body: bytes) -> list[tuple[int, bytes]]:
        buf = self._buffer
        buf += body
        messages = []
        while len(buf) >= 4:
            length = int.from_bytes(buf[1:4], "big")
            if length > self._limit:
                buf.clear()
                break
            if len(buf) < 4 + length:
                break
            messages.append((buf[0], bytes(buf[4:4 + length])))
            del buf[:4 + length]
        return messages


def _extensions(body: bytes, pos: int):
    """(type, data) of each extension in the block starting at ``pos``."""
    if pos + 2 > len(body):
        return
    end = min(len(body), pos + 2 + int.from_bytes(body[pos:pos + 2], "big"))
    pos += 2
    while pos + 4 <= end:
        ext_type = int.from_bytes(body[pos:pos + 2], "big")
        length = int.from_bytes(body[pos + 2:pos + 4], "big")
        yield ext_type, body[pos + 4:pos + 4 + length]
        pos += 4 + length


def parse_client_hello(body: bytes) -> ClientHelloInfo | None:
    """RFC 8446 §4.1.2; None when the body is too short to be one."""
    try:
        version = int.from_bytes(body[0:2], "big")
        pos = 34
        pos += 1 + body[pos]
        suites_len = int.from_bytes(body[pos:pos + 2], "big")
        suites = tuple(int.from_bytes(body[i:i + 2], "big")
                       for i in range(pos + 2, min(pos + 2 + suites_len, len(body) - 1), 2))
        pos += 2 + suites_len
        pos += 1 + body[pos]
    except IndexError:
        return None
    sni, alpn, versions = None, (), ()
    for ext_type, data in _extensions(body, pos):
        if ext_type == _SNI and len(data) >= 5 and data[2] == 0:
            name_len = int.from_bytes(data[3:5], "big")
            sni = data[5:5 + name_len].decode("ascii", "backslashreplace")
        elif ext_type == _ALPN and len(data) >= 2:
            names, i = [], 2
            while i < len(data):
                names.append(data[i + 1:i + 1 + data[i]].decode("ascii", "backslashreplace"))
                i += 1 + data[i]
            alpn = tuple(names)
        elif ext_type == _SUPPORTED_VERSIONS and data:
            versions = tuple(int.from_bytes(data[i:i + 2], "big") for i in range(1, len(data) - 1, 2))
    return ClientHelloInfo(version, suites, sni, alpn, versions)


def parse_server_hello(body: bytes) -> ServerHelloInfo | None:
    """RFC 8446 §4.1.3; the version comes from supported_versions when present.

    A HelloRetryRequest is a ServerHello whose Random is :data:`HRR_RANDOM`;
    its key_share holds only the selected group (two bytes, §4.2.8).
    """
    try:
        version = int.from_bytes(body[0:2], "big")
        random = body[2:34]
        pos = 34
        session_id = body[pos + 1:pos + 1 + body[pos]]
        pos += 1 + body[pos]
        if pos + 3 > len(body):
            return None
        suite = int.from_bytes(body[pos:pos + 2], "big")
        compression = body[pos + 2]
        pos += 3
    except IndexError:
        return None
    group = None
    extensions = tuple(_extensions(body, pos))
    for ext_type, data in extensions:
        if ext_type == _SUPPORTED_VERSIONS and len(data) >= 2:
            version = int.from_bytes(data[0:2], "big")
        elif ext_type == _KEY_SHARE and len(data) >= 2:
            group = int.from_bytes(data[0:2], "big")
    return ServerHelloInfo(version, suite, group, random == HRR_RANDOM, extensions, compression,
                           bytes(session_id))


def parse_certificate_list(body: bytes) -> tuple[bytes, ...]:
    """RFC 5246 §7.4.2: ``certificate_list<0..2^24-1>`` of ``ASN.1Cert<1..2^24-1>``."""
    certs = []
    if len(body) < 3:
        return ()
    end = min(len(body), 3 + int.from_bytes(body[0:3], "big"))
    pos = 3
    while pos + 3 <= end:
        length = int.from_bytes(body[pos:pos + 3], "big")
        if pos + 3 + length > end:
            break
        certs.append(body[pos + 3:pos + 3 + length])
        pos += 3 + length
    return tuple(certs)


def group_from_server_key_exchange(body: bytes) -> str | None:
    """Group of an ECDHE or DHE ServerKeyExchange.

    ECDHE starts ``03 <named_curve(2)> <point length(1)>`` (RFC 8422 §5.4);
    named curves are below 0x0080. DHE starts with the prime's length
    (RFC 5246 §7.4.3), and a prime's first byte is at least 0x80, so a DHE
    body never has 0x00 then a byte below 0x80 after a leading 0x03.
    """
    if len(body) >= 4 and body[0] == 3 and body[1] == 0 and body[2] < 0x80:
        if 4 + body[3] > len(body):
            return None
        return group_name(body[2])
    if len(body) >= 3:
        p_len = int.from_bytes(body[0:2], "big")
        if 0 < p_len <= len(body) - 2:
            return f"DHE-{p_len * 8}"
    return None


def server_key_exchange_signature(body: bytes) -> int | None:
    """The SignatureScheme of a TLS 1.2 ECDHE or DHE ServerKeyExchange (RFC 5246 §7.4.3).

    The signature follows the parameters: ``03 curve(2) point<1..255>``
    (RFC 8422 §5.4) or ``p<2> g<2> Ys<2>`` (RFC 5246 §7.4.3), then
    ``SignatureAndHashAlgorithm(2) signature<2>``. None before TLS 1.2 or
    when the body does not read (no algorithm field then).
    """
    if len(body) >= 4 and body[0] == 3 and body[1] == 0 and body[2] < 0x80:
        pos = 4 + body[3]
    else:
        pos = 0
        for _ in range(3):
            if pos + 2 > len(body):
                return None
            pos += 2 + int.from_bytes(body[pos:pos + 2], "big")
    if pos + 4 > len(body) or pos + 4 + int.from_bytes(body[pos + 2:pos + 4], "big") != len(body):
        return None
    return int.from_bytes(body[pos:pos + 2], "big")
