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
from collections import deque
from operator import attrgetter

from ..rules import packets as packet_rules
from .flow_state import Flow, Side, decide, packet_findings, tcp_stats
from .frames import ETHERNET_IPV4_TCP, locate
from .pcap import CaptureError

_ACK = 0x10
_SEQ = struct.Struct("!I").unpack_from

#: Seconds of rounding allowed for when comparing packet times (far above a float's error on them).
_TIME_SLACK = 1e-3
#: Flows open at once (about 5 KB each while open); past this the longest-silent one is finished.
MAX_OPEN_FLOWS = 4096

def _located(buf, s: int, e: int, wire: int, linktype: int, skipped: dict):
    """``(key, address length, ttl, ip end, TCP flags, sequence number, payload start)`` of a
    frame the hot loop does not decode inline (:func:`frames.locate`), or None."""
    located = locate(buf, s, e, wire, linktype, skipped)
    if located is None:
        return None
    key, alen, ttl, tcp, ip_end = located
    return (key, alen, ttl, ip_end, buf[tcp + 13], _SEQ(buf, tcp + 4)[0],
            tcp + ((buf[tcp + 12] >> 4) << 2))


def _address(raw: bytes) -> str:
    if len(raw) == 4:
        return "%d.%d.%d.%d" % tuple(raw)   # what ipaddress writes, for a fraction of the cost
    return str(ipaddress.ip_address(raw))


