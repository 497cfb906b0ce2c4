"""The flow table's sweep (linger and idle timeouts) picks exactly the closed flows a scan of
all of them picks, in time order or not, without visiting the ones lingering behind."""

from __future__ import annotations

import io
import random
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.replay.flows import FlowTable
from inspector.replay.pcap import open_capture
from inspector.replay.writer import CaptureWriter, TcpConversation

GREETING = b"220 mx.example ESMTP\r\n"


def _capture(sessions: int, *, spacing: float, jitter: float, seed: int, resets: int) -> bytes:
    """``sessions`` short SMTP dialogs starting ``spacing`` seconds apart (written one after the
    other, so they overlap in time when the spacing is short); every ``resets``-th ends with a
    RST and every one after it stays open; each frame's time moved by up to ``jitter``."""
    rng = random.Random(seed)
    out = io.BytesIO()
    writer = CaptureWriter(out)

    def emit(ts, frame):
        writer.write(max(0.0, ts + rng.uniform(-jitter, jitter)) if jitter else ts, frame)

    ts = 1_700_000_000.0
    for index in range(sessions):
        conv = TcpConversation(emit, ("192.0.2.10", 20000 + index), ("192.0.2.25", 25),
                               checksums=False)
        end = conv.handshake(ts)
        end = conv.send(end, False, GREETING)
        end = conv.send(end, True, b"QUIT\r\n")
        end = conv.send(end, False, b"221 Bye\r\n")
        if resets and index % resets == 0:
            conv.reset(end, True)
        elif not resets or index % resets != 1:
            conv.close(end)
        ts += spacing
    return out.getvalue()


class _CountingDeque(deque):
    """``closing``, counting the flows the sweeps visit."""

    visited = 0

    def __iter__(self):
        for item in super().__iter__():
            self.visited += 1
            yield item


class _CheckedTable(FlowTable):
    """Sweeps every few packets and compares the sweep's choice with a scan of every flow."""

    SWEEP_EVERY = 7

    def __init__(self, **options) -> None:
        super().__init__(lambda result: None, **options)
        self.sweeps = 0
        self.picked = 0

    def _closed_due(self, now, linger, idle):
        due = super()._closed_due(now, linger, idle)
        everyone = [flow for flow in self.closing
                    if flow.keys and (now - flow.closed_at >= linger or now - flow.last_ts >= idle)]
        assert due == everyone, (now, linger, idle, self.reordering)
        self.sweeps += 1
        self.picked += len(due)
        return due


def _run(table: FlowTable, data: bytes) -> None:
    _fmt, packets = open_capture(io.BytesIO(data))
    table.run(packets)
    table.finish()


@settings(max_examples=60, deadline=None)
@given(sessions=st.integers(5, 60), spacing=st.sampled_from([0.0002, 0.003, 0.05, 0.7]),
       jitter=st.sampled_from([0.0, 0.00005, 0.002, 0.4, 3.0]), seed=st.integers(0, 1000),
       resets=st.sampled_from([0, 3, 5]),
       idle=st.sampled_from([0.0001, 0.004, 0.1, 2.0, 600.0]),
       linger=st.sampled_from([0.001, 0.05, 5.0]))
def test_sweep_picks_what_a_full_scan_picks(sessions, spacing, jitter, seed, resets, idle, linger):
    table = _CheckedTable(idle_timeout=idle, linger=linger)
    _run(table, _capture(sessions, spacing=spacing, jitter=jitter, seed=seed, resets=resets))
    assert table.sweeps > 0


def test_sweep_finds_rst_and_idle_flows_due():
    """RST-closed flows wait their linger; with an idle timeout below it they end as idle."""
    table = _CheckedTable(idle_timeout=0.01, linger=5.0)
    _run(table, _capture(40, spacing=0.05, jitter=0.001, seed=1, resets=4))
    assert table.picked > 0 and table.reordering > 0


def test_sweep_skips_the_flows_lingering_behind():
    """1,500 closed flows linger (5 s) while the sweep runs 100 times: it stops at the first."""
    table = FlowTable(lambda result: None, idle_timeout=600.0)
    table.closing = _CountingDeque()
    data = _capture(1500, spacing=0.001, jitter=0.0001, seed=2, resets=0)
    _fmt, packets = open_capture(io.BytesIO(data))
    table.SWEEP_EVERY = 180   # about 100 sweeps over the 18,000 frames
    table.run(packets)
    assert len(table.closing) > 1000
    assert table.closing.visited < 300
