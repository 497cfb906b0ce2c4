"""scan's pure parts: target lines, exclusions, the politeness limits, which tries are throttled."""

from __future__ import annotations

import pytest

from inspector.errors import UsageError
from inspector.probes.steps import FAILED, OK, Step
from inspector.scan.politeness import Politeness, throttled
from inspector.scan.targets import DOMAIN, SERVER, Exclusions, prefix_of, read_targets
from inspector.smtp.reply import ReplyParser


def test_target_lines():
    targets = read_targets(["mx.example.net:2525", "Example.ORG.", "192.0.2.7", "[2001:db8::1]:587",
                            "# comment", "", "example.org", "mx.example.net:2525  # again"])
    assert [(t.text, t.kind, t.port) for t in targets] == [
        ("mx.example.net:2525", SERVER, 2525), ("example.org", DOMAIN, 25), ("192.0.2.7:25", SERVER, 25),
        ("[2001:db8::1]:587", SERVER, 587)]


@pytest.mark.parametrize("line", ["mx.example:99999", "bad name!", "[::1", "a..b"])
def test_bad_target_line_names_its_number(line):
    with pytest.raises(UsageError, match="target line 2"):
        read_targets(["ok.example", line])


def test_exclusions_networks_and_domains():
    ex = Exclusions.parse(["192.0.2.0/24", "2001:db8::/48", "example.com  # theirs", "198.51.100.7"])
    assert ex.name_excluded("mx.EXAMPLE.com.") and ex.name_excluded("example.com")
    assert not ex.name_excluded("notexample.com")
    assert ex.address_excluded("192.0.2.200") and ex.address_excluded("2001:db8:0:ffff::1")
    assert ex.name_excluded("198.51.100.7") and not ex.address_excluded("198.51.100.8")
    with pytest.raises(UsageError, match="line 1"):
        Exclusions.parse(["10.0.0.0/33"])


def test_prefixes():
    assert prefix_of("192.0.2.77") == "192.0.2.0/24"
    assert prefix_of("2001:db8:1:2::5") == "2001:db8:1::/48"


def test_one_connection_per_address_and_a_cap_per_network():
    p = Politeness(per_address=1, per_network=2)
    assert p.try_acquire("192.0.2.1", 0.0)
    assert not p.try_acquire("192.0.2.1", 0.0)          # the same address: wait
    assert p.try_acquire("192.0.2.2", 0.0)
    assert not p.try_acquire("192.0.2.3", 0.0)          # the /24 is full
    assert p.try_acquire("198.51.100.1", 0.0)           # another /24 is not
    p.release("192.0.2.1", throttled=False, now=0.0)
    assert p.try_acquire("192.0.2.3", 0.0)


def test_rate_spaces_connection_starts():
    p = Politeness(rate=10.0, per_network=100)
    assert p.try_acquire("192.0.2.1", 100.0)
    assert not p.try_acquire("192.0.2.2", 100.05)
    assert p.wait_for("192.0.2.2", 100.05) == pytest.approx(0.05)
    assert p.try_acquire("192.0.2.2", 100.1)


def test_backoff_doubles_after_each_throttled_try_and_resets():
    p = Politeness(backoff_first=1.0, backoff_max=3.0)
    for expected in (1.0, 2.0, 3.0):
        assert p.try_acquire("192.0.2.1", 0.0 if expected == 1.0 else 50.0 * expected)
        now = 50.0 * expected
        p.release("192.0.2.1", throttled=True, now=now)
        assert p.wait_for("192.0.2.1", now) == pytest.approx(expected)
    assert p.try_acquire("192.0.2.1", 1000.0)
    p.release("192.0.2.1", throttled=False, now=1000.0)
    assert p.wait_for("192.0.2.1", 1000.0) == 0


def parse_reply(data: bytes):
    return ReplyParser().feed(data)[0]


class _Result:
    def __init__(self, *steps):
        self.steps = steps


