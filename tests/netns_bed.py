"""A network-namespace test bed: client, ISP router, a transit router, server, and an alternative server.

Topology (all addresses exist only inside the namespaces)::

    smtpi-cl 10.99.1.2 --- 10.99.1.1 smtpi-rt 10.99.2.1 --- 10.99.2.2 smtpi-wan 10.99.3.1
                                                                   --- 10.99.3.2 smtpi-sv
                                     smtpi-rt 10.99.4.1 --- 10.99.4.2 smtpi-alt

The server is three hops from the client (rt, wan, sv); the alternative server (an "ISP relay")
is two. Scenarios are nftables rule sets (and proxies) on ``smtpi-rt``, the client's first hop.
Usable by hand: ``python -m tests.netns_bed up`` / ``down``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

PREFIX = "smtpi-"
CLIENT, ROUTER, TRANSIT, SERVER, ALT = (PREFIX + n for n in ("cl", "rt", "wan", "sv", "alt"))
NAMESPACES = (CLIENT, ROUTER, TRANSIT, SERVER, ALT)
CLIENT_ADDR, ROUTER_ADDR, TRANSIT_ADDR = "10.99.1.2", "10.99.1.1", "10.99.2.2"
SERVER_ADDR, ALT_ADDR = "10.99.3.2", "10.99.4.2"
SERVER_NAME, ALT_NAME, PROXY_NAME = "mail.bed.test", "relay.isp.test", "proxy.isp.test"
PROXY_PORT = 10025
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: (namespace a, interface a, address a, namespace b, interface b, address b), /24 each.
_LINKS = (
    (CLIENT, "cl0", "10.99.1.2", ROUTER, "rt0", "10.99.1.1"),
    (ROUTER, "rt1", "10.99.2.1", TRANSIT, "wan0", "10.99.2.2"),
    (TRANSIT, "wan1", "10.99.3.1", SERVER, "sv0", "10.99.3.2"),
    (ROUTER, "rt2", "10.99.4.1", ALT, "alt0", "10.99.4.2"),
)
_ROUTES = (
    (CLIENT, "default via 10.99.1.1"),
    (ROUTER, "10.99.3.0/24 via 10.99.2.2"),
    (TRANSIT, "default via 10.99.2.1"),
    (SERVER, "default via 10.99.3.1"),
    (ALT, "default via 10.99.4.1"),
)


def why_unavailable() -> str | None:
    """None when the bed can be built here, else the reason (for a pytest skip)."""
    if os.geteuid() != 0:
        return "network namespaces need root (run the suite as root, as CI does)"
    if shutil.which("ip") is None or shutil.which("nft") is None:
        return "iproute2 (ip) or nftables (nft) is not installed (scripts/setup-system installs them)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"'ip netns' does not work here: {probe.stderr.strip()}"
    return None


def sh(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, input=input, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done


def in_ns(ns: str, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, *args, check=check, input=input)


def down() -> None:
    """Remove every namespace of ours (also stale ones from an earlier, killed run)."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
    for line in listed:
        name = line.split(" ")[0]
        if name.startswith(PREFIX):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout
            for pid in pids.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def up() -> None:
    down()
    for ns in NAMESPACES:
        sh("ip", "netns", "add", ns)
        in_ns(ns, "ip", "link", "set", "lo", "up")
    for ns_a, if_a, addr_a, ns_b, if_b, addr_b in _LINKS:
        sh("ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b, "netns", ns_b)
        for ns, ifname, addr in ((ns_a, if_a, addr_a), (ns_b, if_b, addr_b)):
            in_ns(ns, "ip", "addr", "add", f"{addr}/24", "dev", ifname)
            in_ns(ns, "ip", "link", "set", ifname, "up")
    for ns, route in _ROUTES:
        in_ns(ns, "ip", "route", "add", *route.split())
    for ns in (ROUTER, TRANSIT):
        in_ns(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    for ns in NAMESPACES:  # no ICMP rate limit: every TTL probe gets its answer
        in_ns(ns, "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0")


def set_rules(ruleset: str) -> None:
    """Replace the router's nftables rules with ``ruleset`` (empty: clean path)."""
    in_ns(ROUTER, "nft", "flush", "ruleset")
    if ruleset.strip():
        in_ns(ROUTER, "nft", "-f", "-", input=ruleset)


def _filter(rule: str) -> str:
    return ("table ip smtpi {\n chain forward_filter {\n"
            "  type filter hook forward priority 0; policy accept;\n"
            f"  ip daddr {SERVER_ADDR} {rule}\n }}\n}}\n")


def _nat(rule: str) -> str:
    return ("table ip smtpi {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n"
            f"  ip daddr {SERVER_ADDR} {rule}\n }}\n}}\n")


RULES = {
    "clean": "",
    "drop-25": _filter("tcp dport 25 drop"),
    "reset-25": _filter("tcp dport 25 reject with tcp reset"),
    "icmp-25": _filter("tcp dport 25 reject with icmp type admin-prohibited"),
    "dnat-25": _nat(f"tcp dport 25 dnat to {ALT_ADDR}:25"),
    "strip-25": _nat(f"tcp dport 25 redirect to :{PROXY_PORT}"),
    "mask-25": _nat(f"tcp dport 25 redirect to :{PROXY_PORT}"),
    "tls-465": _nat(f"tcp dport 465 redirect to :{PROXY_PORT}"),
}

#: Proxy mode (tests/bed_proxy.py) and upstream port for the proxy scenarios.
PROXIES = {"strip-25": ("strip", 25), "mask-25": ("mask", 25), "tls-465": ("tls", 465)}


def spawn(ns: str, *args: str, ready: str) -> subprocess.Popen:
    """Start ``python ARGS`` in a namespace and wait for a line containing ``ready`` on stdout."""
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if ready in line:
            return proc
    proc.kill()
    raise RuntimeError(f"{' '.join(args)} did not start in {ns}: {proc.stderr.read()[-500:]}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def start_servers() -> list[subprocess.Popen]:
    """The lab server in smtpi-sv (25, 587 STARTTLS; 465 implicit TLS) and in smtpi-alt (25)."""
    return [
        spawn(SERVER, "-m", "inspector", "lab", "--host", SERVER_ADDR, "--port", "25", "--port", "587",
              "--implicit-tls-port", "465", "--hostname", SERVER_NAME, ready="Press Ctrl-C"),
        spawn(ALT, "-m", "inspector", "lab", "--host", ALT_ADDR, "--port", "25",
              "--hostname", ALT_NAME, ready="Press Ctrl-C"),
    ]


def start_proxy(scenario: str) -> subprocess.Popen | None:
    if scenario not in PROXIES:
        return None
    mode, upstream_port = PROXIES[scenario]
    return spawn(ROUTER, "-m", "tests.bed_proxy", "--mode", mode, "--listen", f"0.0.0.0:{PROXY_PORT}",
                 "--upstream", f"{SERVER_ADDR}:{upstream_port}", "--hostname", PROXY_NAME,
                 ready="proxy listening")


if __name__ == "__main__":
    {"up": up, "down": down}[sys.argv[1]]()
