"""NSD (the Debian ``nsd`` package, scripts/setup-system) serving one zone on loopback.

The real authoritative server the discover issue was found with; tests use it
to check that tests/dns_server.py answers NXDOMAIN, NODATA, empty
non-terminals, SRV "." and the null MX the way a real server does. It runs in
the foreground (``nsd -d``) with its own state directory, no database, no
remote control and no privilege drop, on a free port of its own address.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import dns.message
import dns.query

NSD = shutil.which("nsd") or "/usr/sbin/nsd"

CONFIG = """\
server:
    ip-address: {host}@{port}
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{dir}"
    database: ""
    zonelistfile: "{dir}/zone.list"
    xfrdfile: "{dir}/xfrd.state"
    pidfile: "{dir}/nsd.pid"
    logfile: "{dir}/nsd.log"
    server-count: 1
    verbosity: 1
    hide-version: yes
remote-control:
    control-enable: no
zone:
    name: "{origin}"
    zonefile: "zone"
"""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((host, 0))
        return udp.getsockname()[1]


class NsdServer:
    def __init__(self, zone_text: str, origin: str, directory, *, host: str = "127.0.86.53") -> None:
        self.zone_text, self.origin, self.dir, self.host = zone_text, origin, directory, host
        self.process: subprocess.Popen | None = None

    def start(self) -> NsdServer:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "zone").write_text(self.zone_text)
        self.port = _free_port(self.host)
        config = self.dir / "nsd.conf"
        config.write_text(CONFIG.format(host=self.host, port=self.port, dir=self.dir, origin=self.origin))
        self.process = subprocess.Popen([NSD, "-d", "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        probe = dns.message.make_query(self.origin, "SOA")
        for _ in range(100):
            try:
                dns.query.udp(probe, self.host, port=self.port, timeout=0.1)
                return self
            except (dns.exception.Timeout, OSError):
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        log = (self.dir / "nsd.log").read_text() if (self.dir / "nsd.log").exists() else ""
        self.stop()
        raise RuntimeError(f"nsd did not answer on {self.host}:{self.port}: {log[-500:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
