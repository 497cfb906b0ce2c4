"""A timestamped record of every byte of a session, as data (renderers are elsewhere).

Each entry is one chunk as it crossed the socket (so segment boundaries stay
visible), or a local note. Secrets never enter: a caller that sends one passes
``shown=`` with the redacted form, and only that form is stored. A server that
echoes a secret is caught on the reassembled stream of each direction when the
transcript is frozen (:func:`inspector.redaction.redact_stream`), so a secret
split over TCP segments is found as well.
"""

from __future__ import annotations

import time

from .frozen import field, frozen, mutable

SEND, RECV, NOTE = "send", "recv", "note"


@frozen
class Entry:
    t: float            #: seconds since the transcript began
    direction: str      #: "send", "recv" or "note"
    tls: bool           #: inside TLS
    data: bytes         #: the bytes (notes: UTF-8 text)
    step: str | None = None
    redacted: bool = False

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "backslashreplace")


@mutable
class Transcript:
    """Append-only; ``freeze()`` gives the tuple stored in results."""

    started: float = field(default_factory=time.monotonic)
    wall_start: float = field(default_factory=time.time)
    entries: list[Entry] = field(default_factory=list)
    #: Total bytes kept; beyond ``limit`` received chunks are cut (the parser caps stop sooner).
    kept: int = 0
    limit: int = 2 * 1024 * 1024
    #: The AUTH step installs the Redactor here; ``freeze()`` applies it to each direction's stream.
    redactor: object = field(default=None, repr=False)

    def _now(self) -> float:
        return time.monotonic() - self.started

    def sent(self, data: bytes, *, tls: bool, step: str | None, shown: bytes | None = None) -> None:
        self._add(Entry(self._now(), SEND, tls, data if shown is None else shown, step,
                        redacted=shown is not None))

    def received(self, data: bytes, *, tls: bool, step: str | None) -> None:
        self._add(Entry(self._now(), RECV, tls, data, step))

    def note(self, text: str, *, tls: bool, step: str | None) -> None:
        self._add(Entry(self._now(), NOTE, tls, text.encode("utf-8"), step))

    def _add(self, entry: Entry) -> None:
        room = self.limit - self.kept
        if room <= 0:
            return
        if len(entry.data) > room:
            entry = Entry(entry.t, entry.direction, entry.tls, entry.data[:room], entry.step,
                          entry.redacted)
        self.kept += len(entry.data)
        self.entries.append(entry)

    def freeze(self) -> tuple[Entry, ...]:
        if self.redactor is None:
            return tuple(self.entries)
        from .redaction import redact_stream

        return redact_stream(self.entries, self.redactor, directions=(SEND, RECV))
