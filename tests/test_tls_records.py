"""TLS record framing and handshake facts, on hand-built server flights.

RFC 8446 §5.1 / RFC 5246 §6.2 (records), RFC 8446 §4.1.3 and §4.2.8
(ServerHello, key_share), RFC 8422 §5.4 (ECDHE ServerKeyExchange),
RFC 5246 §7.4.3 (DHE ServerKeyExchange).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.tls.reader import HandshakeFacts, read_handshake_facts
from inspector.tls.records import (
    ALERT,
    APPLICATION_DATA,
    CHANGE_CIPHER_SPEC,
    HANDSHAKE,
    MAX_RECORD_BODY,
    NotTlsRecord,
    Record,
    RecordFramer,
    looks_like_tls,
)

# ------------------------------------------------------------------- builders

HRR_RANDOM = bytes.fromhex(
    "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")  # RFC 8446 §4.1.3


def u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    return bytes([content_type]) + u16(version) + u16(len(body)) + body


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def extension(ext_type: int, data: bytes) -> bytes:
    return u16(ext_type) + u16(len(data)) + data


def server_hello(extensions: bytes | None, *, random: bytes = b"\x42" * 32,
                 session_id: bytes = b"\x07" * 32, cipher: int = 0x1301) -> bytes:
    body = u16(0x0303) + random + bytes([len(session_id)]) + session_id + u16(cipher) + b"\x00"
    if extensions is not None:
        body += u16(len(extensions)) + extensions
    return handshake(2, body)


SUPPORTED_VERSIONS_13 = extension(0x002B, u16(0x0304))


def key_share(group: int, key: bytes = b"\x11" * 32) -> bytes:
    return extension(0x0033, u16(group) + u16(len(key)) + key)


def tls13_flight(group: int) -> bytes:
    hello = server_hello(SUPPORTED_VERSIONS_13 + key_share(group))
    return (record(HANDSHAKE, hello) + record(CHANGE_CIPHER_SPEC, b"\x01")
            + record(APPLICATION_DATA, b"\xaa" * 300))


def ecdhe_ske(curve: int, point: bytes, signature: bytes = b"\x55" * 256) -> bytes:
    params = b"\x03" + u16(curve) + bytes([len(point)]) + point
    return handshake(12, params + u16(0x0804) + u16(len(signature)) + signature)


def dhe_ske(p: bytes, g: bytes = b"\x02", ys: bytes | None = None) -> bytes:
    ys = ys if ys is not None else b"\x33" * len(p)
    params = u16(len(p)) + p + u16(len(g)) + g + u16(len(ys)) + ys
    sig = b"\x66" * 256
    return handshake(12, params + u16(0x0401) + u16(len(sig)) + sig)


CERTIFICATE = handshake(11, (b"\x00\x00\x06" + b"\x00\x00\x03abc"))
SERVER_HELLO_DONE = handshake(14, b"")
TLS12_HELLO = server_hello(extension(0xFF01, b"\x00") + extension(0x000B, b"\x01\x00"),
                           cipher=0xC02F)


def tls12_flight(ske: bytes) -> bytes:
    return record(HANDSHAKE, TLS12_HELLO + CERTIFICATE + ske + SERVER_HELLO_DONE)


# --------------------------------------------------------------- RecordFramer

RECORDS = [
    Record(HANDSHAKE, 0x0301, b"\x02\x00\x00\x04abcd"),
    Record(CHANGE_CIPHER_SPEC, 0x0303, b"\x01"),
    Record(APPLICATION_DATA, 0x0303, b""),
    Record(APPLICATION_DATA, 0x0303, bytes(range(256)) * 2),
    Record(ALERT, 0x0303, b"\x02\x28"),
]
RECORD_STREAM = b"".join(record(r.content_type, r.body, r.version) for r in RECORDS)


def test_framer_whole():
    framer = RecordFramer()
    assert framer.feed(RECORD_STREAM) == RECORDS
    assert framer.buffered == 0


def test_framer_split_at_every_offset():
    for i in range(len(RECORD_STREAM) + 1):
        framer = RecordFramer()
        first = framer.feed(RECORD_STREAM[:i])
        # Only complete records come out; the rest is buffered, nothing lost.
        consumed = sum(5 + len(r.body) for r in first)
        assert first == RECORDS[:len(first)], f"split at {i}"
        assert framer.buffered == i - consumed, f"split at {i}"
        assert first + framer.feed(RECORD_STREAM[i:]) == RECORDS, f"split at {i}"
        assert framer.buffered == 0


def test_framer_byte_by_byte():
    framer = RecordFramer()
    got = []
    for i in range(len(RECORD_STREAM)):
        got += framer.feed(RECORD_STREAM[i:i + 1])
    assert got == RECORDS


@pytest.mark.parametrize("data", [
    b"220 mail.example.com ESMTP\r\n",
    b"HTTP/1.1 400 Bad Request\r\n",
    b"\x00\x03\x03\x00\x01\x00",
    b"\x80\x2e\x01\x03\x01",  # SSLv2-style header
])
def test_framer_non_tls_header_raises(data):
    with pytest.raises(ValueError):
        RecordFramer().feed(data)


def test_framer_length_over_rfc_maximum_raises():
    # RFC 5246 §6.2.3: TLSCiphertext.length must not exceed 2^14 + 2048.
    assert MAX_RECORD_BODY == 2**14 + 2048
    ok = RecordFramer()
    assert ok.feed(b"\x17\x03\x03" + u16(MAX_RECORD_BODY)) == []
    assert ok.buffered == 5
    with pytest.raises(ValueError):
        RecordFramer().feed(b"\x17\x03\x03" + u16(MAX_RECORD_BODY + 1))


def test_framer_bad_header_after_good_record_raises():
    framer = RecordFramer()
    with pytest.raises(ValueError):
        framer.feed(record(HANDSHAKE, b"abc") + b"220 ok\r\n")


def test_framer_short_prefix_waits():
    framer = RecordFramer()
    assert framer.feed(b"\x16\x03") == []
    assert framer.buffered == 2


@pytest.mark.parametrize("data, expected", [
    (b"", False),
    (b"\x16", True),
    (b"\x16\x03", True),
    (b"\x16\x03\x01\x00\x05", True),
    (b"\x14\x03\x03", True),
    (b"\x15\x03\x03\x00\x02\x02\x28", True),
    (b"\x17\x03\x03", True),
    (b"\x18\x03\x03", True),
    (b"\x13\x03\x03", False),
    (b"\x19\x03\x03", False),
    (b"\x16\x02\x00", False),
    (b"\x16\x04", False),
    (b"\x80\x2e\x01", False),
    (b"220 mail ESMTP", False),
    (b"5", False),
])
def test_looks_like_tls(data, expected):
    assert looks_like_tls(data) is expected


# --------------------------------------------------------- read_handshake_facts

@pytest.mark.parametrize("group, name", [
    (0x001D, "x25519"),
    (0x0017, "secp256r1"),
    (0x0018, "secp384r1"),
    (0x11EC, "X25519MLKEM768"),
    (0x0100, "ffdhe2048"),
])
def test_tls13_key_share(group, name):
    assert read_handshake_facts(tls13_flight(group)) == HandshakeFacts(group=name)


def test_tls13_key_share_unknown_group_shown_as_hex():
    assert read_handshake_facts(tls13_flight(0x1234)).group == "0x1234"


def test_tls13_empty_session_id_and_key_share_first():
    hello = server_hello(key_share(0x001D) + SUPPORTED_VERSIONS_13, session_id=b"")
    assert read_handshake_facts(record(HANDSHAKE, hello)).group == "x25519"


def test_hello_retry_request_two_byte_key_share():
    # RFC 8446 §4.2.8: in a HelloRetryRequest key_share is only selected_group.
    hello = server_hello(SUPPORTED_VERSIONS_13 + extension(0x0033, u16(0x0017)),
                         random=HRR_RANDOM)
    flight = record(HANDSHAKE, hello) + record(CHANGE_CIPHER_SPEC, b"\x01")
    assert read_handshake_facts(flight).group == "secp256r1"


def test_server_hello_split_over_two_records():
    hello = server_hello(SUPPORTED_VERSIONS_13 + key_share(0x001D))
    flight = record(HANDSHAKE, hello[:30]) + record(HANDSHAKE, hello[30:])
    assert read_handshake_facts(flight).group == "x25519"


def test_alert_record_before_server_hello_is_skipped():
    flight = record(ALERT, b"\x01\x00") + tls13_flight(0x001D)
    assert read_handshake_facts(flight).group == "x25519"


def test_tls12_ecdhe_secp256r1():
    point = b"\x04" + b"\x01" * 64
    assert read_handshake_facts(tls12_flight(ecdhe_ske(0x0017, point))).group == "secp256r1"


def test_tls12_ecdhe_x25519():
    assert read_handshake_facts(tls12_flight(ecdhe_ske(0x001D, b"\x09" * 32))).group == "x25519"


def test_tls12_each_message_in_its_own_record():
    ske = ecdhe_ske(0x0018, b"\x04" + b"\x02" * 96)
    flight = b"".join(record(HANDSHAKE, m) for m in (TLS12_HELLO, CERTIFICATE, ske,
                                                     SERVER_HELLO_DONE))
    assert read_handshake_facts(flight).group == "secp384r1"


@pytest.mark.parametrize("p_len, name", [(128, "DHE-1024"), (256, "DHE-2048"),
                                         (512, "DHE-4096")])
def test_tls12_dhe_group_size(p_len, name):
    p = b"\xff" + b"\xc9" * (p_len - 1)
    assert read_handshake_facts(tls12_flight(dhe_ske(p))).group == name


def test_tls12_without_server_key_exchange():
    # RSA key exchange: no ServerKeyExchange, no key_share, so no group.
    flight = record(HANDSHAKE, TLS12_HELLO + CERTIFICATE + SERVER_HELLO_DONE)
    assert read_handshake_facts(flight).group is None


def test_server_hello_without_extensions():
    flight = record(HANDSHAKE, server_hello(None, cipher=0x002F) + SERVER_HELLO_DONE)
    assert read_handshake_facts(flight).group is None


def test_messages_after_change_cipher_spec_are_ignored():
    # After CCS the records are encrypted; bytes there that look like a SKE mean nothing.
    fake = ecdhe_ske(0x0018, b"\x04" + b"\x02" * 96)
    flight = (record(HANDSHAKE, TLS12_HELLO) + record(CHANGE_CIPHER_SPEC, b"\x01")
              + record(HANDSHAKE, fake))
    assert read_handshake_facts(flight).group is None


def test_server_hello_key_share_wins_over_ske():
    flight = tls13_flight(0x001D)[:-(5 + 300 + 6)]  # drop CCS and app data
    flight += record(HANDSHAKE, ecdhe_ske(0x0018, b"\x04" + b"\x02" * 96))
    assert read_handshake_facts(flight).group == "x25519"


def test_ecdhe_unknown_curve_is_not_reported_as_dhe():
    # brainpoolP256r1 (0x001A, RFC 7027) with a large (RSA-8192, 1024-byte) signature:
    # curve_type 3 then 0x00 make the first two bytes 0x0300 = 768, which the DHE
    # branch reads as a 768-byte prime.
    ske = ecdhe_ske(0x001A, b"\x04" + b"\x03" * 64, signature=b"\x55" * 1024)
    group = read_handshake_facts(tls12_flight(ske)).group
    assert group == "brainpoolP256r1"


@pytest.mark.parametrize("data", [
    b"",
    b"220 mail.example.com ESMTP\r\n",
    b"\x16\x03\x03\x00",
    record(HANDSHAKE, b"\x02\x00\x00\x10abc"),     # message longer than its record
    record(HANDSHAKE, handshake(2, b"\x03\x03")),  # ServerHello cut after version
    record(HANDSHAKE, handshake(2, b"\x03\x03" + b"\x00" * 32 + b"\xff")),  # bad sid len
    record(HANDSHAKE, handshake(12, b"")),
    record(HANDSHAKE, handshake(12, b"\x03\x00")),
    record(HANDSHAKE, handshake(12, b"\x03\x00\x17\xff")),  # point longer than body
    record(HANDSHAKE, handshake(12, b"\x00\x00")),            # zero-length DH prime
    record(HANDSHAKE, handshake(12, b"\x01\x00\xff")),        # prime longer than body
    record(APPLICATION_DATA, b"\x02\x00\x00\x00"),
])
def test_garbage_gives_no_group(data):
    assert read_handshake_facts(data) == HandshakeFacts(group=None)


def test_truncated_flight_at_every_offset_never_raises():
    flight = tls13_flight(0x001D)
    hello_end = 5 + len(server_hello(SUPPORTED_VERSIONS_13 + key_share(0x001D)))
    for i in range(len(flight) + 1):
        group = read_handshake_facts(flight[:i]).group
        # The group is known exactly when the whole ServerHello record arrived.
        assert group == ("x25519" if i >= hello_end else None), f"cut at {i}"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data):
    facts = read_handshake_facts(data)
    assert facts.group is None or isinstance(facts.group, str)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_handshake_bodies_never_raise(body):
    for msg_type in (2, 12):
        facts = read_handshake_facts(record(HANDSHAKE, handshake(msg_type, body)))
        assert facts.group is None or isinstance(facts.group, str)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_corrupted_flight_never_raises(position, value):
    flight = bytearray(tls12_flight(ecdhe_ske(0x0017, b"\x04" + b"\x01" * 64)))
    flight[position % len(flight)] = value
    facts = read_handshake_facts(bytes(flight))
    assert facts.group is None or isinstance(facts.group, str)


# ------------------------------------------------------- RecordFramer properties

record_strategy = st.builds(
    Record, st.sampled_from([CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA]),
    st.sampled_from([0x0300, 0x0301, 0x0303]), st.binary(max_size=300))


@settings(max_examples=300, deadline=None)
@given(st.lists(record_strategy, max_size=6), st.lists(st.integers(min_value=0), max_size=8))
def test_framer_any_records_any_split(records, cuts):
    """RFC 8446 §5.1 framing: however the stream is cut, the same records come out, in order."""
    stream = b"".join(record(r.content_type, r.body, r.version) for r in records)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    framer, got = RecordFramer(), []
    for start, end in zip([0, *points], [*points, len(stream)], strict=True):
        got += framer.feed(stream[start:end])
    assert got == records and framer.buffered == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=8))
def test_framer_arbitrary_bytes_lose_nothing(data, cuts):
    """Only NotTlsRecord may escape, and every byte fed is a record, on the error, or buffered."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    framer, got, fed = RecordFramer(), [], 0
    try:
        for start, end in zip([0, *points], [*points, len(data)], strict=True):
            fed = end
            got += framer.feed(data[start:end])
    except NotTlsRecord as exc:
        got += exc.records
    assert sum(5 + len(r.body) for r in got) + framer.buffered == fed
