"""Capture one session's packets (``probe --sniff``): BPF filter on the flow, pcap file, packet evidence.

The sniffer runs on the interface the kernel routes the target through, with the filter
``tcp and host ADDR and port PORT``. On ``lo`` every packet is seen twice (outgoing and incoming);
copies with identical bytes within 50 ms are dropped. The summary (segments with their payload
sizes, TTLs, RSTs) is a frozen dataclass; the pcap is written with scapy's PcapWriter, which
Wireshark and tshark read.
"""

from __future__ import annotations

import socket
import threading
import time

from ..frozen import frozen
from ..interference.observations import hop_distance
from . import scapy_modules


@frozen
class Segment:
    t: float                 #: seconds since the first packet
    direction: str           #: "send" (to the server) or "recv"
    flags: str
    seq: int
    ack: int
    payload: int             #: payload bytes: one entry per segment, so boundaries show
    ttl: int
    ip_id: int
    window: int


@frozen
class PacketEvidence:
    interface: str
    bpf: str
    pcap: str | None
    segments: tuple[Segment, ...]
    duplicates_dropped: int

    @property
    def server_ttls(self) -> tuple[int, ...]:
        return tuple(sorted({s.ttl for s in self.segments if s.direction == "recv"}))

    @property
    def resets(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if "R" in s.flags)

    def summary(self) -> str:
        sent = [s.payload for s in self.segments if s.direction == "send" and s.payload]
        got = [s.payload for s in self.segments if s.direction == "recv" and s.payload]
        ttls = ", ".join(f"{t} (hop {hop_distance(t)})" for t in self.server_ttls) or "none"
        where = f"; pcap {self.pcap}" if self.pcap else ""
        return (f"{len(self.segments)} packets on {self.interface}; server TTLs {ttls}; "
                f"{len(sent)} data segments sent {sent[:12]}, {len(got)} received {got[:12]}; "
                f"{len(self.resets)} RST{where}")


def _route(address: str) -> str:
    m = scapy_modules()
    if not m.conf.route.routes:
        m.conf.route.resync()
    return m.conf.route.route(address)[0]


class FlowCapture:
    """``with FlowCapture(address, port, pcap) as capture: ...``; then ``capture.evidence()``."""

    def __init__(self, host: str, port: int, pcap: str | None = None) -> None:
        self.address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        self.port = port
        self.pcap = pcap
        self.interface = _route(self.address)
        self.bpf = f"tcp and host {self.address} and port {port}"
        self._packets: list = []
        self._sniffer = None

    def __enter__(self) -> FlowCapture:
        m = scapy_modules()
        ready = threading.Event()
        self._sniffer = m.AsyncSniffer(iface=self.interface, filter=self.bpf, store=True,
                                       started_callback=ready.set)
        self._sniffer.start()
        ready.wait(3)
        return self

    def __exit__(self, *exc_info) -> None:
        time.sleep(0.05)  # the last ACK/FIN
        try:
            self._packets = list(self._sniffer.stop() or [])
        except Exception:  # a sniffer that failed to start has nothing to give
            self._packets = []

    def evidence(self) -> PacketEvidence:
        m = scapy_modules()
        kept, seen, dropped = [], {}, 0
        for packet in self._packets:
            ip = packet.getlayer(m.IP)
            if ip is None or not ip.haslayer(m.TCP):
                continue
            raw = bytes(ip)
            if raw in seen and float(packet.time) - seen[raw] < 0.05:
                dropped += 1
                continue
            seen[raw] = float(packet.time)
            kept.append(packet)
        # The session's flow: the connection that began with our first SYN.
        first_syn = next((p for p in kept if p[m.TCP].flags == "S" and p[m.TCP].dport == self.port), None)
        local_port = first_syn[m.TCP].sport if first_syn is not None else None
        flow = [p for p in kept if local_port is None or local_port in (p[m.TCP].sport, p[m.TCP].dport)]
        if self.pcap:
            writer = m.PcapWriter(self.pcap, sync=True)
            for packet in flow:
                writer.write(packet)
            writer.close()
        start = float(flow[0].time) if flow else 0.0
        segments = tuple(
            Segment(t=round(float(p.time) - start, 6),
                    direction=("send" if p[m.TCP].dport == self.port and p[m.TCP].sport == local_port
                               else "recv"),
                    flags=str(p[m.TCP].flags), seq=p[m.TCP].seq, ack=p[m.TCP].ack,
                    payload=len(bytes(p[m.TCP].payload)), ttl=p[m.IP].ttl, ip_id=p[m.IP].id,
                    window=p[m.TCP].window)
            for p in flow)
        return PacketEvidence(self.interface, self.bpf, self.pcap, segments, dropped)


def packet_findings(evidence: PacketEvidence, port: int) -> list:
    """Findings that carry the packet evidence: a summary, and who sent each RST."""
    from ..rules.packets import packet_capture, session_reset

    out = [packet_capture(evidence.summary())]
    synack = next((s for s in evidence.segments if s.direction == "recv" and s.flags == "SA"), None)
    for rst in evidence.resets:
        if rst.direction != "recv":
            continue
        text = (f"RST at {rst.t:.3f} s, TTL {rst.ttl} (hop {hop_distance(rst.ttl)}), IP-ID {rst.ip_id}")
        out.append(session_reset(port, text, hop_distance(rst.ttl),
                                 hop_distance(synack.ttl) if synack else None,
                                 synack.ttl if synack else None))
    return out
