"""Facts from observed TLS handshake messages (both directions, plaintext part only).

RFC 8446 §4 / RFC 5246 §7.4: handshake messages are ``type(1) length(3)``
plus a body, carried in one or more handshake records. What a passive
observer can read: the ClientHello (offered versions and suites, SNI
RFC 6066 §3, ALPN RFC 7301), the ServerHello (chosen version and suite,
``supported_versions`` RFC 8446 §4.2.1) and, up to TLS 1.2, the server's
Certificate message (RFC 5246 §7.4.2). Nothing here raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass

CLIENT_HELLO, SERVER_HELLO, CERTIFICATE = 1, 2, 11
_SNI, _ALPN, _SUPPORTED_VERSIONS = 0x0000, 0x0010, 0x002B

VERSION_NAMES = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2",
                 0x0304: "TLSv1.3"}

#: IANA TLS Cipher Suites registry: the suites seen in mail traffic.
SUITE_NAMES = {
    0x1301: "TLS_AES_128_GCM_SHA256", 0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256", 0x1304: "TLS_AES_128_CCM_SHA256",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 0x006B: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA", 0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x0004: "TLS_RSA_WITH_RC4_128_MD5", 0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
    0x5600: "TLS_FALLBACK_SCSV",
}


def version_name(code: int | None) -> str | None:
    if code is None:
        return None
    return VERSION_NAMES.get(code, f"0x{code:04x}")


def suite_name(code: int | None) -> str | None:
    if code is None:
        return None
    if (code & 0x0F0F) == 0x0A0A and (code >> 8) == (code & 0xFF):
        return f"GREASE 0x{code:04x}"
    return SUITE_NAMES.get(code, f"0x{code:04x}")


@dataclass(frozen=True)
class ClientHelloInfo:
    version: int                     #: legacy_version
    suites: tuple[int, ...]
    sni: str | None
    alpn: tuple[str, ...]
    supported_versions: tuple[int, ...]

    @property
    def highest_version(self) -> int:
        real = [v for v in self.supported_versions if (v & 0x0F0F) != 0x0A0A]
        return max(real) if real else self.version


@dataclass(frozen=True)
class ServerHelloInfo:
    version: int                     #: the negotiated version (supported_versions wins)
    suite: int


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
    """RFC 8446 §4.1.3; the version comes from supported_versions when present."""
    try:
        version = int.from_bytes(body[0:2], "big")
        pos = 34
        pos += 1 + body[pos]
        if pos + 3 > len(body):
            return None
        suite = int.from_bytes(body[pos:pos + 2], "big")
        pos += 3
    except IndexError:
        return None
    for ext_type, data in _extensions(body, pos):
        if ext_type == _SUPPORTED_VERSIONS and len(data) >= 2:
            version = int.from_bytes(data[0:2], "big")
    return ServerHelloInfo(version, suite)


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
