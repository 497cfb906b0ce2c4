"""``interference``, ``ports`` and ``probe --sniff`` on a network-namespace test bed (root).

The bed (tests/netns_bed.py): client -> ISP router -> transit router -> server (3 hops), and an
"ISP relay" 2 hops away. Each scenario is an nftables rule set or a proxy on the ISP router; the
inspector runs in the client namespace. Timeouts are short: SYNs 2 x 0.5 s, traceroute rounds 0.5 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import jsonschema
import pytest

from tests import netns_bed as bed

pytestmark = pytest.mark.skipif(bed.why_unavailable() is not None, reason=str(bed.why_unavailable()))

SCHEMAS = {name: json.loads(resources.files("inspector").joinpath(f"schema/{name}.schema.json").read_text())
           for name in ("ports", "interference", "probe-result")}
FAST = ("--timeout", "0.5", "--tries", "2", "--session-timeout", "3", "--deadline", "30")


@pytest.fixture(scope="module")
def testbed():
    bed.up()  # removes stale namespaces of an earlier run first
    servers = []
    try:
        servers = bed.start_servers()
        yield bed
    finally:
        for proc in servers:
            bed.stop(proc)
        bed.down()


@pytest.fixture
def scenario(testbed):
    proxies = []

    def apply(name: str):
        bed.set_rules(bed.RULES[name])
        proxy = bed.start_proxy(name)
        if proxy is not None:
            proxies.append(proxy)

    yield apply
    for proxy in proxies:
        bed.stop(proxy)
    bed.set_rules("")


def inspector(*args: str, schema: str) -> tuple[subprocess.CompletedProcess, dict]:
    command = ["ip", "netns", "exec", bed.CLIENT, sys.executable, "-m", "inspector", *args, "--json"]
    done = subprocess.run(command,
                          capture_output=True, text=True, timeout=60, cwd=bed.ROOT)
    assert done.stdout, done.stderr
    document = json.loads(done.stdout)
    jsonschema.validate(document, SCHEMAS[schema])
    return done, document


def interference(*extra: str) -> tuple[dict, dict]:
    done, document = inspector("interference", bed.SERVER_ADDR, "--hop-timeout", "0.5", *FAST, *extra,
                               schema="interference")
    verdicts = {(v["id"], v["port"]): v for v in document["verdicts"]}
    assert done.returncode == (1 if verdicts else 0), done.stderr
    assert document["control_port"] == 587 and document["host_distance"] == 3
    return document, verdicts


def states(document) -> dict:
    return {p["port"]: p["state"] for p in document["ports"]}


def test_clean_path_has_no_interference(scenario):
    scenario("clean")
    document, verdicts = interference()
    assert verdicts == {}
    assert document["findings"] == []
    assert states(document) == {587: "open", 25: "open", 465: "open"}
    trace = [(h["ttl"], h["answer"]["source"], h["answer"]["kind"]) for h in document["ports"][1]["trace"]]
    assert trace == [(1, "10.99.1.1", "time-exceeded"), (2, "10.99.2.2", "time-exceeded"),
                     (3, bed.SERVER_ADDR, "syn-ack")]


@pytest.mark.parametrize("name, verdict_id, confidence", [
    ("drop-25", "silently-dropped", "strong"),
    ("reset-25", "rst-injected", "strong"),
    ("icmp-25", "icmp-prohibited", "definitive"),
])
def test_filter_on_the_first_hop(scenario, name, verdict_id, confidence):
    scenario(name)
    document, verdicts = interference()
    assert set(verdicts) == {(verdict_id, 25)}
    verdict = verdicts[(verdict_id, 25)]
    assert verdict["confidence"] == confidence
    assert (verdict["hop"], verdict["hop_address"], verdict["diverges_at_ttl"]) == (1, bed.ROUTER_ADDR, 2)
    expected_state = {"drop-25": "filtered", "reset-25": "intercepted", "icmp-25": "prohibited"}[name]
    assert states(document)[25] == expected_state and states(document)[465] == "open"


def test_dnat_to_another_server_is_a_transparent_proxy_two_hops_away(scenario):
    scenario("dnat-25")
    document, verdicts = interference()
    assert set(verdicts) == {("transparent-proxy", 25)}
    verdict = verdicts[("transparent-proxy", 25)]
    assert (verdict["confidence"], verdict["hop"], verdict["diverges_at_ttl"]) == ("definitive", 2, 1)
    assert any(bed.ALT_NAME in line for line in verdict["evidence"])
    assert any("address translation at hop 1" in line for line in verdict["evidence"])


@pytest.mark.parametrize("name, port, second", [
    ("strip-25", 25, "starttls-stripped"),
    ("mask-25", 25, "starttls-masked"),
    ("tls-465", 465, "tls-intercepted"),
])
def test_proxy_on_the_router(scenario, name, port, second):
    scenario(name)
    document, verdicts = interference()
    assert set(verdicts) == {("transparent-proxy", port), (second, port)}
    assert verdicts[("transparent-proxy", port)]["hop"] == 1
    assert verdicts[("transparent-proxy", port)]["confidence"] == "definitive"
    by_port = {p["port"]: p for p in document["ports"]}
    if name == "mask-25":
        assert "XXXXXXXA" in by_port[25]["service"]["masked"]
        assert set(by_port[25]["service"]["greeting"][4:].replace(" ", "")) == {"*"}
    if name == "tls-465":
        assert by_port[465]["service"]["spki_sha256"] != by_port[587]["service"]["spki_sha256"]
        assert by_port[25]["service"]["spki_sha256"] == by_port[587]["service"]["spki_sha256"]


def test_expect_spki_flags_a_key_that_is_not_the_servers(scenario):
    scenario("clean")
    _document, verdicts = interference("--expect-spki", "ab" * 32)
    assert {key for key in verdicts} == {("tls-intercepted", 587), ("tls-intercepted", 25),
                                         ("tls-intercepted", 465)}
    assert {v["confidence"] for v in verdicts.values()} == {"definitive"}


@pytest.mark.parametrize("name, state", [("clean", "open"), ("drop-25", "filtered"),
                                         ("reset-25", "intercepted"), ("icmp-25", "prohibited")])
def test_ports_with_syn_probes(scenario, name, state):
    scenario(name)
    done, document = inspector("ports", bed.SERVER_ADDR, "--ports", "25,465,587,2525", *FAST, schema="ports")
    assert document["method"] == "syn"
    assert states(document) == {25: state, 465: "open", 587: "open", 2525: "closed"}
    port587 = next(p for p in document["ports"] if p["port"] == 587)
    assert port587["service"]["tls_mode"] == "starttls"
    assert port587["service"]["greeting"].startswith(f"220 {bed.SERVER_NAME} ")
    port465 = next(p for p in document["ports"] if p["port"] == 465)
    assert port465["service"]["tls_mode"] == "implicit"
    if name == "icmp-25":
        syn = next(p for p in document["ports"] if p["port"] == 25)["syn"]
        assert (syn["icmp_type"], syn["icmp_code"], syn["source"]) == (3, 13, bed.ROUTER_ADDR)
    assert done.returncode == (0 if state in ("open", "filtered") else 1)


@pytest.mark.parametrize("name, state", [("clean", "open"), ("drop-25", "filtered"),
                                         ("reset-25", "closed"), ("icmp-25", "prohibited")])
def test_ports_with_connect(scenario, name, state):
    scenario(name)
    done, document = inspector("ports", bed.SERVER_ADDR, "--ports", "25,587", "--connect", *FAST,
                               schema="ports")
    assert document["method"] == "connect" and done.returncode == 0
    assert states(document) == {25: state, 587: "open"}
    assert any("root" in note for note in document["notes"])


def test_sniffed_probe_shows_the_injected_rst(scenario, tmp_path):
    scenario("reset-25")
    pcap = tmp_path / "reset.pcap"
    done, document = inspector("probe", f"{bed.SERVER_ADDR}:25", "--sniff", "--pcap", str(pcap),
                               "--timeout", "3", schema="probe-result")
    assert done.returncode == 10
    injected = [f for f in document["findings"] if f["id"] == "connection-reset"]
    rsts = [s for s in document["packets"]["segments"] if "R" in s["flags"] and s["direction"] == "recv"]
    assert rsts and rsts[0]["ttl"] == 64 and injected
    shown = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "tcp.flags.reset"],
                           capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0 and "1" in shown.stdout.split()
