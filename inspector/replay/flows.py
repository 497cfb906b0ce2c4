"""Packets → TCP flows → SMTP sessions, in one streaming pass.

Theory of operation: each frame is decoded in place (link header, IPv4 or
IPv6, TCP; RFC 791 §3.1, RFC 8200 §3-4, RFC 9293 §3.1) with ``unpack_from``
on the reader's buffer. Both directions of a connection are found with one
dict lookup keyed by the raw address and port bytes. A flow stays
*undecided* until its first bytes say what it is (:func:`classify`): an
SMTP dialog on any port, implicit TLS towards 465, or something else, which
is then dropped at the cost of one lookup per packet. Pure ACKs only touch
the flow's clock and TTL record.

Memory is bounded by the open flows: a flow closed by FIN or RST is
finished once the capture moves ``linger`` seconds past its close, an idle
one after ``idle_timeout``, and per-flow buffers are capped. At most
:data:`MAX_OPEN_FLOWS` flows are open at once: a new one beyond that first
finishes the flow silent the longest (its session ends "evicted"), and
``evicted`` counts them so the report can say so.
"""

from __future__ import annotations

import ipaddress
import struct

from ..rules import packets as packet_rules
from .classify import CLASSIFY_LIMIT, classify
from .pcap import CaptureError
from .session import SmtpSession, TcpStats
from .tcp import Reassembler

_FIN, _SYN, _RST, _ACK = 0x01, 0x02, 0x04, 0x10
_U16 = struct.Struct("!H").unpack_from
_SEQ = struct.Struct("!II").unpack_from
_NULL_V4 = (2,)
_NULL_V6 = (10, 24, 28, 30)

#: Flows open at once (about 5 KB each while open); past this the longest-silent one is finished.
MAX_OPEN_FLOWS = 4096

class _Side:
    __slots__ = ("stream", "ttl", "ttls", "packets", "fin", "addr")

    def __init__(self, addr) -> None:
        self.stream = Reassembler()
        self.ttl = -1          #: TTL of the last non-RST packet
        self.ttls: dict[int, int] = {}
        self.packets = 0
        self.fin = False
        self.addr = addr


class Flow:
    """One TCP connection; side ``a`` sent the first packet seen."""

    __slots__ = ("index", "a", "b", "first_ts", "last_ts", "closed_at", "closed", "state", "session",
                 "a_is_client", "prefix", "packets", "rsts", "syn_from_a", "keys")

    def __init__(self, index: int, a_addr, b_addr, ts: float) -> None:
        self.index = index
        self.a, self.b = _Side(a_addr), _Side(b_addr)
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


def _address(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw))


