"""``discover`` when DNS says no, says nothing, or says "no mail": absence is not silence.

A dnspython authoritative server (tests/dns_server.py, answering the way NSD
does: NXDOMAIN for names without records, NODATA for names without the asked
type) serves the zone; chosen questions are answered SERVFAIL or never
answered at all. For each source (SRV, MX, the ``_mta-sts`` TXT record,
A/AAAA of a candidate, TLSA of an MX) every answer gets its own words, and a
lookup that got no answer is "unknown", never "none", and never a finding.
Then the scheduling: a slow source must not starve a good candidate, and a run
the deadline cut short says which candidates were not tried.

The engine runs in-process (the same code the command runs) so the twenty-odd
scenarios stay quick; JSON is validated against the schema and the text
rendering is checked for the words.
"""

from __future__ import annotations

import json
import pathlib
import socket
import time

import jsonschema
import pytest

from inspector.discover.dns import DnsClient
from inspector.discover.engine import DiscoverOptions, discover
from inspector.render.discover_json import to_dict
from inspector.render.discover_text import render_discover
from tests.discover_world import HANG, SOA, World
from tests.dns_server import DnsTestServer
from tests.nsd_server import NsdServer

SCHEMA = json.loads((pathlib.Path(__file__).parent.parent / "inspector/schema/discover.schema.json")
                    .read_text())
EMAIL = "alice@example.test"
SERVFAIL = "answered SERVFAIL"
NO_ANSWER = "unknown (no answer)"


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.stop()


def run(world, *, faults=None, timeout=1.0, deadline=20.0, concurrency=4, email=EMAIL):
    if world.dns is None:
        world.start_dns(faults=faults)
    options = DiscoverOptions(email=email, dns_server=(world.dns.host, world.dns.port), timeout=timeout,
                              deadline=deadline, cafile=world.cafile, concurrency=concurrency)
    result = discover(options)
    doc = to_dict(result)
    jsonschema.validate(doc, SCHEMA)
    return doc, render_discover(result)


def source(doc, kind, query):
    return next(s for s in doc["sources"] if s["source"] == kind and s["query"] == query)


def candidate(doc, host, port):
    return next(c for c in doc["candidates"] if c["host"] == host and c["port"] == port)


def working_guess(world):
    """smtp.example.test:465 works, so every run has a recommendation to compare against."""
    world.add("smtp.example.test. A 127.0.86.5")
    world.lab("smtp.example.test", "127.0.86.5", 465)


# -- the client itself ---------------------------------------------------------------------


def test_dns_client_names_each_kind_of_answer(world):
    world.add("there.example.test. A 127.0.86.9", "example.test. MX 0 .")
    world.start_dns(faults={("broken.example.test", "A"): "SERVFAIL",
                            ("refusing.example.test", "A"): "REFUSED",
                            ("silent.example.test", "A"): "drop"})
    client = DnsClient((world.dns.host, world.dns.port), timeout=0.5, deadline_at=time.monotonic() + 10)
    states = {name: client.query(f"{name}.example.test", "A").lookup
              for name in ("there", "nowhere", "broken", "refusing", "silent")}
    states["nodata"] = client.query("there.example.test", "AAAA").lookup
    assert {k: v.state for k, v in states.items()} == {
        "there": "found", "nowhere": "nxdomain", "nodata": "none", "broken": "error",
        "refusing": "error", "silent": "no-answer"}
    assert states["nowhere"].detail == "no such name (NXDOMAIN)"
    assert states["nodata"].detail == "no AAAA record (NODATA)"
    assert states["broken"].detail.startswith("unknown (DNS server 127.0.86.1:") and SERVFAIL in \
        states["broken"].detail
    assert "answered REFUSED" in states["refusing"].detail
    assert states["silent"].detail.startswith(NO_ANSWER)
    assert client.addresses("nowhere.example.test").lookup.state == "nxdomain"
    assert ("nowhere.example.test.", "AAAA") not in world.dns.queries, "NXDOMAIN: no name, no AAAA"


# -- the test server answers as NSD does ------------------------------------------------------

