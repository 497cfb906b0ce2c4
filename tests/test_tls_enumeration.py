"""Pure parts of the TLS audit: ClientHello bytes, the flight reader, the frugal algorithm.

The algorithm is driven by a simulated server (a function choosing from the
offer like RFC 5246 §7.4.1.3 says a server must); the real-server tests are in
tests/test_tls_audit.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.packets import scapy_tls
from inspector.tls.client_hello import client_hello
from inspector.tls.enumerate import enumerate_groups, enumerate_version
from inspector.tls.hello import HRR_RANDOM, FlightReader, ServerAnswer
from inspector.tls.suites import BY_CODE, BY_IANA_NAME, SUITES


def server_hello(version: int, suite: int, *, random: bytes = bytes(32), extensions: bytes = b"") -> bytes:
    body = version.to_bytes(2, "big") + random + b"\x00" + suite.to_bytes(2, "big") + b"\x00"
    if extensions:
        body += len(extensions).to_bytes(2, "big") + extensions
    return b"\x02" + len(body).to_bytes(3, "big") + body


def record(content_type: int, body: bytes) -> bytes:
    return bytes([content_type, 3, 3]) + len(body).to_bytes(2, "big") + body


CERT = b"0\x82\x00\x02ab"
TLS12_FLIGHT = record(22, server_hello(0x0303, 0xC02F) + b"\x0b" + (len(CERT) + 6).to_bytes(3, "big")
                      + (len(CERT) + 3).to_bytes(3, "big") + len(CERT).to_bytes(3, "big") + CERT
                      + b"\x0c\x00\x00\x04\x03\x00\x1d\x00" + b"\x0e\x00\x00\x00")


def test_registry_facts():
    assert len(SUITES) >= 350 and len({s.code for s in SUITES}) == len(SUITES)
    aria = BY_IANA_NAME["TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"]
    assert (aria.code, aria.openssl_name, aria.min_version, aria.bits) == (0xC061, "ECDHE-ARIA256-GCM-SHA384",
                                                                           "TLSv1.2", 256)
    export = BY_CODE[0x0003]
    assert export.weak and export.export and export.rc4 and export.bits == 40 and not export.forward_secret
    assert BY_CODE[0x0002].null_cipher and BY_CODE[0x0018].anonymous and BY_CODE[0x000A].triple_des
    assert BY_CODE[0x1301].forward_secret and BY_CODE[0x1301].min_version == "TLSv1.3"
    assert not BY_CODE[0xC02F].weak and BY_CODE[0xC02F].forward_secret
    assert BY_CODE[0x00FF].scsv and BY_CODE[0x5600].scsv


def test_client_hello_round_trips_through_scapy():
    tls = scapy_tls()
    suites = [s.code for s in SUITES if not s.scsv and s.max_version == "TLSv1.2"]
    packet = tls.TLS(client_hello("TLSv1.2", suites, servername="mail.example"))
    hello = packet.msg[0]
    assert hello.version == 0x0303 and list(hello.ciphers) == suites + [0x00FF]
    assert not any(getattr(e, "type", None) == 0x2B for e in hello.ext)  # no supported_versions
    packet = tls.TLS(client_hello("TLSv1.3", [0x1301, 0x1302], key_share_group=None))
    hello = packet.msg[0]
    assert hello.version == 0x0303 and list(hello.ciphers) == [0x1301, 0x1302]
    assert any(getattr(e, "type", None) == 0x2B for e in hello.ext)
    assert bytes(packet)[1:3] == b"\x03\x01"
    assert tls.TLS(client_hello("SSLv3", [0x000A])).msg[0].version == 0x0300


def _read(chunks) -> ServerAnswer:
    reader = FlightReader()
    for chunk in chunks:
        reader.feed(chunk)
    return reader.answer()


def test_flight_split_at_every_offset_gives_the_same_answer():
    whole = _read([TLS12_FLIGHT])
    assert (whole.kind, whole.version, whole.suite, whole.group) == ("hello", "TLSv1.2", 0xC02F, "x25519")
    assert whole.chain_der == (CERT,)
    for cut in range(1, len(TLS12_FLIGHT)):
        reader = FlightReader()
        reader.feed(TLS12_FLIGHT[:cut])
        assert not reader.done or cut >= len(TLS12_FLIGHT) - 4
        reader.feed(TLS12_FLIGHT[cut:])
        assert reader.done and reader.answer() == whole


def test_tls13_hello_retry_and_alert():
    versions = b"\x00\x2b\x00\x02\x03\x04"
    hrr = _read([record(22, server_hello(0x0303, 0x1302, random=HRR_RANDOM,
                                         extensions=versions + b"\x00\x33\x00\x02\x00\x17"))])
    assert (hrr.kind, hrr.version, hrr.suite, hrr.group) == ("retry", "TLSv1.3", 0x1302, "secp256r1")
    alert = _read([record(21, b"\x02\x28")])
    assert (alert.kind, alert.alert) == ("alert", "handshake_failure")
    assert _read([b"220 mail ESMTP\r\n"]).kind == "none"
    assert _read([b""]).kind == "none"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=6))
def test_flight_reader_never_raises(chunks):
    _read(chunks)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_inside_a_handshake_record_never_raises(body):
    _read([record(22, b"\x02" + len(body).to_bytes(3, "big") + body)])


# ----------------------------------------------------------------- the algorithm


def simulated(accepted: list[int], server_order: bool, version: str = "TLSv1.2"):
    """A server accepting ``accepted`` (in its preference order); counts the ClientHellos."""
    calls = []

    def exchange(offer):
        calls.append(offer)
        pool = accepted if server_order else list(offer.suites)
        pick = next((s for s in pool if s in offer.suites and s in accepted), None)
        if pick is None:
            return ServerAnswer("alert", alert="handshake_failure")
        return ServerAnswer("hello", version, pick)

    return exchange, calls


CANDIDATES = [s.code for s in SUITES if not s.scsv and s.max_version == "TLSv1.2"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(CANDIDATES), unique=True, max_size=12), st.booleans())
def test_frugal_enumeration_finds_the_set_and_the_order(accepted, server_order):
    exchange, calls = simulated(accepted, server_order)
    outcome = enumerate_version("TLSv1.2", CANDIDATES, exchange)
    assert set(outcome.picks) == set(accepted)
    assert len(calls) <= len(accepted) + 2  # one per suite, one refusal, at most one order check
    if len(accepted) >= 2:
        assert outcome.server_order is server_order
    else:
        assert outcome.server_order is None


def test_a_lower_version_answer_ends_the_version():
    def exchange(offer):
        return ServerAnswer("hello", "TLSv1.1", offer.suites[0])

    outcome = enumerate_version("TLSv1.2", CANDIDATES, exchange)
    assert not outcome.supported and outcome.picks == []


def test_groups_by_hello_retry_request():
    supported = ["secp384r1", "x25519"]
    codes = {"x25519": 0x1D, "secp256r1": 0x17, "secp384r1": 0x18}

    def exchange(offer):
        offered = [name for name, code in codes.items() if code in offer.groups]
        pick = next((g for g in supported if g in offered), None)
        if offer.version != "TLSv1.3" or pick is None:
            return ServerAnswer("alert", alert="handshake_failure")
        return ServerAnswer("retry", "TLSv1.3", offer.suites[0], pick)

    outcome = enumerate_groups([0x1301], [0xC02F], exchange)
    assert (outcome.version, outcome.groups) == ("TLSv1.3", ["secp384r1", "x25519"])


def test_truncated_server_hello_is_unusable_not_an_error():
    message = b"\x02\x00\x00\x03\x03\x03\x00"  # a ServerHello body of three bytes
    answer = _read([record(22, message)])
    assert answer.kind == "none" and answer.suite is None


def test_endless_flight_stops_at_the_cap():
    reader = FlightReader()
    chunk = record(22, b"\x0b" + (2**24 - 1).to_bytes(3, "big") + bytes(16000))
    while not reader.done:
        reader.feed(chunk)
    assert reader.received > 256 * 1024 and reader.answer().kind == "none"


# ------------------------------------------- a close after an offer (issue 13, case 3)


def closing_server(accepted: list[int], closes_on: set[str], server_order: bool = False,
                   refusal: str = "close"):
    """Dovecot without ssl_dh, simulated: client order; picking a suite whose key exchange is in
    ``closes_on`` closes the connection (ServerAnswer "none"); sharing nothing closes too
    (``refusal="close"``, as Dovecot does) or sends handshake_failure."""
    calls = []

    def exchange(offer):
        calls.append(offer)
        pool = accepted if server_order else list(offer.suites)
        pick = next((s for s in pool if s in offer.suites and
                     (s in accepted or BY_CODE[s].kx in closes_on)), None)
        if pick is None:
            if refusal == "close":
                return ServerAnswer("none", detail="the connection closed without an answer")
            return ServerAnswer("alert", alert="handshake_failure")
        if BY_CODE[pick].kx in closes_on:
            return ServerAnswer("none", detail="the connection closed without an answer")
        return ServerAnswer("hello", "TLSv1.2", pick)

    return exchange, calls


ECDHE_RSA = [BY_IANA_NAME[n].code for n in ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")]


def test_a_close_provoked_by_dhe_is_narrowed_down_not_taken_for_refusal():
    exchange, calls = closing_server(ECDHE_RSA, {"DHE"})
    outcome = enumerate_version("TLSv1.2", CANDIDATES, exchange)
    assert outcome.supported and set(outcome.picks) == set(ECDHE_RSA)
    assert set(outcome.closed_on) == {"DHE"}
    assert outcome.error is None
    families = {BY_CODE[c].kx for c in CANDIDATES}
    assert len(calls) <= 2 * len(families) + len(ECDHE_RSA) + 4


def test_a_close_without_a_culprit_is_refusal():
    """A server that closes on everything at this version (Dovecot at TLS 1.0) accepts none."""
    exchange, calls = closing_server([], set())
    outcome = enumerate_version("TLSv1.2", CANDIDATES, exchange)
    assert not outcome.supported and outcome.picks == [] and outcome.closed_on == {}
    assert len(calls) <= 1 + len({BY_CODE[c].kx for c in CANDIDATES})


@pytest.mark.parametrize("refusal", ["close", "alert"])
def test_a_server_order_server_that_never_picks_dhe_has_no_culprit(refusal):
    exchange, _calls = closing_server(ECDHE_RSA, {"DHE"}, server_order=True, refusal=refusal)
    outcome = enumerate_version("TLSv1.2", CANDIDATES, exchange)
    assert outcome.picks == ECDHE_RSA and outcome.server_order is True
    assert outcome.closed_on == {}


def test_narrowing_keeps_the_order_verdict():
    exchange, _calls = closing_server(ECDHE_RSA, {"DHE"})
    outcome = enumerate_version("TLSv1.2", CANDIDATES, exchange)
    assert outcome.server_order is False


# ------------------------------------------- ServerHello, then an alert (issue 13, case 4)


def test_server_hello_then_alert_80_is_kept_as_a_late_alert():
    """OpenSMTPD 6.8 with OpenSSL 3: ServerHello, then alert internal_error, then close."""
    flight = record(22, server_hello(0x0303, 0xC030)) + record(21, b"\x02\x50")
    answer = _read([flight])
    assert answer.kind == "hello" and answer.suite == 0xC030
    assert answer.late_alert == "internal_error"
    reader = FlightReader()
    reader.feed(flight)
    assert reader.done  # no wait for a ServerHelloDone that never comes


def test_a_server_that_closes_on_big_offers_is_asked_family_by_family():
    """No family is to blame when only the size of the offer makes the server close."""
    accepted = ECDHE_RSA + [BY_IANA_NAME["TLS_RSA_WITH_AES_128_GCM_SHA256"].code]

    def exchange(offer):
        if len(offer.suites) > 100:  # every family alone is smaller
            return ServerAnswer("none", detail="the connection closed without an answer")
        pick = next((s for s in offer.suites if s in accepted), None)
        if pick is None:
            return ServerAnswer("alert", alert="handshake_failure")
        return ServerAnswer("hello", "TLSv1.2", pick)

    outcome = enumerate_version("TLSv1.2", CANDIDATES, exchange)
    assert outcome.supported and set(outcome.picks) == set(accepted)
    assert outcome.closed_on == {}