class FlowTable:
    """Feed frames with :meth:`run`; finished sessions go to ``on_session``."""

    #: Packets between two sweeps for lingering and idle flows.
    SWEEP_EVERY = 8192

    def __init__(self, on_session, *, keep_transcript=None, cafile: str | None = None,
                 idle_timeout: float = 600.0, linger: float = 5.0, live: bool = False,
                 findings_only=None) -> None:
        self.on_session = on_session
        #: None, or ``findings_only(flow index)``: True when only that session's findings will be
        #: read (its envelope is then not built)
        self.findings_only = findings_only
        self.keep_transcript = keep_transcript     #: None, "all" or a set of flow indexes
        self.cafile = cafile
        self.idle_timeout = idle_timeout
        self.linger = 0.0 if live else linger
        #: Live input: a session is finished at its close, and bare ACKs do not open a flow
        #: (the last ACK of a finished connection must not open a new one).
        self.live = live
        self.closing: deque[Flow] = deque()   #: closed flows in the order they closed
        self.sessions_ended = 0               #: SMTP sessions handed to on_session so far
        self.tombstones = 0                   #: judged flows whose keys linger (cheap; not "open")
        self.flows: dict[bytes, tuple[Flow, bool, Side]] = {}   #: key -> flow, from side a, side
        self.unclosed: dict[int, Flow] = {}   #: flows in ``flows`` with no FIN/RST yet, by index
        self.next_index = 0
        self.packets = 0
        self.tcp_packets = 0
        self.skipped = {"link type": 0, "not IP/TCP": 0, "fragment": 0, "short": 0, "malformed": 0}
        self.now = 0.0
        #: The most a packet's time fell behind the latest before it (seconds): captures from
        #: several queues or merged files are a little out of order. It bounds how far from
        #: time order ``closing`` and the flows' last packets can be (see :meth:`_closed_due`).
        self.reordering = 0.0
        self._newest = 0.0            #: the latest packet time so far
        self._sweep_at = 0
        self.open_flows_peak = 0
        self.evicted = 0            #: flows finished early because MAX_OPEN_FLOWS were open
        self.max_open_flows = MAX_OPEN_FLOWS

    # -- the hot loop ---------------------------------------------------------------
    def run(self, packets) -> None:
        """Consume ``(ts, linktype, buffer, start, end, original length)`` tuples from the reader."""
        flows = self.flows
        skipped = self.skipped
        frame = ETHERNET_IPV4_TCP
        count = self.packets
        closing = self.closing
        linger = self.linger
        live = self.live
        sweep_at = self._sweep_at      # (only _sweep moves it)
        newest = self._newest
        reordering = self.reordering
        try:
            for ts, linktype, buf, s, e, wire in packets:
                count += 1
                if ts >= newest:
                    newest = ts
                elif newest - ts > reordering:
                    reordering = self.reordering = newest - ts
                # Ethernet, IPv4 without options, TCP: decoded in one call; the rest by _located.
                if linktype == 1 and e - s >= 54:
                    etype, vihl, total, frag, ttl, proto, key, seq, offset, flags = frame(buf, s)
                    ip_end = s + 14 + total
                    if ip_end > e or total == 0:   # offloaded super-frames: see frames.locate
                        ip_end = e
                    if (etype == 0x0800 and vihl == 0x45 and proto == 6 and not frag & 0x3FFF
                            and s + 54 <= ip_end):
                        alen = 4
                        payload_at = s + 34 + ((offset >> 4) << 2)
                    else:
                        located = _located(buf, s, e, wire, linktype, skipped)
                        if located is None:
                            continue
                        key, alen, ttl, ip_end, flags, seq, payload_at = located
                else:
                    located = _located(buf, s, e, wire, linktype, skipped)
                    if located is None:
                        continue
                    key, alen, ttl, ip_end, flags, seq, payload_at = located
                # -- TCP
                entry = flows.get(key)
                if entry is None:
                    if live and payload_at >= ip_end and not flags & 2:
                        continue
                    entry = self._new_flow(key, alen, ts)
                flow, from_a, side = entry
                flow.last_ts = ts
                flow.packets += 1
                if payload_at >= ip_end and not (flags & 7):
                    # Pure ACK: the fast path.
                    if ttl != side.ttl:
                        side.ttl = ttl
                        side.ttls[ttl] = side.ttls.get(ttl, 0) + 1
                    if closing and ts - closing[0].closed_at >= linger:
                        self._finish_closed(ts)
                    if count >= sweep_at:
                        self.now = ts
                        self._sweep(count)
                        sweep_at = self._sweep_at
                    continue
                if flags & 4:
                    if len(flow.rsts) < 16:
                        flow.rsts.append((ts, from_a, ttl))
                    if flow.closed_at is None:
                        flow.closed_at = ts
                        flow.closed = "rst"
                        self._closed(flow, judge=False)
                    continue
                if ttl != side.ttl:
                    side.ttl = ttl
                    side.ttls[ttl] = side.ttls.get(ttl, 0) + 1
                if flow.state == "other":
                    if flags & 1:
                        self._fin(flow, side, ts)
                    continue
                stream = side.stream
                if flags & 2:
                    stream.syn(seq)
                    if flow.syn_from_a is None and not flags & _ACK:
                        flow.syn_from_a = from_a
                    seq = (seq + 1) & 0xFFFFFFFF
                if payload_at < ip_end:
                    data = stream.segment(seq, buf[payload_at:ip_end])
                    if data:
                        sink = side.sink      # the SMTP session's input for this side, once known
                        if sink is not None:
                            sink(ts, data)
                        else:
                            self.deliver(flow, from_a, ts, data)
                    if stream.gaps and stream.gap_bytes:
                        self._note_gaps(flow, from_a, ts)
                if flags & 1:
                    self._fin(flow, side, ts)
                if closing and ts - closing[0].closed_at >= linger:
                    self._finish_closed(ts)
                if count >= sweep_at:
                    self.now = ts
                    self._sweep(count)
                    sweep_at = self._sweep_at
        except CaptureError as exc:
            self.packets = exc.packets
            raise
        finally:
            self.packets = count
            self._newest = newest
            self.tcp_packets = count - sum(skipped.values())

    # -- flows ----------------------------------------------------------------------
    def _new_flow(self, key: bytes, alen: int, ts: float):
        a_addr = (_address(key[:alen]), int.from_bytes(key[2 * alen:2 * alen + 2], "big"))
        b_addr = (_address(key[alen:2 * alen]), int.from_bytes(key[2 * alen + 2:2 * alen + 4], "big"))
        if len(self.flows) // 2 - self.tombstones >= self.max_open_flows:
            self._evict()
        elif self.tombstones > 4 * self.max_open_flows:
            self._finish_closed(float("inf"), self.max_open_flows // 8)
        flow = Flow(self.next_index, a_addr, b_addr, ts)
        self.next_index += 1
        ports = 2 * alen
        reverse = key[alen:ports] + key[:alen] + key[ports + 2:ports + 4] + key[ports:ports + 2]
        entry = (flow, True, flow.a)
        self.flows[key] = entry
        if reverse != key:
            self.flows[reverse] = (flow, False, flow.b)
        flow.keys = (key, reverse)
        self.unclosed[flow.index] = flow
        self.open_flows_peak = max(self.open_flows_peak, len(self.flows) // 2 - self.tombstones)
        return entry

    def _evict(self) -> None:
        """Finish an eighth of the flows (so eviction stays rare): those already closed and only
        lingering first, then the open ones silent the longest (counted in ``evicted``)."""
        unique = {id(flow): flow for flow, *_ in self.flows.values() if not flow.finished}
        order = sorted(unique.values(), key=lambda f: (f.closed_at is None, f.last_ts))
        for flow in order[:max(1, self.max_open_flows // 8)]:
            if flow.closed_at is None:
                flow.closed = "evicted"
                self.evicted += 1
            self._finish(flow)

    def _fin(self, flow: Flow, side: Side, ts: float) -> None:
        if flow.finished:
            return
        side.fin = True
        # Bytes still missing when a side ends will never come.
        if side.stream.has_pending:
            data = side.stream.skip_gap()
            from_a = side is flow.a
            self._note_gaps(flow, from_a, ts)
            if data:
                self.deliver(flow, from_a, ts, data)
        if flow.a.fin and flow.b.fin and flow.closed_at is None:
            flow.closed_at = ts
            flow.closed = "fin"
            self._closed(flow, judge=True)

    def _closed(self, flow: Flow, *, judge: bool) -> None:
        """FIN both ways: judge the session now (its memory goes) and keep only a tombstone under
        the flow's keys for ``linger`` seconds, so late ACKs and retransmissions do not open a
        new flow. A RST: judge it after ``linger`` (an injected RST may be followed by more of
        the real dialog)."""
        self.unclosed.pop(flow.index, None)
        if judge:
            self._judge(flow)
            self.tombstones += 1
        self.closing.append(flow)
        if flow.closed_at - self.closing[0].closed_at >= self.linger:
            self._finish_closed(flow.closed_at)

    def _note_gaps(self, flow: Flow, from_a: bool, ts: float) -> None:
        side = flow.a if from_a else flow.b
        missing = side.stream.gap_bytes
        side.stream.gap_bytes = 0
        if missing and flow.session is not None:
            flow.session.gap(ts, from_a == flow.a_is_client, missing)

    def deliver(self, flow: Flow, from_a: bool, ts: float, data: bytes) -> None:
        """Bytes now in order from one side: to the session, or kept until the flow is classified."""
        if flow.state == "smtp":
            if from_a == flow.a_is_client:
                flow.session.client_data(ts, data)
            else:
                flow.session.server_data(ts, data)
            return
        if flow.state == "other":
            return
        flow.prefix.append((ts, from_a, data))
        decide(self, flow, ended=False)

    def _finish_closed(self, ts: float, count: int = -1) -> None:
        """Finish the flows that closed ``linger`` seconds before ``ts`` (the oldest first; at most
        ``count`` of them when it is not -1)."""
        closing = self.closing
        while closing and count and ts - closing[0].closed_at >= self.linger:
            self._finish(closing.popleft())
            count -= 1

    def _finish(self, flow: Flow) -> None:
        """Judge the flow if that is not done yet, and forget it."""
        if flow.finished:
            if flow.keys:
                self.tombstones -= 1
        else:
            self._judge(flow)
        for key in flow.keys:
            if self.flows.get(key, (None,))[0] is flow:
                del self.flows[key]
        flow.keys = ()
        self.unclosed.pop(flow.index, None)

    def _judge(self, flow: Flow) -> None:
        """Hand the flow's session (if SMTP) to ``on_session``, then drop its state."""
        if flow.finished:
            return
        flow.finished = True
        try:
            self._result(flow)
        finally:
            flow.state = "other"       # later packets of a tombstone cost one lookup
            flow.session = None
            flow.a.sink = flow.b.sink = None
            flow.prefix = []
            flow.a.stream = flow.b.stream = None

    def _result(self, flow: Flow) -> None:
        if flow.state == "undecided" and flow.prefix:
            decide(self, flow, ended=True)
        if flow.state != "smtp":
            return
        client, server = (flow.a, flow.b) if flow.a_is_client else (flow.b, flow.a)
        for side in (client, server):
            if side.stream.has_pending:
                data = side.stream.skip_gap()
                self._note_gaps(flow, side is flow.a, flow.last_ts)
                if data:
                    self.deliver(flow, side is flow.a, flow.last_ts, data)
        findings = list(packet_findings(flow, client, server))
        tcp = tcp_stats(client, server)
        findings.append(packet_rules.capture_gap(tcp.gaps))
        closed = flow.closed if flow.closed_at is not None else (
            flow.closed if flow.closed in ("idle", "evicted") else "open")
        self.sessions_ended += 1
        self.on_session(flow.session.result(end=flow.last_ts, packets=flow.packets, closed=closed,
                                            tcp=tcp, extra_findings=findings,
                                            number=self.sessions_ended))

    def _sweep(self, count: int) -> None:
        """Finish flows closed ``linger`` seconds ago or idle for ``idle_timeout``.

        The flows in the table are the closed ones still keyed (in ``closing``) and the unclosed
        ones; they are finished in the order they opened."""
        self._sweep_at = count + self.SWEEP_EVERY
        now, linger, idle = self.now, self.linger, self.idle_timeout
        done = self._closed_due(now, linger, idle)
        for flow in done:
            if now - flow.closed_at < linger:
                flow.closed = "idle"
        idle_flows = [flow for flow in self.unclosed.values() if now - flow.last_ts >= idle]
        for flow in idle_flows:
            flow.closed = "idle"
        done += idle_flows
        done.sort(key=attrgetter("index"))
        for flow in done:
            self._finish(flow)

    def _closed_due(self, now: float, linger: float, idle: float) -> list[Flow]:
        """The closed flows whose linger or idle time is over at ``now``, in ``closing`` order.

        Flows enter ``closing`` as they close, so its ``closed_at`` times are in order but for
        the capture's reordering R, and a flow's last packet is at most R older than its close.
        So once a flow closed less than ``min(linger, idle) - 2R`` ago, none after it can be due,
        and the thousands that linger behind it (a busy server's capture) are not visited.
        """
        stop = min(linger, idle) - 2 * self.reordering - _TIME_SLACK
        done = []
        for flow in self.closing:
            age = now - flow.closed_at
            if age < stop:
                break
            # (A flow without keys is finished already, evicted, only not popped yet.)
            if flow.keys and (age >= linger or now - flow.last_ts >= idle):
                done.append(flow)
        return done

    def finish(self) -> None:
        """The capture ended: finish every flow still open."""
        seen = {}
        for flow, *_ in list(self.flows.values()):
            seen[id(flow)] = flow
        for flow in sorted(seen.values(), key=lambda f: f.index):
            self._finish(flow)
