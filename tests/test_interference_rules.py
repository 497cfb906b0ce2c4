"""Verdict rules, port states and hop distances from observation dataclasses (no packets)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.interference.observations import (
    ICMP,
    NONE,
    RST,
    SYN_ACK,
    TIME_EXCEEDED,
    Hop,
    PortObservation,
    Service,
    TcpAnswer,
    Trace,
    hop_distance,
    initial_ttl,
)
from inspector.rules.interference import divergence, judge, port_state

HOST = "192.0.2.25"
OPTS = ("MSS", "SAckOK", "Timestamp", "NOP", "WScale")


def synack(ttl=62, source=HOST, window=65160):
    return TcpAnswer(SYN_ACK, source, ttl, 0, window, 1460, OPTS)


def trace(port, *answers):
    return Trace(port, tuple(Hop(i + 1, a) for i, a in enumerate(answers)))


def router(n):
    return TcpAnswer(TIME_EXCEEDED, f"198.51.100.{n}", 65 - n, 1, icmp_type=11, icmp_code=0)


def service(port, host="mail.example", starttls=True, spki="a" * 64, mode="starttls", masked=()):
    return Service(port, mode, f"220 {host} ESMTP", 1.0, starttls if mode != "implicit" else None,
                   masked, spki, "CN=x", "CN=ca")


CONTROL = PortObservation(587, synack(), service=service(587),
                          trace=trace(587, router(1), router(2), synack()))


@pytest.mark.parametrize("ttl, start, hops", [(64, 64, 1), (62, 64, 3), (1, 32, 32), (33, 64, 32),
                                              (128, 128, 1), (120, 128, 9), (255, 255, 1), (200, 255, 56)])
def test_hop_distance_guesses_the_next_initial_ttl(ttl, start, hops):
    assert initial_ttl(ttl) == start
    assert hop_distance(ttl) == hops


@given(st.integers(min_value=1, max_value=255))
def test_hop_distance_is_between_1_and_the_initial_ttl(ttl):
    assert 1 <= hop_distance(ttl) <= initial_ttl(ttl)


def test_clean_path_has_no_verdict():
    port25 = PortObservation(25, synack(), service=service(25),
                             trace=trace(25, router(1), router(2), synack()))
    port465 = PortObservation(465, synack(), service=service(465, mode="implicit"))
    assert judge(CONTROL, [port25, port465]) == []
    assert port_state(port25, 3) == "open"


def test_silent_drop_names_the_last_shared_hop():
    dropped = PortObservation(25, TcpAnswer(NONE, probes=3),
                              trace=trace(25, router(1), TcpAnswer(NONE), TcpAnswer(NONE)))
    [verdict] = judge(CONTROL, [dropped])
    assert (verdict.id, verdict.confidence, verdict.hop, verdict.diverges_at_ttl) == \
        ("silently-dropped", "strong", 1, 2)
    assert verdict.hop_address == "198.51.100.1"
    assert port_state(dropped, 3) == "filtered"


def test_no_verdict_when_the_control_port_is_silent_too():
    silent = PortObservation(587, TcpAnswer(NONE))
    assert judge(silent, [PortObservation(25, TcpAnswer(NONE))]) == []


def test_rst_from_nearer_than_the_host_is_injected_and_from_the_host_is_closed():
    injected = PortObservation(25, TcpAnswer(RST, HOST, 64, 0, 0))
    [verdict] = judge(CONTROL, [injected])
    assert (verdict.id, verdict.hop) == ("rst-injected", 1)
    closed = PortObservation(25, TcpAnswer(RST, HOST, 62, 0, 0))
    assert judge(CONTROL, [closed]) == []
    assert port_state(closed, 3) == "closed" and port_state(injected, 3) == "intercepted"


def test_icmp_admin_prohibited_is_definitive():
    icmp = PortObservation(25, TcpAnswer(ICMP, "198.51.100.1", 64, 1, icmp_type=3, icmp_code=13))
    [verdict] = judge(CONTROL, [icmp])
    assert (verdict.id, verdict.confidence, verdict.hop, verdict.hop_address) == \
        ("icmp-prohibited", "definitive", 1, "198.51.100.1")


def test_syn_ack_below_the_host_distance_is_a_proxy():
    near = PortObservation(25, synack(ttl=64), service=service(25), trace=trace(25, synack(ttl=64)))
    [verdict] = judge(CONTROL, [near])
    assert (verdict.id, verdict.confidence, verdict.hop, verdict.diverges_at_ttl) == \
        ("transparent-proxy", "definitive", 1, 1)


def test_other_greeting_alone_is_heuristic():
    other = PortObservation(25, synack(), service=service(25, host="relay.isp.example", spki="b" * 64))
    [verdict] = judge(CONTROL, [other])
    assert (verdict.id, verdict.confidence) == ("transparent-proxy", "heuristic")


def test_fingerprint_difference_is_heuristic():
    other = PortObservation(25, synack(window=29200), service=service(25))
    [verdict] = judge(CONTROL, [other])
    assert verdict.confidence == "heuristic" and "window" in verdict.evidence[0]


def test_stripped_masked_and_intercepted():
    stripped = PortObservation(25, synack(), service=service(25, starttls=False, mode="none"))
    masked = PortObservation(2525, synack(), service=service(2525, starttls=False, mode="none",
                                                            masked=("XXXXXXXA",)))
    resigned = PortObservation(465, synack(), service=service(465, mode="implicit", spki="c" * 64))
    ids = {(v.id, v.port) for v in judge(CONTROL, [stripped, masked, resigned])}
    assert ids == {("starttls-stripped", 25), ("starttls-masked", 2525), ("tls-intercepted", 465)}


def test_expected_spki_is_definitive_and_checks_the_control_too():
    verdicts = judge(CONTROL, [], expect_spki="d" * 64)
    assert [(v.id, v.port, v.confidence) for v in verdicts] == [("tls-intercepted", 587, "definitive")]


def test_divergence_is_the_first_differing_ttl():
    same = trace(25, router(1), router(2), synack())
    assert divergence(CONTROL.trace, same) is None
    assert divergence(CONTROL.trace, trace(25, router(1), synack(ttl=63))) == (2, "198.51.100.1")
