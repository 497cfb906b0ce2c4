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
import threading
from collections import OrderedDict

from ..errors import UsageError
from ..frozen import frozen
from ..net.address import is_ip_address

SMTP_PORT = 25
MAX_MX = 5
SERVER, DOMAIN = "server", "domain"


@frozen
class Target:
    text: str           #: as stored: ``host:port`` for servers, the domain for domains
    kind: str           #: SERVER or DOMAIN
    host: str
    port: int = SMTP_PORT


@frozen
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
    if "%" not in text:   # inet_pton, without ipaddress's objects and its ValueError for every name
        return is_ip_address(text)
    try:
        ipaddress.ip_address(text)   # a scoped IPv6 address (fe80::1%eth0)
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
        if not self.networks:
            return None
        ip = ipaddress.ip_address(address)
        for network in self.networks:
            if ip.version == network.version and ip in network:
                return f"{address} is in excluded network {network}"
        return None


@functools.lru_cache(maxsize=65536)   # asked at every scheduling decision, under the lock
def prefix_of(address: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to: the unit of the per-network cap."""
    if ":" not in address and is_ip_address(address):   # dotted quad: its first three numbers
        return f"{address.rpartition('.')[0]}.0/24"
    ip = ipaddress.ip_address(address)
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


class Resolver:
    """Addresses and MX/SRV/TLSA/TXT lookups: ``--dns-server`` (dnspython) or the system resolver.

    One per scan, shared by its workers: a name asked by many targets (an MX host of many
    domains, its TLSA record) is looked up once per scan, and one that does not resolve is one
    fact, worded as ``probe`` words it (``cannot resolve NAME: why``). Answers that say nothing
    (no reply in time) are not kept: another target may still get one.
    """

    def __init__(self, dns_server: tuple[str, int] | None, timeout: float, *,
                 source_address: str | None = None, remembered: int = 65536) -> None:
        self.dns_server = dns_server
        self.timeout = timeout
        self.source_address = source_address
        self.lookups = 0                 #: lookups actually sent (not answered from memory)
        self._limit = remembered
        self._memo: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def client(self, deadline_at: float):
        from ..discover.dns import system_dns_server

        return _scan_dns_client()(self, self.dns_server or system_dns_server(), timeout=self.timeout,
                                  deadline_at=deadline_at)

    def addresses(self, name: str, deadline_at: float) -> tuple[tuple[str, ...], str | None]:
        """A server target's addresses, or ``cannot resolve NAME: why``."""
        if _is_ip(name):
            return (name,), None
        if self.dns_server is not None:
            found, error = first_addresses(self.client(deadline_at), name, self.source_address)
            return found, (error and f"cannot resolve {name}: {error}")
        from ..net.resolve import system_addresses

        return self.once(("system", name.rstrip(".").lower()), lambda: system_addresses(name, self.timeout),
                         lambda answer: "no answer from DNS" not in (answer[1] or ""))

    def once(self, key, lookup, keep):
        """``lookup()``'s answer for ``key``, asked once while it is remembered (``keep(answer)``)."""
        with self._lock:
            entry = self._memo.get(key)
            if entry is None:
                entry = self._memo[key] = [threading.Event(), None]
                mine = True
                self.lookups += 1
            else:
                self._memo.move_to_end(key)
                mine = False
        if not mine:
            if entry[0].wait(self.timeout * 3) and entry[1] is not None:
                return entry[1]
            return lookup()   # the first asker failed, or is stuck past its own timeouts: ask again
        try:
            entry[1] = lookup()
        finally:
            entry[0].set()
            with self._lock:
                if entry[1] is None or not keep(entry[1]):
                    self._memo.pop(key, None)
                while len(self._memo) > self._limit:
                    self._memo.popitem(last=False)
        return entry[1]


@functools.cache
def _scan_dns_client():
    """discover's DnsClient, its queries answered through the scan's :class:`Resolver` memory."""
    from ..discover.dns import DnsClient

    class ScanDnsClient(DnsClient):
        def __init__(self, resolver: Resolver, server, *, timeout: float, deadline_at: float) -> None:
            super().__init__(server, timeout=timeout, deadline_at=deadline_at, lean_addresses=True)
            self.resolver = resolver

        def query(self, name: str, rdtype: str):
            return self.resolver.once(("dns", name.rstrip(".").lower(), rdtype),
                                      lambda: DnsClient.query(self, name, rdtype), _answer_known)

    return ScanDnsClient


def _answer_known(answer) -> bool:
    """A reply came (records, NODATA, NXDOMAIN, SERVFAIL...): a fact for the whole scan."""
    return answer.rcode is not None


def first_resolution(dns, name: str, source_address: str | None = None):
    """The IPv4 addresses of ``name``, else its IPv6 ones, with discover's lookup state (a
    ``Resolution``): the address a session goes to, with one query where that answers
    (both families when connecting from an IPv6 ``--source-address``)."""
    from ..discover.dns import FOUND, Lookup, Resolution

    if source_address is None or ":" not in source_address:
        answer = dns.query(name, "A")
        if answer.rdatas:
            found = tuple(r.address for r in answer.rdatas)
            return Resolution(found, Lookup(FOUND, ", ".join(found)))
    return dns.addresses(name)


def first_addresses(dns, name: str, source_address: str | None = None) -> tuple[tuple[str, ...], str | None]:
    """:func:`first_resolution` as (addresses, why there are none)."""
    resolution = first_resolution(dns, name, source_address)
    return resolution.addresses, (None if resolution.addresses else resolution.lookup.detail)


def mx_hosts(dns, domain: str):
    """MX records in preference order (RFC 5321 §5.1) as discover reads them (``mx_source``):
    (records, error or None, the lookup state); a null MX (RFC 7505) gives none."""
    from ..discover.sources import mx_source

    report, records = mx_source(domain, dns.query(domain, "MX"), MAX_MX)
    return records, (None if records else report.detail), report.status


def submission_candidates(dns, domain: str, mx_names: list[str]):
    """discover's candidate list without autoconfig (no HTTP fetches during a scan)."""
    from ..discover.candidates import SRV_SERVICES, SrvTarget, build_candidates

    srv = []
    for service, _mode in SRV_SERVICES:
        answer = dns.query(f"{service}.{domain}", "SRV")
        srv += [SrvTarget(service, r.priority, r.weight, r.port, r.target.to_text().rstrip("."))
                for r in answer.rdatas]
    return build_candidates(domain, srv, [], mx_names)
