"""``--source-address`` (bind before connect) and the scan's one resolver (each name once per scan).

The servers are tests/scan_responder.py (asyncio, Postfix 3.7-shaped replies) on
127.0.0.21 and 127.0.0.22, which record the client address of every connection
they accept: the address the server sees, not what our side believes it bound.
Names come from tests/dns_server.py (an authoritative server, NSD's answers).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.dns_server import DnsTestServer
from tests.scan_world import _certificates

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVERS = ("127.0.0.21", "127.0.0.22")


def cli(*args: str, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Responder:
    """tests/scan_responder.py on SERVERS, in this network namespace; ``peers()`` reads what it saw."""

    def __init__(self, tmp) -> None:
        self.certs = _certificates(str(tmp))
        self.port = _free_port(SERVERS[0])
        self.stats_path = str(tmp / "stats.json")
        config = {"addresses": {}, "listen": list(SERVERS), "port": self.port, "cert": self.certs["cert"],
                  "key": self.certs["key"], "expired_cert": self.certs["expired_cert"],
                  "stats": self.stats_path}
        (tmp / "responder.json").write_text(json.dumps(config))
        command = [sys.executable, "-m", "tests.scan_responder", str(tmp / "responder.json")]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().startswith("ready")

    def peers(self) -> dict[str, list[str]]:
        if os.path.exists(self.stats_path):
            os.unlink(self.stats_path)
        self.process.send_signal(signal.SIGUSR1)
        for _ in range(200):
            try:
                with open(self.stats_path) as handle:
                    return json.load(handle)["peers"]
            except (OSError, ValueError):
                time.sleep(0.05)
        raise RuntimeError("the responder did not report")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def responder(tmp_path_factory):
    server = Responder(tmp_path_factory.mktemp("scan-source"))
    yield server
    server.stop()


def _rows(db) -> dict[str, dict]:
    with sqlite3.connect(db) as connection:
        return {t: json.loads(r) for t, r in connection.execute("SELECT target, result FROM results")}


def test_scan_connects_from_the_source_address(responder, tmp_path):
    targets = tmp_path / "targets"
    targets.write_text("".join(f"{host}:{responder.port}\n" for host in SERVERS) + "[::1]:25\n")
    db = tmp_path / "db.sqlite3"
    seen = []
    for source in ("127.0.0.2", "127.0.0.3"):
        done = cli("scan", str(targets), "--db", str(db), "--source-address", source, "--cafile",
                   responder.certs["ca"], "--rate", "0", "--json")
        assert done.returncode == 1, done.stderr   # the certificate names *.scan.test, not the address
        seen.append(responder.peers())
    assert seen[0] == {host: ["127.0.0.2"] for host in SERVERS}                 # the servers' view
    assert seen[1] == {host: ["127.0.0.2", "127.0.0.3"] for host in SERVERS}
    with sqlite3.connect(db) as connection:
        stored = [json.loads(a)["source_address"] for (a,) in connection.execute(
            "SELECT arguments FROM scans ORDER BY id")]
        rows = {(s, t): json.loads(r)
                for s, t, r in connection.execute("SELECT scan_id, target, result FROM results")}
    assert stored == ["127.0.0.2", "127.0.0.3"]
    for host in SERVERS:
        row = rows[(2, f"{host}:{responder.port}")]
        assert row["status"] == "done" and row["source_address"] == "127.0.0.3"
        assert row["endpoints"][0]["steps"][0]["detail"].startswith("127.0.0.3:")
    ipv6 = rows[(2, "[::1]:25")]   # IPv4 source, IPv6 target: nothing sent, said once
    assert ipv6["status"] == "unreachable"
    assert ipv6["reason"] == "::1 has no IPv4 address to reach from source address 127.0.0.3"
    assert ipv6["endpoints"][0]["attempts"] == 0


@pytest.mark.parametrize("command", ["probe", "tls"])
def test_probe_and_tls_connect_from_the_source_address(responder, command):
    host = SERVERS[0]
    source = "127.0.0.4" if command == "probe" else "127.0.0.5"
    extra = ("--versions", "TLSv1.3", "--no-attacks") if command == "tls" else ()
    done = cli(command, f"{host}:{responder.port}", "--starttls", "--source-address", source,
               "--cafile", responder.certs["ca"], "--servername", "m1.scan.test", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert source in responder.peers()[host]


@pytest.mark.parametrize("command", ["scan", "probe", "tls"])
def test_a_source_address_not_of_this_machine_is_exit_2_before_anything(command, tmp_path):
    targets = tmp_path / "targets"
    targets.write_text("127.0.0.1:25\n")
    db = tmp_path / "db.sqlite3"
    args = ("scan", str(targets), "--db", str(db)) if command == "scan" else (command, "127.0.0.1:25")
    done = cli(*args, "--source-address", "192.0.2.1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"smtp-inspector {command}: error: --source-address 192.0.2.1: cannot assign requested address "
        "(not an address of this machine)")
    assert not db.exists()   # no scan created


def test_probe_wrong_family_is_exit_2():
    done = cli("probe", "127.0.0.1:25", "--source-address", "::1")
    assert done.returncode == 2
    assert done.stderr.strip() == ("smtp-inspector probe: error: --source-address ::1 is IPv6, but 127.0.0.1 "
                                   "has only IPv4 addresses (127.0.0.1)")


ZONE = """\
shared.test. 300 IN SOA ns.shared.test. hostmaster.shared.test. 1 7200 3600 1209600 300
a.shared.test. 300 IN MX 10 mx.shared.test.
b.shared.test. 300 IN MX 10 mx.shared.test.
c.shared.test. 300 IN MX 10 gone.shared.test.
d.shared.test. 300 IN MX 10 gone.shared.test.
mx.shared.test. 300 IN A 127.0.0.1
"""


def test_a_name_many_targets_share_is_resolved_once_per_scan(tmp_path):
    """Four domains, two MX hosts (one without an address): each MX asked once, for A and TLSA."""
    with DnsTestServer(ZONE, "shared.test.", host="127.0.8.17") as dns:
        targets = tmp_path / "targets"
        targets.write_text("a.shared.test\nb.shared.test\nc.shared.test\nd.shared.test\nnone.shared.test:25\n"
                           "none.shared.test:587\n")
        db = tmp_path / "db.sqlite3"
        done = cli("scan", str(targets), "--db", str(db), "--dns-server", dns.address, "--rate", "0",
                   "--target-deadline", "30")
        assert done.returncode in (0, 1), done.stderr
        asked = [q for q in dns.queries if "mx.shared.test" in q[0] or "gone.shared.test" in q[0]
                 or "none.shared.test" in q[0]]
    for name in ("mx.shared.test.", "_25._tcp.mx.shared.test.", "gone.shared.test.",
                 "_25._tcp.gone.shared.test.", "none.shared.test."):
        kinds = [t for n, t in asked if n == name]
        assert len(kinds) == len(set(kinds)), (name, kinds)   # no question asked twice
    rows = _rows(db)
    assert rows["none.shared.test:25"]["status"] == rows["none.shared.test:587"]["status"] == "unresolved"
    assert rows["none.shared.test:25"]["reason"] == "cannot resolve none.shared.test: no such name (NXDOMAIN)"
    assert rows["c.shared.test"]["status"] == rows["d.shared.test"]["status"] == "unresolved"


def test_an_unresolvable_server_is_one_line_as_probe_says_it(tmp_path):
    """The stored reason is the line probe ends with (exit 10) for the same name."""
    targets = tmp_path / "targets"
    targets.write_text("nowhere.invalid:25\n")
    db = tmp_path / "db.sqlite3"
    done = cli("scan", str(targets), "--db", str(db))
    assert done.returncode == 0, done.stderr
    probe = cli("probe", "nowhere.invalid:25")
    assert probe.returncode == 10
    row = _rows(db)["nowhere.invalid:25"]
    assert row["status"] == "unresolved"
    assert probe.stderr.strip() == f"smtp-inspector probe: error: {row['reason']}"