class FlowTable:
    """Feed frames with :meth:`packet`; finished sessions go to ``on_session``."""

    def __init__(self, on_session, *, keep_transcript=None, cafile: str | None = None,
                 idle_timeout: float = 600.0, linger: float = 5.0) -> None:
        self.on_session = on_session
        self.keep_transcript = keep_transcript     #: None, "all" or a set of flow indexes
        self.cafile = cafile
        self.idle_timeout = idle_timeout
        self.linger = linger
        self.flows: dict[bytes, tuple[Flow, bool]] = {}
        self.next_index = 0
        self.packets = 0
        self.tcp_packets = 0
        self.skipped = {"link type": 0, "not IP/TCP": 0, "fragment": 0, "short": 0}
        self.now = 0.0
        self._sweep_at = 0
        self.open_flows_peak = 0
        self.evicted = 0            #: flows finished early because MAX_OPEN_FLOWS were open
        self.max_open_flows = MAX_OPEN_FLOWS

    # -- the hot loop ---------------------------------------------------------------
    def run(self, packets) -> None:
        """Consume ``(ts, linktype, buffer, start, end)`` tuples from the reader."""
        flows = self.flows
        skipped = self.skipped
        u16 = _U16
        seq_ack = _SEQ
        count = self.packets
        try:
            for ts, linktype, buf, s, e in packets:
                count += 1
                # -- link layer
                if linktype == 1:
                    ip = s + 14
                    if ip > e:
                        skipped["short"] += 1
                        continue
                    etype = (buf[s + 12] << 8) | buf[s + 13]
                    while etype == 0x8100 or etype == 0x88A8:
                        if ip + 4 > e:
                            break
                        etype = (buf[ip + 2] << 8) | buf[ip + 3]
                        ip += 4
                    if etype != 0x0800 and etype != 0x86DD:
                        skipped["not IP/TCP"] += 1
                        continue
                elif linktype == 113:
                    ip = s + 16
                elif linktype == 276:
                    ip = s + 20
                elif linktype == 0 or linktype == 108:
                    ip = s + 4
                elif linktype in (101, 12, 14, 228, 229):
                    ip = s
                else:
                    skipped["link type"] += 1
                    continue
                if ip + 20 > e:
                    skipped["short"] += 1
                    continue
                # -- IP
                version = buf[ip] >> 4
                if version == 4:
                    ihl = (buf[ip] & 15) << 2
                    if buf[ip + 9] != 6 or ihl < 20:
                        skipped["not IP/TCP"] += 1
                        continue
                    if u16(buf, ip + 6)[0] & 0x3FFF:
                        skipped["fragment"] += 1
                        continue
                    ttl = buf[ip + 8]
                    ip_end = ip + u16(buf, ip + 2)[0]
                    if ip_end > e:
                        ip_end = e
                    tcp = ip + ihl
                    if tcp + 20 > ip_end:
                        skipped["short"] += 1
                        continue
                    if ihl == 20:
                        key = buf[ip + 12:ip + 24]
                    else:
                        key = buf[ip + 12:ip + 20] + buf[tcp:tcp + 4]
                    alen = 4
                elif version == 6:
                    if ip + 40 > e:
                        skipped["short"] += 1
                        continue
                    nxt = buf[ip + 6]
                    ttl = buf[ip + 7]
                    ip_end = ip + 40 + u16(buf, ip + 4)[0]
                    if ip_end > e:
                        ip_end = e
                    tcp = ip + 40
                    while nxt in (0, 43, 60) and tcp + 8 <= ip_end:
                        nxt = buf[tcp]
                        tcp += (buf[tcp + 1] + 1) << 3
                    if nxt != 6:
                        skipped["fragment" if nxt == 44 else "not IP/TCP"] += 1
                        continue
                    if tcp + 20 > ip_end:
                        skipped["short"] += 1
                        continue
                    key = buf[ip + 8:ip + 40] + buf[tcp:tcp + 4]
                    alen = 16
                else:
                    skipped["not IP/TCP"] += 1
                    continue
                # -- TCP
                flags = buf[tcp + 13]
                payload_at = tcp + ((buf[tcp + 12] >> 4) << 2)
                entry = flows.get(key)
                if entry is None:
                    entry = self._new_flow(key, alen, ts)
                flow, from_a = entry
                flow.last_ts = ts
                flow.packets += 1
                side = flow.a if from_a else flow.b
                side.packets += 1
                if payload_at >= ip_end and not (flags & 7):
                    # Pure ACK: the fast path.
                    if ttl != side.ttl:
                        side.ttl = ttl
                        side.ttls[ttl] = side.ttls.get(ttl, 0) + 1
                    if count >= self._sweep_at:
                        self.now = ts
                        self._sweep(count)
                    continue
                seq = seq_ack(buf, tcp + 4)[0]
                if flags & 4:
                    if len(flow.rsts) < 16:
                        flow.rsts.append((ts, from_a, ttl))
                    if flow.closed_at is None:
                        flow.closed_at = ts
                        flow.closed = "rst"
                    continue
                if ttl != side.ttl:
                    side.ttl = ttl
                    side.ttls[ttl] = side.ttls.get(ttl, 0) + 1
                if flow.state == "other":
                    if flags & 1:
                        self._fin(flow, side, ts)
                    continue
                if flags & 2:
                    side.stream.syn(seq)
                    if flow.syn_from_a is None and not flags & _ACK:
                        flow.syn_from_a = from_a
                    seq = (seq + 1) & 0xFFFFFFFF
                if payload_at < ip_end:
                    data = side.stream.segment(seq, buf[payload_at:ip_end])
                    if data:
                        self._data(flow, from_a, ts, data)
                    if side.stream.gaps and side.stream.gap_bytes:
                        self._note_gaps(flow, from_a, ts)
                if flags & 1:
                    self._fin(flow, side, ts)
                if count >= self._sweep_at:
                    self.now = ts
                    self._sweep(count)
        except CaptureError as exc:
            self.packets = exc.packets
            raise
        finally:
            self.packets = count
            self.tcp_packets = count - sum(skipped.values())

    # -- flows ----------------------------------------------------------------------
    def _new_flow(self, key: bytes, alen: int, ts: float):
        a_addr = (_address(key[:alen]), int.from_bytes(key[2 * alen:2 * alen + 2], "big"))
        b_addr = (_address(key[alen:2 * alen]), int.from_bytes(key[2 * alen + 2:2 * alen + 4], "big"))
        if len(self.flows) // 2 >= self.max_open_flows:
            self._evict()
        flow = Flow(self.next_index, a_addr, b_addr, ts)
        self.next_index += 1
        ports = 2 * alen
        reverse = key[alen:ports] + key[:alen] + key[ports + 2:ports + 4] + key[ports:ports + 2]
        entry = (flow, True)
        self.flows[key] = entry
        if reverse != key:
            self.flows[reverse] = (flow, False)
        flow.keys = (key, reverse)
        self.open_flows_peak = max(self.open_flows_peak, len(self.flows) // 2)
        return entry

    def _evict(self) -> None:
        """Finish an eighth of the flows (so eviction stays rare): those already closed and only
        lingering first, then the open ones silent the longest (counted in ``evicted``)."""
        unique = {id(flow): flow for flow, _ in self.flows.values()}
        order = sorted(unique.values(), key=lambda f: (f.closed_at is None, f.last_ts))
        for flow in order[:max(1, self.max_open_flows // 8)]:
            if flow.closed_at is None:
                flow.closed = "evicted"
                self.evicted += 1
            self._finish(flow)

    def _fin(self, flow: Flow, side: _Side, ts: float) -> None:
        side.fin = True
        if flow.a.fin and flow.b.fin and flow.closed_at is None:
            flow.closed_at = ts
            flow.closed = "fin"
        # Bytes still missing when a side ends will never come.
        if side.stream.has_pending:
            data = side.stream.skip_gap()
            from_a = side is flow.a
            self._note_gaps(flow, from_a, ts)
            if data:
                self._data(flow, from_a, ts, data)

    def _note_gaps(self, flow: Flow, from_a: bool, ts: float) -> None:
        side = flow.a if from_a else flow.b
        missing = side.stream.gap_bytes
        side.stream.gap_bytes = 0
        if missing and flow.session is not None:
            flow.session.gap(ts, from_a == flow.a_is_client, missing)

    def _data(self, flow: Flow, from_a: bool, ts: float, data: bytes) -> None:
        if flow.state == "smtp":
            if from_a == flow.a_is_client:
                flow.session.client_data(ts, data)
            else:
                flow.session.server_data(ts, data)
            return
        if flow.state == "other":
            return
        flow.prefix.append((ts, from_a, data))
        self._decide(flow, ended=False)

    def _decide(self, flow: Flow, *, ended: bool) -> None:
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
        keep = self.keep_transcript
        keep = keep == "all" or (keep is not None and keep != "all" and flow.index in keep)
        flow.session = SmtpSession(flow.index, client.addr, server.addr, flow.first_ts,
                                   implicit_tls=implicit, keep_transcript=keep, cafile=self.cafile)
        for ts, from_a, data in prefix:
            self._data(flow, from_a, ts, data)

    def _finish(self, flow: Flow) -> None:
        for key in flow.keys:
            if self.flows.get(key, (None,))[0] is flow:
                del self.flows[key]
        if flow.state == "undecided" and flow.prefix:
            self._decide(flow, ended=True)
        if flow.state != "smtp":
            return
        client, server = (flow.a, flow.b) if flow.a_is_client else (flow.b, flow.a)
        for side in (client, server):
            if side.stream.has_pending:
                data = side.stream.skip_gap()
                self._note_gaps(flow, side is flow.a, flow.last_ts)
                if data:
                    self._data(flow, side is flow.a, flow.last_ts, data)
        findings = list(self._packet_findings(flow, client, server))
        cs, ss = client.stream, server.stream
        tcp = TcpStats(cs.retransmissions + ss.retransmissions, cs.out_of_order + ss.out_of_order,
                       cs.overlaps + ss.overlaps, cs.conflicts + ss.conflicts, cs.gaps + ss.gaps,
                       0)
        findings.append(packet_rules.capture_gap(sum(s.stream.gaps for s in (client, server))))
        closed = flow.closed if flow.closed_at is not None else (
            flow.closed if flow.closed in ("idle", "evicted") else "open")
        self.on_session(flow.session.result(end=flow.last_ts, packets=flow.packets, closed=closed,
                                            tcp=tcp, extra_findings=findings))

    @staticmethod
    def _packet_findings(flow: Flow, client: _Side, server: _Side):
        """Segment conflicts, and RSTs whose TTL no other packet of the claimed sender had."""
        for side, name in ((server, "server"), (client, "client")):
            yield packet_rules.tcp_segment_conflict(name, side.stream.conflicts,
                                                    side.stream.conflict_evidence)
        for ts, from_a, ttl in flow.rsts:
            side = flow.a if from_a else flow.b
            name = "client" if side is client else "server"
            yield packet_rules.rst_suspicious_ttl(name, f"{side.addr[0]}:{side.addr[1]}",
                                                  ts - flow.first_ts, ttl, side.ttls)

    def _sweep(self, count: int) -> None:
        """Finish flows closed ``linger`` seconds ago or idle for ``idle_timeout``."""
        self._sweep_at = count + 8192
        now = self.now
        done = []
        seen = set()
        for flow, _ in self.flows.values():
            if id(flow) in seen:
                continue
            seen.add(id(flow))
            if flow.closed_at is not None and now - flow.closed_at >= self.linger:
                done.append(flow)
            elif now - flow.last_ts >= self.idle_timeout:
                flow.closed = "idle"
                done.append(flow)
        for flow in done:
            self._finish(flow)

    def finish(self) -> None:
        """The capture ended: finish every flow still open."""
        seen = {}
        for flow, _ in list(self.flows.values()):
            seen[id(flow)] = flow
        for flow in sorted(seen.values(), key=lambda f: f.index):
            self._finish(flow)
