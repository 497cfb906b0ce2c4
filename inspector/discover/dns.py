"""DNS lookups for discover, through dnspython, against one chosen server.

Queries set DO (RFC 3225, "DNSSEC OK") and AD (RFC 6840 §5.7: ask the resolver
to say whether it validated the answer); the AD bit of the reply is reported
as given, since only the resolver can vouch for it. Truncated UDP answers are
retried over TCP (RFC 7766 §5). Failures become data: every answer has a
:class:`Lookup` state, and only ``found``, ``none`` (NODATA) and ``nxdomain``
say anything about the records; ``no-answer`` (timeout, deadline, unreachable
server) and ``error`` (SERVFAIL, REFUSED, ...) leave them unknown.
"""

from __future__ import annotations

import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

from ..errors import UsageError
from ..frozen import frozen

#: Lookup states. found: records; none: the name exists without this type (NODATA, RFC 2308 §2.2);
#: nxdomain: no such name (RFC 8020); null: a record saying "no such service" (SRV ".",
#: RFC 2782; MX 0 ".", RFC 7505); no-answer / error: nothing is known about the records.
FOUND, NONE, NXDOMAIN, NULL, NO_ANSWER, ERROR = "found", "none", "nxdomain", "null", "no-answer", "error"
UNKNOWN_STATES = (NO_ANSWER, ERROR)


@frozen
class Lookup:
    """What one lookup established, in words: ``state`` (see above) and a one-line ``detail``."""

    state: str
    detail: str

    @property
    def unknown(self) -> bool:
        return self.state in UNKNOWN_STATES


@frozen
class DnsAnswer:
    """The records of one type for one name, or why there are none."""

    name: str
    rdtype: str
    rdatas: tuple             #: dnspython rdata objects of the asked type
    authenticated: bool       #: the AD flag of the reply (RFC 4035 §3.2.3)
    rcode: str | None         #: "NOERROR", "NXDOMAIN", ... (None when no reply came)
    error: str | None         #: one line when the lookup failed (not for NXDOMAIN/NODATA)

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(r.to_text() for r in self.rdatas)

    @property
    def lookup(self) -> Lookup:
        if self.rcode is None and self.error.startswith("cannot ask"):
            return Lookup(ERROR, self.error)
        if self.rcode is None:
            return Lookup(NO_ANSWER, f"unknown (no answer): {self.error}")
        if self.error:
            return Lookup(ERROR, f"unknown ({self.error})")
        if self.rdatas:
            return Lookup(FOUND, f"{len(self.rdatas)} {self.rdtype} record(s)")
        if self.rcode == "NXDOMAIN":
            return Lookup(NXDOMAIN, "no such name (NXDOMAIN)")
        return Lookup(NONE, f"no {self.rdtype} record (NODATA)")


@frozen
class Resolution:
    """A name's addresses (IPv4 first), and the lookup state behind them."""

    addresses: tuple[str, ...]
    lookup: Lookup


