"""Thousands of SMTP servers on 127.1.0.0/16 inside a network namespace, for scan tests and the benchmark.

``ScanWorld(n, faults)`` writes a test CA, a ``*.scan.test`` certificate
(and an expired one with the same key), a DNS zone (``mNNNN.scan.test`` A
records, mail domains with MX, TLSA and MTA-STS), then starts
tests/scan_responder.py in the namespace ``scan-<pid>`` (branch-prefixed,
removed at stop). ``run(...)`` runs a command in the namespace.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORIGIN = "scan.test."
DNS_HOST = "127.0.53.1"
WEB_HOST = "127.0.54.1"
PER_NET = 250


def address(i: int) -> str:
    return f"127.1.{i // PER_NET}.{i % PER_NET + 1}"


def name(i: int) -> str:
    return f"m{i:05d}.scan.test"


def _certificates(directory: str) -> dict:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scan test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=400))
          .not_valid_after(now + datetime.timedelta(days=400))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))

    def leaf(not_before, not_after):
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "*.scan.test")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(not_before).not_valid_after(not_after)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("*.scan.test"),
                                                            x509.DNSName("mta-sts.sts.scan.test")]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))

    good = leaf(now - datetime.timedelta(days=1), now + datetime.timedelta(days=90))
    expired = leaf(now - datetime.timedelta(days=100), now - datetime.timedelta(days=10))
    paths = {k: os.path.join(directory, f"{k}.pem") for k in ("ca", "cert", "expired_cert", "key")}
    for k, cert in (("ca", ca), ("cert", good), ("expired_cert", expired)):
        with open(paths[k], "wb") as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    paths["spki_sha256"] = hashlib.sha256(spki).hexdigest()
    return paths


def zone(n: int, spki: str) -> str:
    lines = [f"{ORIGIN} 300 IN SOA ns.{ORIGIN} hostmaster.{ORIGIN} 1 7200 3600 1209600 300"]
    lines += [f"{name(i)}. 300 IN A {address(i)}" for i in range(n)]
    lines += [f"dane.scan.test. 300 IN MX 10 {name(0)}.", f"dane.scan.test. 300 IN MX 20 {name(1)}.",
              f"_25._tcp.{name(0)}. 300 IN TLSA 3 1 1 {spki}",
              f"_25._tcp.{name(1)}. 300 IN TLSA 3 1 1 {spki}",
              f"badtlsa.scan.test. 300 IN MX 10 {name(2)}.",
              f"_25._tcp.{name(2)}. 300 IN TLSA 3 1 1 {'00' * 32}",
              f"sts.scan.test. 300 IN MX 10 {name(3)}.", '_mta-sts.sts.scan.test. 300 IN TXT "v=STSv1; id=1"',
              f"mta-sts.sts.scan.test. 300 IN A {WEB_HOST}",
              f"_submission._tcp.sts.scan.test. 300 IN SRV 0 1 587 {name(3)}.",
              "nomx.scan.test. 300 IN A 127.0.55.1"]
    return "\n".join(lines) + "\n"


STS_POLICY = "version: STSv1\nmode: testing\nmx: *.scan.test\nmax_age: 86400\n"
DOMAINS = ("dane.scan.test", "badtlsa.scan.test", "sts.scan.test", "nomx.scan.test")


class ScanWorld:
    def __init__(self, tmp_path, n: int, faults: dict[int, str], *, namespace: str | None = None) -> None:
        self.tmp = str(tmp_path)
        self.n = n
        self.faults = faults
        self.ns = namespace or f"scan-{os.getpid()}"
        self.process = None
        self.dns_port = None
        self.certs = _certificates(self.tmp)
        self.stats_path = os.path.join(self.tmp, "stats.json")

    @property
    def targets(self) -> list[str]:
        return [f"{name(i)}:25" for i in range(self.n)]

    def start(self) -> ScanWorld:
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        config = {"addresses": {address(i): f for i, f in self.faults.items()},
                  # one listener per address; past 10,000 (the file limit) one wildcard listener,
                  # which still tells the addresses apart by the one each connection was made to
                  "listen": [address(i) for i in range(self.n)] if self.n <= 10000 else ["0.0.0.0"],
                  "port": 25, "listen_587": [address(3)],
                  "cert": self.certs["cert"], "key": self.certs["key"],
                  "expired_cert": self.certs["expired_cert"], "stats": self.stats_path,
                  "dns": {"zone": zone(self.n, self.certs["spki_sha256"]), "origin": ORIGIN,
                          "host": DNS_HOST},
                  "https": {"host": WEB_HOST, "body": STS_POLICY}}
        path = os.path.join(self.tmp, "responder.json")
        with open(path, "w") as handle:
            json.dump(config, handle)
        command = self.netns_command([sys.executable, "-m", "tests.scan_responder", path])
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        ready = self.process.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError("the scan responder did not start")
        self.dns_port = int(ready[1])
        return self

    def netns_command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]

    def scan_command(self, *args: str) -> list[str]:
        tool = os.path.join(os.path.dirname(sys.executable), "smtp-inspector")
        return self.netns_command([tool, "scan", "--dns-server", f"{DNS_HOST}:{self.dns_port}",
                                   "--cafile", self.certs["ca"], *args])

    def connections(self) -> int:
        """Connections the servers accepted so far (the responder writes its counts on SIGUSR1)."""
        if os.path.exists(self.stats_path):
            os.unlink(self.stats_path)
        self.process.send_signal(signal.SIGUSR1)
        for _ in range(200):
            if os.path.exists(self.stats_path):
                try:
                    with open(self.stats_path) as handle:
                        return sum(json.load(handle)["accepted"].values())
                except ValueError:
                    pass   # still being written
            time.sleep(0.05)
        raise RuntimeError("the scan responder did not report its counts")

    def server_cpu(self) -> float:
        """CPU seconds the responder (every server of this world: one process) has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime, stime

    def stop(self) -> dict:
        stats = {}
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            with open(self.stats_path) as handle:
                stats = json.load(handle)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        return stats


def in_network(addr: str, cidr: str) -> bool:
    return ipaddress.ip_address(addr) in ipaddress.ip_network(cidr)