NSD_ZONE = SOA + """test. NS ns.test.
ns.test. A 127.0.86.53
example.test. MX 0 .
_submissions._tcp.example.test. SRV 0 0 0 .
smtp.example.test. A 127.0.86.5
mx.example.test. A 127.0.86.6
"""
QUESTIONS = [("example.test", "MX"), ("example.test", "A"), ("gone.test", "MX"),
             ("_submissions._tcp.example.test", "SRV"), ("_submission._tcp.example.test", "SRV"),
             ("_tcp.example.test", "SRV"), ("smtp.example.test", "A"), ("smtp.example.test", "AAAA"),
             ("_mta-sts.example.test", "TXT"), ("_25._tcp.mx.example.test", "TLSA")]


def test_the_test_dns_server_answers_like_nsd(tmp_path):
    """NSD 4 (Debian's nsd) is the reference: NXDOMAIN, NODATA, empty non-terminals, "." targets."""
    from inspector.discover.sources import mx_source, srv_source

    states = {}
    for name, server in (("nsd", NsdServer(NSD_ZONE, "test.", tmp_path / "nsd", host="127.0.86.53")),
                         ("ours", DnsTestServer(NSD_ZONE, "test.", host="127.0.86.1"))):
        with server:
            client = DnsClient((server.host, server.port), timeout=1, deadline_at=time.monotonic() + 10)
            answers = {q: client.query(*q) for q in QUESTIONS}
        states[name] = {q: (a.lookup.state, a.texts) for q, a in answers.items()}
        states[name]["mx row"] = mx_source("example.test", answers[("example.test", "MX")], 5)[0].status
        states[name]["srv row"] = srv_source("_submissions._tcp", "q", answers[QUESTIONS[3]])[0].status
    assert states["ours"] == states["nsd"]
    assert states["nsd"]["mx row"] == "null" and states["nsd"]["srv row"] == "null"
    assert states["nsd"][("_tcp.example.test", "SRV")][0] == "none", "empty non-terminal: NODATA"
    assert states["nsd"][("gone.test", "MX")][0] == "nxdomain"


def test_null_mx_served_by_nsd(world, tmp_path):
    working_guess(world)
    with NsdServer(NSD_ZONE, "test.", tmp_path / "nsd") as nsd:
        options = DiscoverOptions(email=EMAIL, dns_server=(nsd.host, nsd.port), timeout=1, deadline=20,
                                  cafile=world.cafile)
        result = discover(options)
    doc, text = to_dict(result), render_discover(result)
    jsonschema.validate(doc, SCHEMA)

    assert source(doc, "mx", "example.test")["status"] == "null"
    assert source(doc, "srv", SRV)["status"] == "null"
    assert "null MX (RFC 7505): example.test accepts no mail" in text
    assert "domain's own address" not in text and "no MX records" not in text
    assert [f["id"] for f in doc["findings"]] == ["mx-null"]
    assert doc["recommendation"]["host"] == "smtp.example.test"


# -- SRV -------------------------------------------------------------------------------------

SRV = "_submissions._tcp.example.test"


@pytest.mark.parametrize("records, faults, status, words", [
    ((), {}, "nxdomain", "no such name (NXDOMAIN)"),
    ((f'{SRV}. TXT "not a service"',), {}, "none", "no SRV record (NODATA)"),
    ((f"{SRV}. SRV 0 0 0 .",), {}, "null", 'target "."'),
    ((), {(SRV, "SRV"): "SERVFAIL"}, "error", SERVFAIL),
    ((), {(SRV, "SRV"): "drop"}, "no-answer", NO_ANSWER),
], ids=["nxdomain", "nodata", "null", "servfail", "no-answer"])
def test_srv_lookup_states(world, records, faults, status, words):
    working_guess(world)
    world.add(*records)

    doc, text = run(world, faults=faults)

    row = source(doc, "srv", SRV)
    assert row["status"] == status and words in row["detail"], row
    assert doc["findings"] == [] and doc["recommendation"]["host"] == "smtp.example.test"
    if status in ("error", "no-answer"):
        assert "unknown" in row["detail"] and "unknown" in text.split("Sources:")[1]