def parse_dns_server(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address → (ip, port); UsageError else."""
    import ipaddress

    text = text.strip()
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ("53" if not rest else "")
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"--dns-server wants an IP address (optionally :PORT), not {text!r}") from None
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise UsageError(f"--dns-server port must be a number from 1 to 65535, not {port!r}")
    return host, int(port)


def system_dns_server() -> tuple[str, int]:
    """The first nameserver of /etc/resolv.conf (what the system resolver asks)."""
    import dns.resolver

    try:
        servers = dns.resolver.Resolver().nameservers
    except dns.exception.DNSException:
        servers = []
    return (str(servers[0]), 53) if servers else ("127.0.0.1", 53)


class DnsClient:
    """Asks one server; every query is bounded by the per-query timeout and the overall deadline."""

    def __init__(self, server: tuple[str, int], *, timeout: float, deadline_at: float,
                 lean_addresses: bool = False) -> None:
        self.server = server
        self.timeout = timeout
        self.deadline_at = deadline_at
        #: A/AAAA through :mod:`.dns_wire` (the same question, read without dnspython's objects)
        self.lean_addresses = lean_addresses

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        where = f"{self.server[0]}:{self.server[1]}"
        if self.lean_addresses and rdtype in ("A", "AAAA"):
            answer = self._lean_query(name, rdtype, where)
            if answer is not None:
                return answer
        try:
            qname = dns.name.from_text(name)
            message = dns.message.make_query(qname, rdtype, want_dnssec=True)
        except (dns.exception.DNSException, ValueError) as exc:
            return DnsAnswer(name, rdtype, (), False, None, f"cannot ask for {name!r}: {exc}")
        message.flags |= dns.flags.AD
        left = self.deadline_at - time.monotonic()
        if left <= 0:
            return DnsAnswer(name, rdtype, (), False, None, "the overall deadline was reached before asking")
        timeout = min(self.timeout, left)
        try:
            reply = dns.query.udp(message, self.server[0], port=self.server[1], timeout=timeout,
                                  ignore_unexpected=True)
            if reply.flags & dns.flags.TC:
                timeout = max(0.05, min(self.timeout, self.deadline_at - time.monotonic()))
                reply = dns.query.tcp(message, self.server[0], port=self.server[1], timeout=timeout)
        except dns.exception.Timeout:
            return DnsAnswer(name, rdtype, (), False, None,
                             f"no answer from DNS server {where} within {round(timeout, 1):g} s")
        except (OSError, dns.exception.DNSException, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            return DnsAnswer(name, rdtype, (), False, None, f"DNS server {where}: {reason}")
        rcode = dns.rcode.to_text(reply.rcode())
        wanted = dns.rdatatype.from_text(rdtype)
        rdatas = tuple(rdata for rrset in reply.answer if rrset.rdtype == wanted for rdata in rrset)
        error = None if rcode in ("NOERROR", "NXDOMAIN") else f"DNS server {where} answered {rcode}"
        return DnsAnswer(name, rdtype, rdatas, bool(reply.flags & dns.flags.AD), rcode, error)

    def _lean_query(self, name: str, rdtype: str, where: str) -> DnsAnswer | None:
        """One A or AAAA question over UDP, read by :mod:`.dns_wire`; None: ask through dnspython
        (truncated, malformed, or something that reader leaves to it)."""
        import os

        from ..net.dns_udp import udp_exchange
        from . import dns_wire

        query_id = int.from_bytes(os.urandom(2), "big")
        wire = dns_wire.encode_question(name, rdtype, query_id)
        if wire is None:
            return None
        left = self.deadline_at - time.monotonic()
        if left <= 0:
            return DnsAnswer(name, rdtype, (), False, None, "the overall deadline was reached before asking")
        timeout = min(self.timeout, left)

        def read(data: bytes):
            try:
                return dns_wire.decode_reply(data, query_id, rdtype)
            except dns_wire.NotOurs:
                raise
            except ValueError:
                return None   # malformed: dnspython asks again and says what is wrong

        outcome, reply = udp_exchange(self.server, wire, timeout, read, dns_wire.NotOurs)
        if outcome == "timeout":
            return DnsAnswer(name, rdtype, (), False, None,
                             f"no answer from DNS server {where} within {round(timeout, 1):g} s")
        if outcome == "error":
            return DnsAnswer(name, rdtype, (), False, None, f"DNS server {where}: {reply}")
        if reply is None:
            return None
        error = None if reply.rcode in ("NOERROR", "NXDOMAIN") else \
            f"DNS server {where} answered {reply.rcode}"
        return DnsAnswer(name, rdtype, reply.records, reply.authenticated, reply.rcode, error)

    def addresses(self, name: str) -> Resolution:
        """A then AAAA (skipped after NXDOMAIN: no name has no records of any type, RFC 8020 §2).

        Any address found wins; otherwise an unknown A or AAAA answer makes the
        whole resolution unknown, since the other family might have had one.
        """
        found: list[str] = []
        lookups = []
        for rdtype in ("A", "AAAA"):
            answer = self.query(name, rdtype)
            found += [r.address for r in answer.rdatas]
            lookups.append(answer.lookup)
            if answer.lookup.state == NXDOMAIN:
                break
        if found:
            return Resolution(tuple(found), Lookup(FOUND, ", ".join(found)))
        unknown = next((lk for lk in lookups if lk.unknown), None)
        if unknown is not None:
            return Resolution((), unknown)
        if lookups[0].state == NXDOMAIN:
            return Resolution((), lookups[0])
        return Resolution((), Lookup(NONE, "no A or AAAA record (NODATA)"))
