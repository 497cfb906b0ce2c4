"""What the packet probes and SMTP sessions saw, as plain frozen dataclasses (no I/O, no scapy).

Hop distance from a received TTL (README, path interference): senders start at 32, 64, 128 or 255, so the
initial TTL is guessed as the smallest of those not below the received value, and the sender sits
``initial - received + 1`` hops away (a direct neighbour's packets arrive with the initial TTL).
"""

from __future__ import annotations

from ..frozen import frozen

INITIAL_TTLS = (32, 64, 128, 255)

SYN_ACK, RST, ICMP, TIME_EXCEEDED, NONE = "syn-ack", "rst", "icmp-unreachable", "time-exceeded", "none"

#: RFC 792 / RFC 1812 §5.2.7.1 names of ICMP destination-unreachable codes.
UNREACHABLE_CODES = {
    0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
    9: "network administratively prohibited", 10: "host administratively prohibited",
    13: "communication administratively prohibited",
}
#: Codes that say a filter refused the packet (RFC 1812 §5.2.7.1, RFC 1122 §3.2.2.1).
ADMIN_PROHIBITED_CODES = (9, 10, 13)


def initial_ttl(ttl: int) -> int:
    """The smallest common initial TTL (32/64/128/255) that is not below ``ttl``."""
    return next(start for start in INITIAL_TTLS if ttl <= start)


def hop_distance(ttl: int) -> int:
    """How many hops away the sender of a packet that arrived with ``ttl`` is (a neighbour: 1)."""
    return initial_ttl(ttl) - ttl + 1


@frozen
class Fingerprint:
    """The TCP/IP traits that differ between stacks (and between a host and a box in front of it)."""

    initial_ttl: int | None
    window: int | None
    mss: int | None
    options: tuple[str, ...]
    ip_id_zero: bool | None

    def differences(self, other: Fingerprint) -> list[str]:
        out = []
        for name in ("initial_ttl", "window", "mss", "options", "ip_id_zero"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs and mine is not None and theirs is not None:
                out.append(f"{name} {theirs} vs {mine}")
        return out


@frozen
class TcpAnswer:
    """The answer to one SYN (or the lack of one): SYN-ACK, RST, ICMP error, or none."""

    kind: str
    source: str | None = None
    ttl: int | None = None
    ip_id: int | None = None
    window: int | None = None
    mss: int | None = None
    options: tuple[str, ...] = ()
    icmp_type: int | None = None
    icmp_code: int | None = None
    rtt_ms: float | None = None
    probes: int = 1                      #: SYNs sent before this answer (or before giving up)

    @property
    def hop_distance(self) -> int | None:
        return hop_distance(self.ttl) if self.ttl else None

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint(initial_ttl(self.ttl) if self.ttl else None, self.window, self.mss,
                           self.options, None if self.ip_id is None else self.ip_id == 0)

    def describe(self) -> str:
        if self.kind == NONE:
            return f"no answer to {self.probes} SYN(s)"
        where = f" from {self.source}" if self.source else ""
        ttl = f", TTL {self.ttl} (hop {self.hop_distance})" if self.ttl else ""
        if self.kind in (ICMP, TIME_EXCEEDED):
            name = UNREACHABLE_CODES.get(self.icmp_code, "") if self.kind == ICMP else "time exceeded"
            return f"ICMP {self.icmp_type}/{self.icmp_code} {name}{where}{ttl}"
        extra = f", window {self.window}" if self.window is not None else ""
        return f"{self.kind.upper()}{where}{ttl}{extra}"


@frozen
class Hop:
    """One TTL of a TCP traceroute and what answered it."""

    ttl: int
    answer: TcpAnswer


@frozen
class Trace:
    """A TCP traceroute to one port: SYNs with TTL 1..n on one fixed flow."""

    port: int
    hops: tuple[Hop, ...]

    @property
    def terminal(self) -> Hop | None:
        """The first hop that ended the path: a TCP answer or an ICMP unreachable."""
        return next((h for h in self.hops if h.answer.kind in (SYN_ACK, RST, ICMP)), None)

    def at(self, ttl: int) -> TcpAnswer | None:
        return next((h.answer for h in self.hops if h.ttl == ttl), None)


@frozen
class Service:
    """What an SMTP session on the port showed (from the core probe)."""

    port: int
    tls_mode: str                       #: "starttls", "implicit", "none" or "unknown" (session cut short)
    greeting: str | None
    time_to_greeting_ms: float | None
    starttls_offered: bool | None
    masked: tuple[str, ...] = ()        #: EHLO lines or the banner overwritten by a middlebox
    spki_sha256: str | None = None
    cert_subject: str | None = None
    cert_issuer: str | None = None
    error: str | None = None

    @property
    def greeting_host(self) -> str | None:
        """The first word after the reply code (RFC 5321 §4.2: the server's domain)."""
        if not self.greeting:
            return None
        words = self.greeting[4:].split()
        return words[0].lower() if words else None

    @property
    def banner_masked(self) -> bool:
        """A greeting of asterisks (Cisco PIX/ASA), by the rule the session probe applies."""
        from ..rules.session import banner_masked

        return bool(self.greeting) and banner_masked(self.greeting[4:])


@frozen
class PortObservation:
    port: int
    syn: TcpAnswer | None = None             #: raw SYN probe (root); None in connect() mode
    connect_error: str | None = None         #: connect() mode: "refused", "timeout", "unreachable: ..."
    connect_ms: float | None = None
    service: Service | None = None
    trace: Trace | None = None
