"""inspector/rules/discovery.py: discover's findings from facts, and never from an unknown lookup."""

from __future__ import annotations

import datetime
import socket
import time

import pytest

from inspector.discover.dns import Lookup
from inspector.discover.probing import NOT_STARTED, ProbeQueue
from inspector.discover.results import MxReport, StsReport
from inspector.probes.session import ProbeConfig
from inspector.rules import discovery as rules

NO_ANSWER = Lookup("no-answer", "unknown (no answer): no answer from DNS server 127.0.0.1:53 within 1 s")


def ids(findings) -> list[str]:
    return [f.id for f in findings]


def sts(**changes) -> StsReport:
    base = dict(txt_id="1", txt_error=None, policy_url="https://mta-sts.d.test/.well-known/mta-sts.txt",
                policy_state="valid", mode="enforce", mx_patterns=("*.d.test",), max_age=86400, error=None,
                uncovered_mx=())
    return StsReport(**{**base, **changes})


def mx(**changes) -> MxReport:
    base = dict(host="mx.d.test", preference=10, address="192.0.2.1",
                address_lookup=Lookup("found", "192.0.2.1"),
                tried=True, error=None, certificate_valid=True, certificate_detail="trusted and valid",
                tlsa_lookup=Lookup("nxdomain", "no such name (NXDOMAIN)"), tlsa_records=(),
                tlsa_authenticated=False, tlsa_match=None, tlsa_detail="no TLSA records")
    return MxReport(**{**base, **changes})


@pytest.mark.parametrize("state, expected", [("null", ["mx-null"]), ("found", []), ("none", []),
                                             ("nxdomain", []), ("no-answer", []), ("error", [])])
def test_null_mx_only_for_the_null_record(state, expected):
    assert ids(rules.null_mx("d.test", state)) == expected


@pytest.mark.parametrize("state", ["no-answer", "error", "none", "nxdomain"])
def test_mta_sts_judges_nothing_unless_the_record_was_found(state):
    assert rules.mta_sts("d.test", state, sts(txt_error="2 TXT records start with v=STSv1"), [mx()]) == []


def test_mta_sts_record_and_policy():
    assert ids(rules.mta_sts("d.test", "found", sts(txt_error="no id"), [])) == ["mta-sts-record-invalid"]
    invalid = sts(policy_state="invalid", mode=None, error="policy invalid: mode is 'x'")
    assert ids(rules.mta_sts("d.test", "found", invalid, [])) == ["mta-sts-policy-invalid"]
    silent = sts(policy_state="unknown", mode=None, error="unknown (no answer): no HTTP answer")
    assert rules.mta_sts("d.test", "found", silent, [mx(certificate_valid=False)]) == []
    testing = sts(mode="testing", uncovered_mx=("mx.other.test",))
    assert ids(rules.mta_sts("d.test", "found", testing, [])) == ["mta-sts-mx-mismatch", "mta-sts-testing"]


@pytest.mark.parametrize("report, expected", [
    (mx(), []),
    (mx(certificate_valid=False, certificate_detail="certificate for another name"),
     ["mta-sts-mx-certificate"]),
    (mx(certificate_valid=None, error="port blocked or closed"), ["mta-sts-mx-certificate"]),
    (mx(address=None, address_lookup=Lookup("nxdomain", "no such name (NXDOMAIN)"), tried=False,
        certificate_valid=None, error="name does not resolve"), ["mta-sts-mx-certificate"]),
    (mx(address=None, address_lookup=NO_ANSWER, tried=False, certificate_valid=None,
        error="not tried: its address is unknown"), []),
    (mx(address_lookup=None, tried=False, certificate_valid=None, error="not tried: deadline"), []),
    (mx(tried=False, certificate_valid=None, error=NOT_STARTED), []),
], ids=["valid", "invalid", "no-session", "nxdomain", "address-unknown", "deadline-before-lookup",
        "deadline-before-probe"])
def test_mta_sts_mx_certificate_only_for_what_was_seen(report, expected):
    assert ids(rules.mta_sts("d.test", "found", sts(), [report])) == expected


def test_dnssec_unauthenticated_only_for_tlsa_records_seen_without_ad():
    assert ids(rules.dnssec_unauthenticated("mx.d.test", "found", False, "127.0.0.1:53")) == \
        ["dnssec-unauthenticated"]
    assert rules.dnssec_unauthenticated("mx.d.test", "found", True, "127.0.0.1:53") == []
    for state in ("no-answer", "error", "none", "nxdomain"):
        assert rules.dnssec_unauthenticated("mx.d.test", state, False, "127.0.0.1:53") == []


def test_recommended_server_and_autoconfig_documents():
    assert ids(rules.recommended_server("smtp.d.test", 25, None)) == ["discover-port-25"]
    assert ids(rules.recommended_server("smtp.d.test", 465, "certificate not trusted")) == \
        ["discover-certificate-invalid"]
    assert rules.recommended_server("smtp.d.test", 587, None) == []
    refused = rules.autoconfig_document("https://a.d.test/x", "not well-formed XML")
    assert ids(refused) == ["autoconfig-invalid"]
    assert ids(rules.autoconfig_document("http://a.d.test/x", None)) == ["autoconfig-http"]
    assert rules.autoconfig_document("https://a.d.test/x", None) == []


# -- the probe queue (the lab server is the peer) -----------------------------------------------


def _config(lab) -> ProbeConfig:
    return ProbeConfig(host=lab.host, port=lab.port, servername=lab.hostname, cafile=lab.ca_path,
                       timeout=5, deadline=10)


def _started(outcome) -> datetime.datetime:
    return datetime.datetime.fromisoformat(outcome.result.started_at)


def test_queue_starts_the_best_ranked_first_and_holds_weaker_ranks_briefly(lab_server):
    lab = lab_server()
    queue = ProbeQueue(concurrency=1, stagger=0.05, deadline_at=time.monotonic() + 20)
    queue.hold((2,), 5)
    queue.submit("guess", (3,), _config(lab))
    queue.submit("autoconfig", (1,), _config(lab))
    time.sleep(0.3)
    queue.submit("srv", (0,), _config(lab))  # came later, still before the held guess
    queue.release()
    outcomes = queue.close()
    assert _started(outcomes["autoconfig"]) < _started(outcomes["srv"]) < _started(outcomes["guess"])
    assert all(o.result.tls is not None for o in outcomes.values())


def test_queue_names_what_the_deadline_left_unstarted():
    mute = socket.create_server(("127.0.0.1", 0))  # accepts, never greets
    try:
        config = ProbeConfig(host="127.0.0.1", port=mute.getsockname()[1], timeout=30, deadline=30)
        queue = ProbeQueue(concurrency=1, stagger=0.05, deadline_at=time.monotonic() + 1.5)
        for n in range(3):
            queue.submit(n, (n,), config)
        started = time.monotonic()
        outcomes = queue.close()
    finally:
        mute.close()
    assert time.monotonic() - started < 4
    assert outcomes[0].result is not None and outcomes[0].skipped is None
    assert [outcomes[n].skipped for n in (1, 2)] == [NOT_STARTED, NOT_STARTED]
