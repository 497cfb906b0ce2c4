"""Raw SYN probes and TCP traceroutes (root or CAP_NET_RAW), IPv4.

Each probe is ``IP(dst, ttl)/TCP(sport, dport, flags=S, seq)`` with a common option set. Answers are
read by one sniffer with a BPF filter (TCP from the target, ICMP to us) and matched to probes by the
flow and the sequence number: a SYN-ACK or RST acknowledges ``seq + 1``, an ICMP error quotes the
probe's TCP header, whose first 8 bytes hold ports and ``seq`` (RFC 792). A traceroute keeps the flow
fixed (Paris-style) and encodes the TTL in ``seq``.

The kernel knows nothing of these SYNs, so it answers a SYN-ACK with a RST: the half-open connection
on the server ends at once, which is what a scanner wants. Source ports are reserved by binding a
socket for the duration, so no real connection of ours can collide with a probe.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass, field

from ..frozen import frozen
from ..interference.observations import ICMP, NONE, RST, SYN_ACK, TIME_EXCEEDED, TcpAnswer
from . import scapy_modules

#: Minimum gap between two probes to the same target (rate limit), seconds.
PROBE_GAP = 0.005
#: The options of a Linux SYN, in order; middleboxes that rewrite options show up in fingerprints.
SYN_OPTIONS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]


def have_raw_sockets() -> bool:
    """True when this process may open raw sockets (root or CAP_NET_RAW)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP).close()
        return True
    except (PermissionError, OSError):
        return False


@frozen
class Probe:
    dport: int
    sport: int
    seq: int
    ttl: int = 64


@dataclass
class _Sent:
    probe: Probe
    at: float
    count: int = 1


@dataclass
class _Exchange:
    dst: str
    answers: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _routing(dst: str) -> tuple[str, str]:
    """(interface, our source address) for ``dst``, from the kernel's routing table."""
    m = scapy_modules()
    if not m.conf.route.routes:
        m.conf.route.resync()
    iface, src, _gateway = m.conf.route.route(dst)
    return iface, src


def _answer_from(packet, m, sent: dict, now: float):
    """(probe key, TcpAnswer) for a sniffed packet, or None when it answers none of our probes."""
    ip = packet.getlayer(m.IP)
    if ip is None:
        return None
    if ip.haslayer(m.ICMP) and ip[m.ICMP].type in (3, 11) and ip.haslayer(m.TCPerror):
        quoted = ip[m.TCPerror]
        key = (quoted.dport, quoted.sport, quoted.seq)
        kind = TIME_EXCEEDED if ip[m.ICMP].type == 11 else ICMP
        extra = {"icmp_type": ip[m.ICMP].type, "icmp_code": ip[m.ICMP].code}
    elif ip.haslayer(m.TCP) and not ip.haslayer(m.ICMP):
        tcp = ip[m.TCP]
        flags = int(tcp.flags)
        if flags & 0x12 == 0x12:
            kind = SYN_ACK
        elif flags & 0x04:
            kind = RST
        else:
            return None
        key = (tcp.sport, tcp.dport, (tcp.ack - 1) & 0xFFFFFFFF)
        names, mss = [], None
        for name, value in tcp.options:
            names.append(str(name))
            if name == "MSS":
                mss = value
        extra = {"window": tcp.window, "mss": mss, "options": tuple(names)}
    else:
        return None
    record = sent.get(key)
    if record is None:
        return None
    answer = TcpAnswer(kind=kind, source=ip.src, ttl=ip.ttl, ip_id=ip.id,
                       rtt_ms=round((now - record.at) * 1000, 3), probes=record.count, **extra)
    return key, answer