def test_throttled_tries():
    reply421 = parse_reply(b"421 4.7.0 Too many connections\r\n")
    assert throttled(_Result(Step("connect", OK, 1.0), Step("greeting", FAILED, 1.0, reply421)))
    refused = "connection refused (the host answered the SYN with a RST)"
    assert throttled(_Result(Step("connect", FAILED, 1.0, None, refused))) == "connect: refused"
    assert throttled(_Result(Step("connect", OK, 1.0), Step("greeting", FAILED, 1.0, None,
                                                            "the server closed the connection")))
    # a verdict: a timeout, a 554 greeting, a failed certificate
    assert throttled(_Result(Step("connect", FAILED, 1.0, None, "no answer within the step timeout"))) is None
    reply554 = parse_reply(b"554 5.7.1 No SMTP service here\r\n")
    assert throttled(_Result(Step("connect", OK, 1.0), Step("greeting", FAILED, 1.0, reply554))) is None


def test_unknown_lookups_give_no_domain_finding():
    """discover's rule for scan too: a TLSA or ``_mta-sts`` lookup that got no answer is unknown,
    never "no DANE" or an invalid MTA-STS record (inspector/rules/discovery.py)."""
    from inspector.discover.dns import NO_ANSWER, DnsAnswer, Lookup, Resolution
    from inspector.scan.plan import CheckOptions, finish_domain
    from inspector.scan.record import TargetPlan
    from inspector.scan.targets import Target

    silent = "no answer from DNS server 127.0.0.1:53 within 1 s"
    plan = TargetPlan(Target("example.org", DOMAIN, "example.org"), deadline_at=0.0)
    unknown = Resolution((), Lookup(NO_ANSWER, f"unknown (no answer): {silent}"))
    plan.mx_facts = [(10, "mx.example.org", unknown,
                      DnsAnswer("_25._tcp.mx.example.org", "TLSA", (), False, None, silent))]
    plan.sts_state, plan.sts_detail = NO_ANSWER, f"unknown (no answer): {silent}"
    finish_domain(plan, CheckOptions(dns_server=("127.0.0.1", 53)))

    assert plan.findings == []
    [mx] = plan.dns["mx"]
    assert mx["tlsa_match"] is None and mx["tlsa_detail"].startswith("unknown (no answer)")
    assert mx["error"].startswith("not tried: its address is unknown")
    assert plan.dns["mta_sts"]["error"].startswith("unknown (no answer)")


def test_partitions_never_split_a_server_and_share_each_network_cap():
    """scan --cluster: one address in one partition; a /24's shares sum to at most --per-network."""
    from collections import Counter

    from inspector.scan.partition import partition

    lines = [f"10.0.{i // 100}.{i % 100}:25" for i in range(500)] + ["a.example", "b.example", "c.example"]
    targets = read_targets(lines)
    addresses = [(t.host,) for t in targets[:500]] + [("10.0.0.1", "10.0.3.1"), ("10.0.3.1",), ()]
    parts = partition(targets, addresses, size=40, per_network=4)
    where = {}
    for index, part in enumerate(parts):
        for target in part.targets:
            for address in addresses[targets.index(target)]:
                assert where.setdefault(address, index) == index, address   # never in two partitions
    assert sorted(t.text for p in parts for t in p.targets) == sorted(t.text for t in targets)
    shares = Counter()
    for part in parts:
        for prefix, share in part.network_limits.items():
            shares[prefix] += share
    assert shares and all(total <= 4 for total in shares.values()), shares
    assert len(parts) >= 8     # five /24s of 100, each over up to four partitions of about 40
    group = next(p for p in parts if any(t.text == "a.example" for t in p.targets))
    assert {"10.0.0.1:25", "10.0.3.1:25", "b.example"} <= {t.text for t in group.targets}


WIRE_ZONE = """\
wire.test. 300 IN SOA ns.wire.test. hostmaster.wire.test. 1 7200 3600 1209600 300
mx.wire.test. 300 IN A 192.0.2.1
mx.wire.test. 300 IN A 192.0.2.2
mx.wire.test. 300 IN AAAA 2001:db8::25
alias.wire.test. 300 IN CNAME mx.wire.test.
txt.wire.test. 300 IN TXT "no address here"
"""


