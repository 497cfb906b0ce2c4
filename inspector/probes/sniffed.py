"""``probe --sniff``: the session probe inside a packet capture of its own flow (root)."""

from __future__ import annotations

from ..frozen import asdict, replace
from .session import ProbeConfig, ProbeResult, run_probe


def run_sniffed_probe(config: ProbeConfig, pcap: str | None):
    """(ProbeResult with the packet findings added, PacketEvidence)."""
    from ..packets.sniff import FlowCapture, packet_findings

    capture = FlowCapture(config.host, config.port, pcap)
    with capture:
        result: ProbeResult = run_probe(config)
    evidence = capture.evidence()
    found = tuple(packet_findings(evidence, config.port))
    result = replace(result, findings=result.findings + found)
    return result, evidence


def packets_json(evidence) -> dict:
    """The ``packets`` member of ``probe --sniff --json`` (probe-result.schema.json)."""
    return {
        "interface": evidence.interface, "bpf": evidence.bpf, "pcap": evidence.pcap,
        "duplicates_dropped": evidence.duplicates_dropped,
        "segments": [asdict(s) for s in evidence.segments],
    }
