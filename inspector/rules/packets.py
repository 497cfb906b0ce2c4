"""Rules about the packets of a session: resets, TTLs, retransmissions, holes (RFC 9293).

``probe --sniff`` judges the segments it captured; ``replay`` judges the TCP
facts of each flow. Both pass plain facts (hop distances, TTL sets, counts).
"""

from __future__ import annotations

from ..findings import Finding, make_finding
from .interference import STRONG, rst_injected, verdict_finding


def packet_capture(summary: str) -> Finding:
    """RFC 9293 §3.1: the session's packets were captured (the evidence is the summary)."""
    return make_finding("packet-capture", summary)


def session_reset(port: int, text: str, rst_hop: int | None, server_hop: int | None,
                  server_ttl: int | None) -> Finding:
    """RFC 9293 §3.5.2: a RST ended the session; from nearer than the server it was injected."""
    verdict = rst_injected(port, rst_hop, server_hop,
                           [f"{text}; the server's SYN-ACK came from hop {server_hop} (TTL {server_ttl})"],
                           STRONG)
    if verdict is not None:
        return verdict_finding(verdict)
    return make_finding("connection-reset", text)


def rst_suspicious_ttl(name: str, address: str, at: float, ttl: int, usual: dict[int, int]) -> Finding | None:
    """RFC 9293 §3.5.3, RFC 5961 §3: a RST whose TTL no other packet of its claimed sender had."""
    if not usual or ttl in usual:
        return None
    seen = "/".join(str(t) for t in sorted(usual))
    return make_finding("rst-suspicious-ttl",
                        f"RST claimed from the {name} {address} at +{at:.3f} s has TTL {ttl}; "
                        f"the {name}'s other packets had TTL {seen}")


def tcp_segment_conflict(name: str, conflicts: int, evidence: str) -> Finding | None:
    """RFC 9293 §3.10.7.4: a retransmission carried other bytes than the first copy."""
    if not conflicts:
        return None
    return make_finding("tcp-segment-conflict", f"{conflicts} segment(s) from the {name}: {evidence}")


def capture_gap(holes: int) -> Finding | None:
    """RFC 9293 §3.4: bytes of the session are missing from the capture."""
    if not holes:
        return None
    return make_finding("capture-gap", f"{holes} hole(s) in the reassembled streams")