@pytest.mark.parametrize("name,rdtype", [("mx.wire.test", "A"), ("mx.wire.test", "AAAA"),
                                         ("alias.wire.test", "A"), ("txt.wire.test", "A"),
                                         ("absent.wire.test", "AAAA"), ("broken.wire.test", "A")])
def test_address_answers_read_as_dnspython_reads_them(name, rdtype):
    """scan's A/AAAA reader (discover/dns_wire.py) against replies built by dnspython (the
    authoritative test server's, NSD's answers): the same rcode, AD flag and addresses; every
    cut of the reply is malformed, never a crash."""
    import dns.message
    import dns.rdatatype

    from inspector.discover import dns_wire
    from tests.dns_server import DnsTestServer

    server = DnsTestServer(WIRE_ZONE, "wire.test.", authenticated={"mx.wire.test"},
                           faults={("broken.wire.test", "A"): "SERVFAIL"})
    question = dns_wire.encode_question(name, rdtype, 0x1234)
    parsed = dns.message.from_wire(question)   # dnspython reads our question as its own
    assert parsed.id == 0x1234 and parsed.flags == dns.flags.RD | dns.flags.AD
    assert parsed.ednsflags & dns.flags.DO and parsed.payload == 1232
    reply = server.answer(question)
    expected = dns.message.from_wire(reply)
    got = dns_wire.decode_reply(reply, 0x1234, rdtype)
    wanted = dns.rdatatype.from_text(rdtype)
    assert got.rcode == dns.rcode.to_text(expected.rcode())
    assert got.authenticated == bool(expected.flags & dns.flags.AD)
    assert [r.address for r in got.records] == [r.address for rrset in expected.answer
                                                if rrset.rdtype == wanted for r in rrset]
    for cut in range(len(reply)):
        with pytest.raises(ValueError):
            dns_wire.decode_reply(reply[:cut], 0x1234, rdtype)
    with pytest.raises(dns_wire.NotOurs):
        dns_wire.decode_reply(reply, 0x4321, rdtype)
    truncated = reply[:2] + bytes([reply[2] | 0x02]) + reply[3:]
    assert dns_wire.decode_reply(truncated, 0x1234, rdtype) is None   # TC: left to dnspython (TCP)


def test_address_questions_only_for_plain_names():
    from inspector.discover import dns_wire

    assert dns_wire.encode_question("bücher.example", "A", 1) is None
    assert dns_wire.encode_question("a..example", "A", 1) is None
    assert dns_wire.encode_question("x" * 64 + ".example", "A", 1) is None
    assert dns_wire.encode_question("mx.example", "MX", 1) is None


def test_prefix_of_matches_ipaddress():
    import ipaddress

    for address in ("127.1.3.9", "10.0.0.0", "255.255.255.255", "192.0.2.1"):
        assert prefix_of(address) == str(ipaddress.ip_network(f"{address}/24", strict=False))
    assert prefix_of("2001:db8:1:2::9") == "2001:db8:1::/48"


def test_a_scan_restores_the_interpreter_settings(tmp_path):
    """run_scan tunes the collector and the switch interval for its threads, and only while it runs."""
    import gc
    import sys

    from inspector.collector import YOUNG_THRESHOLD
    from inspector.scan.plan import CheckOptions
    from inspector.scan.runner import SCAN_GC_OLDER, run_scan
    from inspector.scan.storage import open_storage

    storage = open_storage(str(tmp_path / "scan.sqlite3"))
    scan_id = storage.create_scan({}, [], "test")
    before = (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count())
    assert before[0] != (YOUNG_THRESHOLD, *SCAN_GC_OLDER)
    summary = run_scan([], storage=storage, scan_id=scan_id, options=CheckOptions(), exclusions=Exclusions(),
                       politeness=Politeness(), concurrency=4, scan_deadline=None)
    storage.close()
    assert summary.stored == 0
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()) == before