# -- MX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("records, faults, status, words, inbound", [
    ((), {}, "nxdomain", "no such name (NXDOMAIN)", "does not exist (NXDOMAIN): no mail can be delivered"),
    ((), {}, "none", "no MX record (NODATA)", "no MX records (RFC 5321 §5.1"),  # only names below it
    (("example.test. TXT \"v=spf1 -all\"",), {}, "none", "no MX record (NODATA)",
     "no MX records (RFC 5321 §5.1: mail goes to the domain's own address)"),
    (("example.test. MX 0 .",), {}, "null", "null MX", "null MX (RFC 7505): example.test accepts no mail"),
    ((), {("example.test", "MX"): "SERVFAIL"}, "error", SERVFAIL, "MX: unknown (DNS server"),
    ((), {("example.test", "MX"): "drop"}, "no-answer", NO_ANSWER, "MX: unknown (no answer)"),
], ids=["nxdomain", "empty-non-terminal", "nodata", "null-mx", "servfail", "no-answer"])
def test_mx_lookup_states(world, records, faults, status, words, inbound):
    """NXDOMAIN needs a domain without any name below it (else it is an empty non-terminal: NODATA)."""
    domain = "gone.test" if status == "nxdomain" else "example.test"
    working_guess(world)
    world.add(*records)

    doc, text = run(world, faults=faults, email=f"alice@{domain}")

    row = source(doc, "mx", domain)
    assert row["status"] == status and words in row["detail"], row
    section = text.split(f"Inbound mail for {domain}:")[1]
    assert inbound in section, section
    if status != "none":
        assert "no MX records" not in section and "domain's own address" not in section
    ids = [f["id"] for f in doc["findings"]]
    assert ids == (["mx-null"] if status == "null" else []), doc["findings"]
    assert doc["mx"] == []


def test_null_mx_among_other_records_is_reported_and_the_real_ones_are_checked(world):
    working_guess(world)
    world.add("example.test. MX 0 .", "example.test. MX 10 mx.example.test.", "mx.example.test. A 127.0.86.6")
    world.lab("mx.example.test", "127.0.86.6", 25)

    doc, _ = run(world)

    row = source(doc, "mx", "example.test")
    assert row["status"] == "found" and "RFC 7505 §3" in row["detail"]
    assert [m["host"] for m in doc["mx"]] == ["mx.example.test"]
    assert "mx-null" not in [f["id"] for f in doc["findings"]]


# -- TXT (_mta-sts) ---------------------------------------------------------------------------

STS = "_mta-sts.example.test"


@pytest.mark.parametrize("records, faults, status, words", [
    ((), {}, "nxdomain", "no such name (NXDOMAIN)"),
    ((f"{STS}. A 127.0.86.99",), {}, "none", "no TXT record (NODATA)"),
    ((f'{STS}. TXT "v=spf1 -all"',), {}, "none", "no TXT record starts with v=STSv1"),
    ((), {(STS, "TXT"): "SERVFAIL"}, "error", SERVFAIL),
    ((), {(STS, "TXT"): "drop"}, "no-answer", NO_ANSWER),
], ids=["nxdomain", "nodata", "other-txt", "servfail", "no-answer"])
def test_mta_sts_txt_lookup_states(world, records, faults, status, words):
    working_guess(world)
    world.add("example.test. MX 10 mx.example.test.", *records)

    doc, text = run(world, faults=faults)

    row = source(doc, "mta-sts", STS)
    assert row["status"] == status and words in row["detail"], row
    assert doc["mta_sts"] is None
    assert not [f for f in doc["findings"] if f["id"].startswith("mta-sts")], doc["findings"]
    line = next(ln for ln in text.splitlines() if ln.startswith("MTA-STS:"))
    assert words in line
    if status in ("error", "no-answer"):
        assert line.startswith("MTA-STS: unknown") and "no policy" not in line


# -- A/AAAA of a candidate -------------------------------------------------------------------


