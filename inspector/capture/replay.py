"""Replay a capture file: the whole pipeline behind ``smtp-inspector replay``.

``replay_file`` never raises for a bad file except :class:`CaptureError`
when nothing at all could be read (not a capture, empty, unreadable). A file
that breaks off or turns corrupt part-way still gives the sessions read
before that point, with ``error`` saying what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .flows import FlowTable
from .pcap import CaptureError, open_capture
from .smtp_session import SessionResult


@dataclass(frozen=True)
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

    @property
    def findings(self):
        return tuple(f for s in self.sessions for f in s.findings)


def replay_stream(stream, *, source: str = "-", keep_transcript=None, cafile: str | None = None,
                  idle_timeout: float = 600.0) -> ReplayResult:
    """Read every packet of ``stream`` and judge the SMTP sessions in it.

    Args:
        keep_transcript: None (no transcripts), "all", or a set of flow indexes.

    Raises:
        CaptureError: the stream is not a pcap/pcapng capture at all.
    """
    fmt, packets = open_capture(stream)
    sessions: list[SessionResult] = []
    table = FlowTable(sessions.append, keep_transcript=keep_transcript, cafile=cafile,
                      idle_timeout=idle_timeout)
    error, truncated = None, False
    try:
        table.run(packets)
    except CaptureError as exc:
        error, truncated = str(exc), exc.truncated
    table.finish()
    ordered = sorted(sessions, key=lambda s: s.flow_index)
    numbered = tuple(replace(s, number=i) for i, s in enumerate(ordered, 1))
    return ReplayResult(source, fmt, table.packets, table.tcp_packets, dict(table.skipped), numbered,
                        table.open_flows_peak, error, truncated)


def replay_file(path: str, *, session: int | None = None, all_transcripts: bool = False,
                cafile: str | None = None, idle_timeout: float = 600.0) -> ReplayResult:
    """Replay a file; with ``session`` N, a second pass keeps that session's transcript.

    Raises:
        CaptureError: the file cannot be opened or is not a capture.
    """
    def run(keep):
        try:
            from ..files import open_stream

            with open_stream(path) as stream:
                return replay_stream(stream, source=path, keep_transcript=keep, cafile=cafile,
                                     idle_timeout=idle_timeout)
        except OSError as exc:
            raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from None

    if all_transcripts:
        return run("all")
    result = run(None)
    if session is None or not 1 <= session <= len(result.sessions):
        return result
    chosen = result.sessions[session - 1]
    again = run({chosen.flow_index})
    return again


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
