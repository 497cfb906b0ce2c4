"""Replay a capture file: the whole pipeline behind ``smtp-inspector replay``.

``replay_file`` never raises for a bad file except :class:`CaptureError`
when nothing at all could be read (not a capture, empty, unreadable). A file
that breaks off or turns corrupt part-way still gives the sessions read
before that point, with ``error`` saying what happened.
"""

from __future__ import annotations

import heapq
from array import array

from ..collector import tuned_for_batch
from ..frozen import frozen, replace
from ..net.files import open_stream
from ..net.transport import os_reason
from .flows import FlowTable
from .pcap import CaptureError, open_capture
from .session import SessionResult

#: Sessions kept in full (the first by connection order); past this only counts are kept, so
#: memory stays bounded whatever the capture holds (100,000 sessions would need ~400 MB).
MAX_SESSIONS_KEPT = 2000


@frozen
class ReplayResult:
    source: str
    format: str
    packets: int
    tcp_packets: int
    skipped: dict
    sessions: tuple[SessionResult, ...]
    open_flows_peak: int
    error: str | None = None      #: why reading stopped early (truncated or corrupt), else None
    truncated: bool = False
    evicted: int = 0              #: sessions finished early: too many flows open at once

    evicted: int = 0              #: sessions finished early: too many flows open at once
    sessions_total: int = 0       #: every SMTP session seen, kept in ``sessions`` or not
    #: ``(finding id, severity, count)`` of the sessions not kept (past MAX_SESSIONS_KEPT)
    omitted_findings: tuple = ()

    @property
    def findings(self):
        return tuple(f for s in self.sessions for f in s.findings)

    @property
    def worst_severities(self) -> set:
        """Severities of every finding, kept sessions and omitted ones alike (for the exit code)."""
        return {f.severity for f in self.findings} | {severity for _, severity, _ in self.omitted_findings}

    def session(self, number: int) -> SessionResult | None:
        return next((s for s in self.sessions if s.number == number), None)


class _SessionStore:
    """The first MAX_SESSIONS_KEPT sessions by connection order, the ``wanted`` flow always, and
    counts of the rest (a max-heap on flow index: the latest-opened kept session leaves first)."""

    def __init__(self, wanted: int | None, limit: int = MAX_SESSIONS_KEPT) -> None:
        self.limit = limit
        self.wanted = wanted
        self.heap: list[tuple[int, int, SessionResult]] = []
        self.wanted_result: SessionResult | None = None
        self.flow_indexes = array("q")
        self.before_wanted = 0
        self.omitted: dict[tuple[str, object], int] = {}

    def add(self, result: SessionResult) -> None:
        self.flow_indexes.append(result.flow_index)
        if self.wanted is not None:
            if result.flow_index == self.wanted:
                self.wanted_result = result
                return
            self.before_wanted += result.flow_index < self.wanted
        heapq.heappush(self.heap, (-result.flow_index, id(result), result))
        if len(self.heap) > self.limit:
            _, _, dropped = heapq.heappop(self.heap)
            for finding in dropped.findings:
                key = (finding.id, finding.severity)
                self.omitted[key] = self.omitted.get(key, 0) + 1

    def will_drop(self, flow_index: int) -> bool:
        """True when the session of ``flow_index`` cannot be kept whenever it ends: the store is
        full of sessions opened before it (and the kept ones only get earlier)."""
        heap = self.heap
        return (0 < self.limit <= len(heap) and flow_index > -heap[0][0]
                and flow_index != self.wanted)

    def numbered(self) -> tuple[SessionResult, ...]:
        ordered = sorted((entry[2] for entry in self.heap), key=lambda r: r.flow_index)
        numbered = [replace(r, number=i) for i, r in enumerate(ordered, 1)]
        if self.wanted_result is not None:
            numbered.append(replace(self.wanted_result, number=self.before_wanted + 1))
            numbered.sort(key=lambda r: r.flow_index)
        return tuple(numbered)

    def flow_of(self, number: int) -> int | None:
        """The flow index of session ``number`` (1 = first by connection order)."""
        if not 1 <= number <= len(self.flow_indexes):
            return None
        return sorted(self.flow_indexes)[number - 1]


def replay_stream(stream, *, source: str = "-", keep_transcript=None, cafile: str | None = None,
                  idle_timeout: float = 600.0, on_session=None, live: bool = False) -> ReplayResult:
    """Read every packet of ``stream`` and judge the SMTP sessions in it.

    Args:
        keep_transcript: None (no transcripts), "all", or a set of flow indexes.
        on_session: streaming: called with each session as it ends (numbered in the order
            sessions end); the result then keeps none of them, only their counts, so memory is
            bounded by the flows open at once.
        live: the input is a pipe being written (``replay -``): a session ends at its FIN/RST.

    Raises:
        CaptureError: the stream is not a pcap/pcapng capture at all.
    """
    fmt, packets = open_capture(stream)
    store = _SessionStore(next(iter(keep_transcript)) if isinstance(keep_transcript, set)
                          and len(keep_transcript) == 1 else None,
                          limit=0 if on_session is not None else MAX_SESSIONS_KEPT)
    add = store.add
    if on_session is not None:
        def add(result):  # numbered by the table in the order sessions end
            store.add(result)
            on_session(result)
    table = FlowTable(add, keep_transcript=keep_transcript, cafile=cafile,
                      idle_timeout=idle_timeout, live=live,
                      findings_only=store.will_drop if on_session is None else None)
    error, truncated, interrupted = None, False, False
    with tuned_for_batch():
        try:
            table.run(packets)
        except CaptureError as exc:
            error, truncated = str(exc), exc.truncated
        except KeyboardInterrupt:
            interrupted = True
        table.finish()
    omitted = tuple((fid, severity, n) for (fid, severity), n in sorted(store.omitted.items(),
                                                                       key=lambda kv: kv[0][0]))
    result = ReplayResult(source, fmt, table.packets, table.tcp_packets, dict(table.skipped),
                          store.numbered(), table.open_flows_peak, error, truncated, table.evicted,
                          len(store.flow_indexes), omitted)
    result.__dict__["_store"] = store   # replay_file's second pass asks it for a flow index
    result.__dict__["interrupted"] = interrupted
    return result


def replay_file(path: str, *, session: int | None = None, all_transcripts: bool = False,
                cafile: str | None = None, idle_timeout: float = 600.0) -> ReplayResult:
    """Replay a file; with ``session`` N, a second pass keeps that session's transcript.

    Raises:
        CaptureError: the file cannot be opened or is not a capture.
    """
    def run(keep):
        try:
            with open_stream(path) as stream:
                return replay_stream(stream, source=path, keep_transcript=keep, cafile=cafile,
                                     idle_timeout=idle_timeout)
        except OSError as exc:
            raise CaptureError(f"cannot read {path}: {os_reason(exc)}") from None

    if all_transcripts:
        return run("all")
    result = run(None)
    if session is None or not 1 <= session <= result.sessions_total:
        return result
    return run({result.__dict__["_store"].flow_of(session)})


def parse_capture_bytes(data: bytes, *, transcripts: bool = True) -> ReplayResult:
    """Parse a whole capture held in memory (the fuzzing entry point).

    Raises:
        CaptureError: and nothing else, for any input that is not a complete,
            well-formed capture.
    """
    import io

    result = replay_stream(io.BytesIO(data), keep_transcript="all" if transcripts else None)
    if result.error:
        raise CaptureError(result.error, truncated=result.truncated, packets=result.packets)
    return result
