"""Scan targets: lines of ``host[:port]`` or mail domains, the exclusion list, and endpoint planning.

A line with a port, an IP address or brackets is a server (``host:25`` by
default); a bare name is a mail domain: its MX hosts in preference order, each
on port 25 (RFC 5321 §5.1), plus with ``--submission`` the submission
candidates discover would try (SRV ``_submission(s)._tcp``, RFC 6186 §3; the
guessed names). Exclusions (CIDRs and domains) are checked on names before any
DNS query and on addresses before any connection.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from ..errors import UsageError

SMTP_PORT = 25
MAX_MX = 5
SERVER, DOMAIN = "server", "domain"


@dataclass(frozen=True)
class Target:
    text: str           #: as stored: ``host:port`` for servers, the domain for domains
    kind: str           #: SERVER or DOMAIN
    host: str
    port: int = SMTP_PORT


@dataclass(frozen=True)
class Endpoint:
    """One server to open a session with: the name it goes by and the address we connect to."""

    role: str           #: "server", "mx", "submission"
    name: str
    address: str
    port: int
    mode: str = "starttls"
    preference: int | None = None


def parse_target_line(line: str) -> Target | None:
    """One line of the target file; None for blanks and ``#`` comments; UsageError when unreadable."""
    from ..commands.common import check_host_name, parse_target

    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    if text.startswith("[") or ":" in text or _is_ip(text):
        host, port = parse_target(text, default_port=SMTP_PORT)
        host = check_host_name(host.rstrip(".").lower(), "target host")
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return Target(shown, SERVER, host, port)
    name = check_host_name(text.rstrip(".").lower(), "mail domain")
    return Target(name, DOMAIN, name)


def read_targets(lines) -> list[Target]:
    """Every target once, in file order (a repeated line is scanned once)."""
    seen: dict[str, Target] = {}
    for number, line in enumerate(lines, 1):
        try:
            target = parse_target_line(line)
        except UsageError as exc:
            raise UsageError(f"target line {number}: {exc}") from None
        if target is not None:
            seen.setdefault(target.text, target)
    return list(seen.values())


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class Exclusions:
    """``--exclude FILE``: networks (``192.0.2.0/24``, single addresses) and domains (with subdomains)."""

    def __init__(self, networks=(), domains=()) -> None:
        self.networks = tuple(networks)
        self.domains = tuple(d.rstrip(".").lower() for d in domains)

    @classmethod
    def parse(cls, lines) -> Exclusions:
        networks, domains = [], []
        for number, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
                continue
            except ValueError:
                pass
            if "/" in text or " " in text:
                raise UsageError(f"--exclude line {number}: {text!r} is neither a CIDR nor a domain")
            domains.append(text)
        return cls(networks, domains)

    def name_excluded(self, name: str) -> str | None:
        name = name.rstrip(".").lower()
        for domain in self.domains:
            if name == domain or name.endswith("." + domain):
                return f"{name} is under excluded domain {domain}"
        if _is_ip(name):
            return self.address_excluded(name)
        return None

    def address_excluded(self, address: str) -> str | None:
        ip = ipaddress.ip_address(address)
        for network in self.networks:
            if ip.version == network.version and ip in network:
                return f"{address} is in excluded network {network}"
        return None


@functools.lru_cache(maxsize=65536)   # asked at every scheduling decision, under the lock
def prefix_of(address: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to: the unit of the per-network cap."""
    ip = ipaddress.ip_address(address)
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


class Resolver:
    """Addresses and MX/SRV/TLSA/TXT lookups: ``--dns-server`` (dnspython) or the system resolver."""

    def __init__(self, dns_server: tuple[str, int] | None, timeout: float) -> None:
        self.dns_server = dns_server
        self.timeout = timeout

    def client(self, deadline_at: float):
        from ..discover.dns import DnsClient, system_dns_server

        return DnsClient(self.dns_server or system_dns_server(), timeout=self.timeout,
                         deadline_at=deadline_at)

    def addresses(self, name: str, deadline_at: float) -> tuple[tuple[str, ...], str | None]:
        if _is_ip(name):
            return (name,), None
        if self.dns_server is not None:
            return first_addresses(self.client(deadline_at), name)
        from ..net.resolve import system_addresses

        return system_addresses(name)


def first_addresses(dns, name: str) -> tuple[tuple[str, ...], str | None]:
    """The IPv4 addresses of ``name``, else its IPv6 ones: the address a session goes to (IPv4 first,
    as discover's ``DnsClient.addresses`` orders them), with one query where that answers."""
    answer = dns.query(name, "A")
    if answer.rdatas:
        return tuple(r.address for r in answer.rdatas), None
    return dns.addresses(name)


def mx_hosts(dns, domain: str) -> tuple[list[tuple[int, str]], str | None]:
    """MX records in preference order (RFC 5321 §5.1); a null MX (RFC 7505) gives none."""
    answer = dns.query(domain, "MX")
    if answer.error:
        return [], f"MX lookup failed: {answer.error}"
    records = sorted((r.preference, r.exchange.to_text().rstrip(".").lower()) for r in answer.rdatas)
    records = [(p, h) for p, h in records if h not in ("", ".")]
    if not records:
        return [], "no MX records (null MX or none)" if answer.rdatas else "no MX records"
    return records[:MAX_MX], None


def submission_candidates(dns, domain: str, mx_names: list[str]):
    """discover's candidate list without autoconfig (no HTTP fetches during a scan)."""
    from ..discover.candidates import SRV_SERVICES, SrvTarget, build_candidates

    srv = []
    for service, _mode in SRV_SERVICES:
        answer = dns.query(f"{service}.{domain}", "SRV")
        srv += [SrvTarget(service, r.priority, r.weight, r.port, r.target.to_text().rstrip("."))
                for r in answer.rdatas]
    return build_candidates(domain, srv, [], mx_names)
