"""Catalogue part: packets of a session, captured live (``--sniff``) or read from a capture (``replay``).

Decided in :mod:`inspector.rules` (packets.py).
"""

from __future__ import annotations

from .kind import LIVE, REPLAY, FindingKind, OneSided, Severity

_CAPTURE_FILE_FACTS = OneSided(REPLAY, "packet-level facts of the capture file (segments, TTLs, holes)")

KINDS = [
    FindingKind("connection-reset", Severity.WARNING,
                "A TCP RST ended the session (the packet capture shows who sent it)", "RFC 9293 §3.5.2",
                rule="packets.session_reset",
                one_sided=OneSided(LIVE, "told from the sniffer's segments; replay judges RSTs by "
                                         "their TTL")),
    FindingKind("packet-capture", Severity.INFO,
                "Packets of the session were captured (segments, TTLs, RSTs)", "RFC 9293 §3.1",
                rule="packets.packet_capture",
                one_sided=OneSided(LIVE, "the sniffer's summary of the packets it captured; "
                                         "the replay reads them")),
    FindingKind("rst-suspicious-ttl", Severity.ERROR,
                "A TCP RST arrived with a TTL unlike the other packets of the side it claims "
                "to come from (an injected reset)", "RFC 9293 §3.5.3; RFC 5961 §3",
                rule="packets.rst_suspicious_ttl", one_sided=_CAPTURE_FILE_FACTS),
    FindingKind("tcp-segment-conflict", Severity.WARNING,
                "A retransmitted TCP segment carried different bytes than the first copy "
                "(an injected or rewritten segment)", "RFC 9293 §3.10.7.4",
                rule="packets.tcp_segment_conflict", one_sided=_CAPTURE_FILE_FACTS),
    FindingKind("capture-gap", Severity.INFO,
                "Bytes of the session are missing from the capture; the transcript has a hole",
                "RFC 9293 §3.4",
                rule="packets.capture_gap", one_sided=_CAPTURE_FILE_FACTS),
]