def exchange(dst: str, probes: list[Probe], *, timeout: float, tries: int = 1,
             deadline: float | None = None, needed=None) -> dict[Probe, TcpAnswer]:
    """Send each probe (resending unanswered ones up to ``tries`` times), return what answered.

    ``needed(probe, answered)`` (``answered``: probe -> TcpAnswer so far) says whether an
    unanswered probe is still worth waiting for and re-sending; by default every one is.
    Every probe has an entry; unanswered ones get ``TcpAnswer(NONE, probes=N)``.
    """
    m = scapy_modules()
    iface, src = _routing(dst)
    sent: dict[tuple, _Sent] = {}
    state = _Exchange(dst)
    ready = threading.Event()

    def on_packet(packet) -> None:
        found = _answer_from(packet, m, sent, time.monotonic())
        if found is not None:
            with state.lock:
                state.answers.setdefault(found[0], found[1])

    bpf = f"(tcp and src host {dst}) or (icmp and dst host {src})"
    sniffer = m.AsyncSniffer(iface=iface, filter=bpf, prn=on_packet, store=False,
                             started_callback=ready.set)
    sniffer.start()
    ready.wait(3)
    # On loopback a packet socket's frames never reach the TCP stack; an IP raw
    # socket's do (the kernel routes them like its own).
    sock = m.L3RawSocket() if iface == m.conf.loopback_name else m.conf.L3socket(iface=iface)
    try:
        pending = list(probes)
        for _round in range(max(1, tries)):
            for probe in pending:
                key = (probe.dport, probe.sport, probe.seq)
                record = sent.get(key)
                if record is None:
                    sent[key] = _Sent(probe, time.monotonic())
                else:
                    record.count += 1
                packet = m.IP(src=src, dst=dst, ttl=probe.ttl, id=random.randrange(1, 65536)) / m.TCP(
                    sport=probe.sport, dport=probe.dport, flags="S", seq=probe.seq, window=64240,
                    options=SYN_OPTIONS)
                sock.send(packet)
                time.sleep(PROBE_GAP)
            wait_until = time.monotonic() + timeout
            if deadline is not None:
                wait_until = min(wait_until, deadline)
            while time.monotonic() < wait_until:
                if not _still_pending(pending, state, needed, probes):
                    break
                time.sleep(0.01)
            pending = _still_pending(pending, state, needed, probes)
            if not pending or (deadline is not None and time.monotonic() >= deadline):
                break
    finally:
        sock.close()
        with contextlib.suppress(Exception):
            sniffer.stop()
    result = {}
    for probe in probes:
        key = (probe.dport, probe.sport, probe.seq)
        count = sent[key].count if key in sent else 0
        result[probe] = state.answers.get(key) or TcpAnswer(NONE, probes=count)
    return result


def _still_pending(pending: list[Probe], state: _Exchange, needed, probes: list[Probe]) -> list[Probe]:
    with state.lock:
        answered = {p: state.answers[(p.dport, p.sport, p.seq)] for p in probes
                    if (p.dport, p.sport, p.seq) in state.answers}
    return [p for p in pending if p not in answered and (needed is None or needed(p, answered))]


@contextlib.contextmanager
def reserved_ports(count: int):
    """``count`` local TCP ports nobody else can use while the probes run."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("0.0.0.0", 0))
            socks.append(sock)
        yield [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _before_terminal(probe: Probe, answered: dict) -> bool:
    """A traceroute probe matters only below the first TTL that ended its port's path."""
    return not any(p.dport == probe.dport and p.ttl < probe.ttl and a.kind in (SYN_ACK, RST, ICMP)
                   for p, a in answered.items())


def syn_scan(dst: str, ports: list[int], *, timeout: float, tries: int,
             deadline: float | None = None) -> dict[int, TcpAnswer]:
    """One SYN per port, all in parallel; unanswered ones are sent again up to ``tries`` times."""
    with reserved_ports(len(ports)) as sports:
        probes = [Probe(dport=port, sport=sport, seq=random.randrange(1 << 24, 1 << 31))
                  for port, sport in zip(ports, sports, strict=True)]
        answers = exchange(dst, probes, timeout=timeout, tries=tries, deadline=deadline)
    return {probe.dport: answers[probe] for probe in probes}


def tcp_traceroute(dst: str, ports: list[int], *, max_ttl: int, timeout: float, tries: int = 3,
                   deadline: float | None = None) -> dict[int, list[tuple[int, TcpAnswer]]]:
    """SYNs with TTL 1..max_ttl per port on one fixed flow per port, all sent together.

    The TTL is in the low bits of ``seq`` so a quoted header names the probe. Unanswered TTLs
    are re-sent (at most ``tries`` probes per hop). Returns, per port, ``(ttl, answer)`` pairs.
    """
    with reserved_ports(len(ports)) as sports:
        probes = []
        for port, sport in zip(ports, sports, strict=True):
            base = random.randrange(1 << 24, 1 << 31) & ~0xFF
            probes += [Probe(dport=port, sport=sport, seq=base + ttl, ttl=ttl)
                       for ttl in range(1, max_ttl + 1)]
        answers = exchange(dst, probes, timeout=timeout, tries=tries, deadline=deadline,
                           needed=_before_terminal)
    out: dict[int, list[tuple[int, TcpAnswer]]] = {port: [] for port in ports}
    for probe in probes:
        out[probe.dport].append((probe.ttl, answers[probe]))
    return out
