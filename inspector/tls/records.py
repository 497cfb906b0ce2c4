"""TLS record framing and the few handshake facts read from the server's plaintext records.

RFC 8446 §5.1 / RFC 5246 §6.2: a record is ``type(1) version(2) length(2)``
followed by ``length`` bytes. The server's first flight is plaintext up to its
ChangeCipherSpec (TLS 1.2) or after the ServerHello (TLS 1.3), which is where
the negotiated key-exchange group can be read: the ServerHello ``key_share``
extension (RFC 8446 §4.2.8) or the ECDHE ServerKeyExchange (RFC 8422 §5.4).
"""

from __future__ import annotations

from dataclasses import dataclass

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
_CONTENT_TYPES = {CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, 24}
#: RFC 8446 §5.1: a record body never exceeds 2^14 + 256 (2^14 + 2048 for TLS 1.2 ciphertext).
MAX_RECORD_BODY = 2**14 + 2048

#: TLS alert descriptions (RFC 8446 §6, RFC 5246 §7.2), by code.
ALERT_NAMES = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure",
               42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
               45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter",
               48: "unknown_ca", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
               71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
               90: "user_canceled", 109: "missing_extension", 112: "unrecognized_name",
               116: "certificate_required", 120: "no_application_protocol"}

#: IANA TLS Supported Groups registry (the entries seen in practice).
GROUP_NAMES = {
    0x0017: "secp256r1", 0x0018: "secp384r1", 0x0019: "secp521r1",
    0x001A: "brainpoolP256r1", 0x001B: "brainpoolP384r1", 0x001C: "brainpoolP512r1",
    0x001D: "x25519", 0x001E: "x448",
    0x0100: "ffdhe2048", 0x0101: "ffdhe3072", 0x0102: "ffdhe4096",
    0x0103: "ffdhe6144", 0x0104: "ffdhe8192",
    0x11EB: "SecP256r1MLKEM768", 0x11EC: "X25519MLKEM768", 0x11ED: "SecP384r1MLKEM1024",
    0x6399: "X25519Kyber768Draft00",
}

_SERVER_HELLO, _SERVER_KEY_EXCHANGE = 2, 12
_KEY_SHARE = 0x0033


@dataclass(frozen=True)
class Record:
    content_type: int
    version: int
    body: bytes


@dataclass(frozen=True)
class HandshakeFacts:
    group: str | None = None


def looks_like_tls(data: bytes) -> bool:
    """True if ``data`` starts like a TLS record (type 20-24, major version 3)."""
    if not data:
        return False
    if data[0] not in _CONTENT_TYPES:
        return False
    return len(data) < 2 or data[1] == 3


def _cut_record(data, offset: int) -> Record | None:
    """The complete record starting at ``offset``, or None if it is not all there yet.

    Raises:
        ValueError: the five bytes at ``offset`` are not a TLS record header.
    """
    if offset + 5 > len(data):
        return None
    length = int.from_bytes(data[offset + 3:offset + 5], "big")
    if data[offset] not in _CONTENT_TYPES or length > MAX_RECORD_BODY:
        raise ValueError(f"not a TLS record header: {bytes(data[offset:offset + 5]).hex()}")
    if offset + 5 + length > len(data):
        return None
    return Record(data[offset], int.from_bytes(data[offset + 1:offset + 3], "big"),
                  bytes(data[offset + 5:offset + 5 + length]))


class NotTlsRecord(ValueError):
    """Bytes that are not a TLS record header.

    ``records`` holds the complete records cut before them in the same
    ``feed`` call, so nothing is lost; the framer's buffer still starts at the
    bad header (found by the fuzzer: those records used to vanish).
    """

    def __init__(self, message: str, records: list[Record]) -> None:
        super().__init__(message)
        self.records = records


class RecordFramer:
    """Buffer bytes and cut complete records; never returns a partial record."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Record]:
        """Buffer ``data`` and return every record it completes.

        Raises:
            NotTlsRecord: the buffer reached bytes that are not a record header.
        """
        self._buffer += data
        records = []
        try:
            while (record := _cut_record(self._buffer, 0)) is not None:
                records.append(record)
                del self._buffer[:5 + len(record.body)]
        except ValueError as exc:
            raise NotTlsRecord(str(exc), records) from None
        return records

    @property
    def buffered(self) -> int:
        return len(self._buffer)


def _records_until_invalid(data: bytes):
    """Complete records from the start of ``data``, stopping at the first bad header."""
    offset = 0
    try:
        while (record := _cut_record(data, offset)) is not None:
            yield record
            offset += 5 + len(record.body)
    except ValueError:
        return


def _handshake_messages(data: bytes):
    """(type, body) of each complete handshake message in the server's plaintext flight."""
    stream = bytearray()
    for record in _records_until_invalid(data):
        if record.content_type != HANDSHAKE:
            if record.content_type in (CHANGE_CIPHER_SPEC, APPLICATION_DATA):
                break  # what follows is encrypted
            continue
        stream += record.body
    offset = 0
    while offset + 4 <= len(stream):
        msg_type = stream[offset]
        length = int.from_bytes(stream[offset + 1:offset + 4], "big")
        if offset + 4 + length > len(stream):
            return
        yield msg_type, bytes(stream[offset + 4:offset + 4 + length])
        offset += 4 + length


def _group_from_server_hello(body: bytes) -> int | None:
    # version(2) random(32) session_id<1> cipher(2) compression(1) extensions<2>
    try:
        pos = 34
        pos += 1 + body[pos]
        pos += 3
        if pos + 2 > len(body):
            return None
        end = pos + 2 + int.from_bytes(body[pos:pos + 2], "big")
        pos += 2
        while pos + 4 <= min(end, len(body)):
            ext_type = int.from_bytes(body[pos:pos + 2], "big")
            ext_len = int.from_bytes(body[pos + 2:pos + 4], "big")
            if ext_type == _KEY_SHARE and ext_len >= 2:
                return int.from_bytes(body[pos + 4:pos + 6], "big")
            pos += 4 + ext_len
    except IndexError:
        return None
    return None


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
        group = body[2]
        return GROUP_NAMES.get(group, f"0x{group:04x}")
    if len(body) >= 3:
        p_len = int.from_bytes(body[0:2], "big")
        if 0 < p_len <= len(body) - 2:
            return f"DHE-{p_len * 8}"
    return None


def read_handshake_facts(server_bytes: bytes) -> HandshakeFacts:
    """Read the negotiated group from the server's first flight (never raises)."""
    group_name = None
    for msg_type, body in _handshake_messages(server_bytes):
        if msg_type == _SERVER_HELLO:
            group = _group_from_server_hello(body)
            if group is not None:
                group_name = GROUP_NAMES.get(group, f"0x{group:04x}")
        elif msg_type == _SERVER_KEY_EXCHANGE and group_name is None:
            group_name = group_from_server_key_exchange(body)
    return HandshakeFacts(group=group_name)
