"""TCP reassembly for one direction of a connection (RFC 9293 §3.4, §3.10.7.4).

Segments are placed by sequence number relative to the first one seen (or
the SYN). In-order bytes are handed out at once; early segments wait in a
bounded store; segments that repeat bytes already delivered are counted as
retransmissions, and when they carry *different* bytes than the first copy
(checked against a short tail of delivered bytes) as conflicts, the mark of
an injected segment. When the store passes its cap, or the stream ends with
bytes missing, the hole is skipped and counted as a gap.
"""

from __future__ import annotations

_MASK = 0xFFFFFFFF
_HALF = 1 << 31
#: Out-of-order bytes kept per direction before a hole is given up on.
MAX_PENDING_BYTES = 1 << 18
#: Delivered bytes kept to compare retransmissions against.
TAIL_BYTES = 4096


class Reassembler:
    """One direction's byte stream; ``segment`` returns the bytes now in order."""

    __slots__ = ("base", "next", "pending", "pending_bytes", "chunks", "kept",
                 "retransmissions", "out_of_order", "overlaps", "conflicts", "gaps", "gap_bytes",
                 "conflict_evidence")

    def __init__(self) -> None:
        self.base: int | None = None   #: sequence number of stream offset 0
        self.next = 0                  #: stream offset expected next
        self.pending: dict[int, bytes] = {}
        self.pending_bytes = 0
        #: The last delivered bytes, as the segments that brought them (joined only to compare a
        #: retransmission): at least the last TAIL_BYTES of the stream, each chunk at most that.
        self.chunks: list[bytes] = []
        self.kept = 0                  #: bytes in ``chunks``
        self.retransmissions = 0
        self.out_of_order = 0
        self.overlaps = 0
        self.conflicts = 0
        self.gaps = 0
        self.gap_bytes = 0
        self.conflict_evidence: str | None = None

    def syn(self, seq: int) -> None:
        """A SYN: data starts at seq + 1 (the SYN takes one number)."""
        if self.base is None:
            self.base = (seq + 1) & _MASK

    def segment(self, seq: int, payload: bytes) -> bytes:
        """Place one segment's payload; return the bytes that are now in order (maybe b"")."""
        base = self.base
        if base is None:
            self.base = base = seq
        off = (seq - base) & _MASK
        if off >= _HALF:
            off -= 1 << 32
        nxt = self.next
        if off == nxt:
            if self.pending:
                return self._drain(payload)
            self._deliver(payload)
            return payload
        end = off + len(payload)
        if off < nxt:
            self._compare(off, payload[:nxt - off] if end > nxt else payload)
            if end <= nxt:
                self.retransmissions += 1
                return b""
            self.overlaps += 1
            payload = payload[nxt - off:]
            if self.pending:
                return self._drain(payload)
            self._deliver(payload)
            return payload
        # A hole before this segment: keep it for later.
        self.out_of_order += 1
        old = self.pending.get(off)
        if old is None or len(old) < len(payload):
            self.pending_bytes += len(payload) - (len(old) if old else 0)
            self.pending[off] = payload
        if self.pending_bytes > MAX_PENDING_BYTES:
            return self.skip_gap()
        return b""

    def _deliver(self, data: bytes) -> None:
        size = len(data)
        self.next += size
        chunks = self.chunks
        if size >= TAIL_BYTES:
            chunks.clear()
            chunks.append(data[-TAIL_BYTES:] if size > TAIL_BYTES else data)
            self.kept = TAIL_BYTES
            return
        chunks.append(data)
        kept = self.kept + size
        while kept - len(chunks[0]) >= TAIL_BYTES:   # the oldest chunk is all before the tail
            kept -= len(chunks.pop(0))
        self.kept = kept

    def _compare(self, off: int, data: bytes) -> None:
        """A retransmitted range must carry the bytes delivered first (the last TAIL_BYTES)."""
        tail_start = self.next - min(self.kept, TAIL_BYTES)
        start = max(off, tail_start)
        stop = min(off + len(data), self.next)
        if start >= stop:
            return
        tail = b"".join(self.chunks)[-TAIL_BYTES:]
        first = tail[start - tail_start:stop - tail_start]
        again = data[start - off:stop - off]
        if first != again:
            self.conflicts += 1
            if self.conflict_evidence is None:
                self.conflict_evidence = (f"bytes {start}-{stop} first carried {first[:40]!r}, "
                                          f"a later segment {again[:40]!r}")

    def _drain(self, data: bytes) -> bytes:
        """Deliver ``data`` and whatever waiting segments now fit after it."""
        parts = [data]
        self._deliver(data)
        pending = self.pending
        while pending:
            nxt = self.next
            piece = pending.pop(nxt, None)
            if piece is None:
                # A waiting segment may start before ``next`` and reach past it.
                for off in sorted(pending):
                    if off > nxt:
                        break
                    piece = pending.pop(off)
                    self.pending_bytes -= len(piece)
                    self._compare(off, piece[:nxt - off])
                    if off + len(piece) > nxt:
                        self.overlaps += 1
                        piece = piece[nxt - off:]
                        break
                    self.retransmissions += 1
                    piece = None
                if piece is None:
                    break
            else:
                self.pending_bytes -= len(piece)
            parts.append(piece)
            self._deliver(piece)
        return b"".join(parts)

    def skip_gap(self) -> bytes:
        """Give up on the first hole: count it and return what follows it, in order."""
        if not self.pending:
            return b""
        first = min(self.pending)
        if first <= self.next:
            return self._drain(b"")
        self.gaps += 1
        self.gap_bytes += first - self.next
        self.next = first
        self.chunks.clear()
        self.kept = 0
        return self._drain(b"")

    @property
    def has_pending(self) -> bool:
        return bool(self.pending)
