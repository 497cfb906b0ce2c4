"""The state of one TCP connection in the flow table, and what is judged from its packets."""

from __future__ import annotations

from ..rules import packets as packet_rules
from .classify import CLASSIFY_LIMIT, classify
from .session import SmtpSession, TcpStats
from .tcp import Reassembler


class Side:
    """One direction of a connection: its byte stream, TTLs seen, FIN."""

    __slots__ = ("stream", "ttl", "ttls", "fin", "addr", "sink")

    def __init__(self, addr) -> None:
        self.stream = Reassembler()
        self.ttl = -1          #: TTL of the last non-RST packet
        self.ttls: dict[int, int] = {}
        self.fin = False
        self.addr = addr
        #: where this side's in-order bytes go once the flow is an SMTP session: its
        #: ``client_data`` or ``server_data`` (what FlowTable.deliver would call)
        self.sink = None


class Flow:
    """One TCP connection; side ``a`` sent the first packet seen."""

    __slots__ = ("index", "a", "b", "first_ts", "last_ts", "closed_at", "closed", "state", "session",
                 "a_is_client", "prefix", "packets", "rsts", "syn_from_a", "keys", "finished")

    def __init__(self, index: int, a_addr, b_addr, ts: float) -> None:
        self.index = index
        self.a, self.b = Side(a_addr), Side(b_addr)
        self.first_ts = self.last_ts = ts
        self.closed_at: float | None = None
        self.closed = "open"
        self.state = "undecided"       #: "undecided", "smtp", "other"
        self.session: SmtpSession | None = None
        self.a_is_client = True
        self.prefix: list[tuple[float, bool, bytes]] = []
        self.packets = 0
        self.rsts: list[tuple[float, bool, int]] = []
        self.syn_from_a: bool | None = None
        self.keys: tuple[bytes, ...] = ()
        self.finished = False




def tcp_stats(client: Side, server: Side) -> TcpStats:
    cs, ss = client.stream, server.stream
    return TcpStats(cs.retransmissions + ss.retransmissions, cs.out_of_order + ss.out_of_order,
                    cs.overlaps + ss.overlaps, cs.conflicts + ss.conflicts, cs.gaps + ss.gaps, 0)


def packet_findings(flow: Flow, client: Side, server: Side):
    """Segment conflicts, and RSTs whose TTL no other packet of the claimed sender had."""
    for side, name in ((server, "server"), (client, "client")):
        yield packet_rules.tcp_segment_conflict(name, side.stream.conflicts,
                                                side.stream.conflict_evidence)
    for ts, from_a, ttl in flow.rsts:
        side = flow.a if from_a else flow.b
        name = "client" if side is client else "server"
        yield packet_rules.rst_suspicious_ttl(name, f"{side.addr[0]}:{side.addr[1]}",
                                              ts - flow.first_ts, ttl, side.ttls)


def decide(table, flow: Flow, *, ended: bool) -> None:
    """Classify an undecided flow by its first bytes; an SMTP one gets its session."""
    a_data = b"".join(d for _, from_a, d in flow.prefix if from_a)[:CLASSIFY_LIMIT]
    b_data = b"".join(d for _, from_a, d in flow.prefix if not from_a)[:CLASSIFY_LIMIT]
    verdict, a_is_client, implicit = classify(a_data, b_data, flow.a.addr[1], flow.b.addr[1], ended)
    if verdict is None:
        return
    prefix, flow.prefix = flow.prefix, []
    if verdict == "other":
        flow.state = "other"
        return
    flow.state = "smtp"
    flow.a_is_client = a_is_client
    client, server = (flow.a, flow.b) if a_is_client else (flow.b, flow.a)
    keep = table.keep_transcript
    keep = keep == "all" or (keep is not None and keep != "all" and flow.index in keep)
    findings_only = table.findings_only is not None and table.findings_only(flow.index)
    flow.session = SmtpSession(flow.index, client.addr, server.addr, flow.first_ts,
                               implicit_tls=implicit, keep_transcript=keep, cafile=table.cafile,
                               envelope=not findings_only)
    client.sink, server.sink = flow.session.client_data, flow.session.server_data
    for ts, from_a, data in prefix:
        table.deliver(flow, from_a, ts, data)