@pytest.mark.parametrize("records, faults, state, words, tried", [
    ((), {}, "nxdomain", "name does not resolve: no such name (NXDOMAIN)", False),
    (('mail.example.test. TXT "x"',), {}, "none", "name does not resolve: no A or AAAA record (NODATA)",
     False),
    ((), {("mail.example.test", "*"): "SERVFAIL"}, "error", SERVFAIL, False),
    ((), {("mail.example.test", "*"): "drop"}, "no-answer", NO_ANSWER, False),
    (("mail.example.test. A 127.0.86.8",), {("mail.example.test", "AAAA"): "drop"}, "found",
     "port blocked or closed", True),
], ids=["nxdomain", "nodata", "servfail", "no-answer", "aaaa-silent-a-found"])
def test_candidate_address_lookup_states(world, records, faults, state, words, tried):
    working_guess(world)
    world.add(*records)

    doc, text = run(world, faults=faults)

    c = candidate(doc, "mail.example.test", 465)
    assert c["lookup"]["state"] == state and words in c["reason"], c
    assert c["tried"] is tried
    assert doc["findings"] == []
    unknown = state in ("error", "no-answer")
    assert ("mail.example.test:465" in doc["not_tried"]) is unknown
    if unknown:
        assert c["reason"].startswith("not tried: its address is unknown")
        assert "does not resolve" not in c["reason"]
        assert "Not tried" in text and "mail.example.test:465" in text.split("Not tried")[1]


# -- TLSA of an MX ------------------------------------------------------------------------------

TLSA = "_25._tcp.mx.example.test"


@pytest.mark.parametrize("records, faults, state, words", [
    ((), {}, "nxdomain", "no TLSA records (NXDOMAIN): DANE not used"),
    ((f'{TLSA}. TXT "x"',), {}, "none", "no TLSA records (NODATA): DANE not used"),
    ((), {(TLSA, "TLSA"): "SERVFAIL"}, "error", SERVFAIL),
    ((), {(TLSA, "TLSA"): "drop"}, "no-answer", NO_ANSWER),
], ids=["nxdomain", "nodata", "servfail", "no-answer"])
def test_tlsa_lookup_states(world, records, faults, state, words):
    working_guess(world)
    world.add("example.test. MX 10 mx.example.test.", "mx.example.test. A 127.0.86.6", *records)
    world.lab("mx.example.test", "127.0.86.6", 25)

    doc, text = run(world, faults=faults)

    (mx,) = doc["mx"]
    assert mx["tlsa_lookup"]["state"] == state and words in mx["tlsa_detail"], mx
    assert mx["tlsa_match"] is None and mx["certificate_valid"] is True
    assert doc["findings"] == [], "an unknown or absent TLSA set decides nothing"
    if state in ("error", "no-answer"):
        assert mx["tlsa_detail"].startswith("unknown")
        assert "DANE TLSA" in text and "unknown" in text.split("Inbound mail")[1]


# -- a DNS server that never answers ---------------------------------------------------------


def test_a_silent_dns_server_is_unknown_everywhere_and_nothing_was_contacted(world):
    mute = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mute.bind(("127.0.86.1", 0))
    try:
        options = DiscoverOptions(email=EMAIL, dns_server=mute.getsockname(), timeout=0.3, deadline=5)
        result = discover(options)
    finally:
        mute.close()
    doc, text = to_dict(result), render_discover(result)
    jsonschema.validate(doc, SCHEMA)

    assert doc["exit_code"] == 20 and doc["findings"] == []
    assert "nothing was contacted" in doc["error"] and "candidates tried" not in doc["error"]
    assert {s["status"] for s in doc["sources"]} == {"no-answer"}, doc["sources"]
    assert {c["lookup"]["state"] for c in doc["candidates"]} == {"no-answer"}
    assert not any(c["tried"] for c in doc["candidates"])
    assert sorted(doc["not_tried"]) == sorted(f"{c['host']}:{c['port']}" for c in doc["candidates"])
    assert "no MX records" not in text and "no policy" not in text
    assert "MX: unknown (no answer)" in text and "MTA-STS: unknown (no answer)" in text
    for row in filter(None, text.split("Sources:")[1].split("Inbound")[0].splitlines()[3:]):
        assert "unknown (no answer)" in row, row


# -- the deadline goes to the best candidates --------------------------------------------------


def test_a_stuck_autoconfig_server_does_not_starve_the_srv_candidate(world):
    """The issue's case: --timeout 30 --deadline 5; autoconfig completes TLS and never answers."""
    world.add(f"{SRV}. SRV 0 1 465 submit.example.test.", "submit.example.test. A 127.0.86.2",
              "autoconfig.example.test. A 127.0.86.3")
    world.lab("submit.example.test", "127.0.86.2", 465)
    world.web("autoconfig.example.test", "127.0.86.3", {"/mail/config-v1.1.xml": HANG})
    started = time.monotonic()

    doc, text = run(world, timeout=30, deadline=5)

    elapsed = time.monotonic() - started
    rec = doc["recommendation"]
    assert (rec["host"], rec["port"]) == ("submit.example.test", 465)
    assert rec["sources"] == ["srv _submissions._tcp"]
    assert doc["exit_code"] == 0 and elapsed < 8, elapsed
    row = next(s for s in doc["sources"] if s["query"].startswith("https://autoconfig."))
    assert row["status"] == "no-answer" and "unknown (no answer)" in row["detail"], row
    assert candidate(doc, "submit.example.test", 465)["tried"] is True


def test_when_the_deadline_cuts_the_run_short_it_says_which_candidates_were_not_tried(world):
    """One probe at a time; the SRV target accepts TCP and never greets, and holds it to the deadline."""
    world.add(f"{SRV}. SRV 0 1 465 mute.example.test.", "mute.example.test. A 127.0.86.10")
    working_guess(world)
    mute = socket.create_server(("127.0.86.10", 465))
    try:
        doc, text = run(world, timeout=30, deadline=3, concurrency=1)
    finally:
        mute.close()

    assert candidate(doc, "mute.example.test", 465)["tried"] is True
    assert doc["recommendation"] is None and doc["exit_code"] == 20
    for port in (465, 587, 25):
        label = f"smtp.example.test:{port}"
        assert label in doc["not_tried"]
        c = candidate(doc, "smtp.example.test", port)
        assert c["tried"] is False and c["reason"].startswith("not tried: the overall deadline"), c
    assert "1 of" in doc["error"] and "not tried" in doc["error"] and "smtp.example.test:465" in doc["error"]
    assert "Not tried before the deadline" in text


# -- autoconfig and the MTA-STS policy over HTTPS --------------------------------------------

AUTOCONFIG = "https://autoconfig.example.test/mail/config-v1.1.xml?emailaddress=alice@example.test"


@pytest.mark.parametrize("records, web, faults, status, words", [
    ((), None, {}, "nxdomain", "autoconfig.example.test: no such name (NXDOMAIN)"),
    (("autoconfig.example.test. A 127.0.86.3",), {}, {}, "none", "HTTP 404"),
    (("autoconfig.example.test. A 127.0.86.3",), {"/mail/config-v1.1.xml": HANG}, {}, "no-answer",
     "unknown (no answer): no HTTP answer from autoconfig.example.test"),
    ((), None, {("autoconfig.example.test", "*"): "SERVFAIL"}, "error", SERVFAIL),
], ids=["nxdomain", "http-404", "no-http-answer", "servfail"])
def test_autoconfig_fetch_states(world, records, web, faults, status, words):
    working_guess(world)
    world.add(*records)
    if web is not None:
        world.web("autoconfig.example.test", "127.0.86.3", web)

    doc, _ = run(world, faults=faults)

    row = source(doc, "autoconfig", AUTOCONFIG)
    assert row["status"] == status and words in row["detail"], row
    assert doc["findings"] == [] and doc["recommendation"]["host"] == "smtp.example.test"


def test_an_mta_sts_policy_server_that_never_answers_is_unknown_not_invalid(world):
    working_guess(world)
    world.add("example.test. MX 10 mx.example.test.", f'{STS}. TXT "v=STSv1; id=1;"',
              "mta-sts.example.test. A 127.0.86.7")
    world.web("mta-sts.example.test", "127.0.86.7", {"/.well-known/mta-sts.txt": HANG})

    doc, text = run(world)

    assert doc["mta_sts"]["policy_state"] == "unknown" and doc["mta_sts"]["id"] == "1"
    assert not [f for f in doc["findings"] if f["id"].startswith("mta-sts")], doc["findings"]
    assert "MTA-STS: id 1; unknown (no answer)" in text
