"""A session's transcript (the JSON ``transcript`` list) → the rows of a ladder diagram.

Pure and I/O-free: entries in, frozen rows with coordinates out; the SVG
template only draws them. One arrow per command line the client sent and one
per reply the server sent (a multi-line reply is one arrow, RFC 5321 §4.2.1),
in transcript order; notes are thin rows between them. Nothing is judged here:
an arrow is drawn *unexpected* when no command was waiting for it (bytes
injected after the STARTTLS 220, RFC 3207 §4.2) or when the client pipelined a
line after STARTTLS in the same write; findings come from the judged results
and are only pinned to the step they belong to (``pins.py``).
"""

from __future__ import annotations

import re

from ...frozen import field, frozen, mutable
from .pins import StepTracker
from .wrap import display, fold

# Geometry (SVG user units; monospace text, so widths follow the character count).
WIDTH = 1000
TIME_X = 64            # right edge of the time column
CLIENT_X = 104
SERVER_X = 560
NOTE_X = 590           # left edge of the annotation column (pins, teaching notes)
NOTE_W = 404
NOTE_ROW_CHARS = 68    # notes: 10.5 px italic
LABEL_CHARS = 62       # 11.5 px monospace ≈ 6.9 px per character: 62 fit between the lifelines
NOTE_CHARS = 57        # 11 px monospace in the 404-unit column
LINE_H = 14
SUB_H = 13
PAD = 7
BAND_HEAD = 18         # the TLS band's label line
TOP = 44               # room for the lifeline heads

_REPLY_CONTINUES = re.compile(r"^\d{3}-")
_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


@frozen
class Arrow:
    """One command (client → server) or one reply (server → client)."""

    index: int
    kind: str                      # "command" | "reply"
    t: float
    tls: bool
    step: str
    label: tuple[str, ...]         # the first line, folded
    more: tuple[str, ...]          # the other lines of a multi-line reply, folded
    unexpected: str | None = None  # why it is drawn as injected/unexpected
    redacted: bool = False
    code: str | None = None
    size: int = 0                  # bytes on the wire (as the transcript has them, CRLF included)
    message: bool = False          # message content (after 354, or with BDAT): one arrow, not one per line


@frozen
class Note:
    t: float
    tls: bool
    step: str
    text: tuple[str, ...]


@mutable
class Row:
    """A horizontal band of the diagram: an arrow or a note, plus what is pinned beside it."""

    number: int
    item: Arrow | Note
    y: float = 0.0
    height: float = 0.0
    pins: list = field(default_factory=list)      # Pin (findings), laid out in the annotation column
    teaching: tuple[str, ...] = ()
    teaching_y: float = 0.0

    @property
    def is_arrow(self) -> bool:
        return isinstance(self.item, Arrow)

    @property
    def arrow_y(self) -> float:
        """Where the arrow's line is drawn (below its label)."""
        return self.y + PAD + len(self.item.label) * LINE_H + 2


def arrows_and_notes(entries) -> list[Arrow | Note]:
    """Group the transcript's chunks into commands, replies and notes, in order."""
    items: list[Arrow | Note] = []
    tracker = StepTracker()
    pending = 1  # the greeting (RFC 5321 §3.1)
    reply_lines: list[str] = []
    reply_size = 0
    reply_meta: dict = {}
    partial = ""
    partial_meta: dict = {}

    def finish_reply() -> None:
        nonlocal pending, reply_lines, reply_meta, reply_size
        if not reply_lines:
            return
        first = reply_lines[0]
        code = first[:3] if first[:3].isdigit() else None
        unexpected = None
        if pending <= 0:
            unexpected = "no command was waiting for this reply"
        elif code is None:
            unexpected = "not an SMTP reply line"
        pending = max(pending - 1, 0)
        label = fold(display(first), LABEL_CHARS)
        more = tuple(part for line in reply_lines[1:] for part in fold(display(line), LABEL_CHARS))
        if unexpected:
            more += (f"⚠ unexpected: {unexpected}",)
        items.append(Arrow(len(items), "reply", reply_meta["t"], reply_meta["tls"], reply_meta["step"],
                           label, more, unexpected, reply_meta["redacted"], code, reply_size))
        reply_lines, reply_meta, reply_size = [], {}, 0

    def take_line(line: str, meta: dict, incomplete: bool = False, size: int = 0) -> None:
        nonlocal reply_size
        if not reply_lines:
            reply_meta.update(meta)
        reply_lines.append(line)
        reply_size += size
        if incomplete or not _REPLY_CONTINUES.match(line):
            finish_reply()

    def flush_partial() -> None:
        nonlocal partial
        if partial:
            take_line(partial + " [no line end]", partial_meta, incomplete=True, size=_size(partial))
            partial = ""
        finish_reply()

    for entry in entries:
        direction, text, tls = entry.get("direction"), entry.get("text", ""), bool(entry.get("tls"))
        if direction == "recv":
            step = tracker.step_for_reply(entry.get("step"), tls)
            meta = {"t": entry["t"], "tls": tls, "step": step, "redacted": bool(entry.get("redacted"))}
            data, first_meta = partial + text, (partial_meta if partial else meta)
            partial = ""
            for number, line in enumerate(_lines(data)):
                line_meta = first_meta if number == 0 else meta
                if line.endswith("\n"):
                    take_line(line.rstrip("\r\n"), line_meta, size=_size(line))
                else:
                    partial, partial_meta = line, line_meta
            continue
        flush_partial()
        message = message_arrow(entry, items, tracker.current) if direction == "send" else None
        if message is not None:
            if not continues_message(items):
                pending += 1  # the reply after the final dot, or to BDAT (RFC 5321 §4.1.1.4, RFC 3030 §2)
            items.append(message)
        elif direction == "send":
            after_starttls = False
            for raw in _lines(text) or [text]:
                line = raw.rstrip("\r\n")
                step = tracker.step_for_command(entry.get("step"), line, tls)
                unexpected = None
                if after_starttls:
                    unexpected = "pipelined after STARTTLS in the same write"
                if line.strip().upper() == "STARTTLS":
                    after_starttls = True
                pending += 1
                items.append(Arrow(len(items), "command", entry["t"], tls, step,
                                   fold(display(line), LABEL_CHARS),
                                   (f"⚠ injected: {unexpected}",) if unexpected else (), unexpected,
                                   bool(entry.get("redacted")), None, _size(raw)))
        elif direction == "note":
            step = tracker.step_for_note(entry.get("step"), tls)
            items.append(Note(entry["t"], tls, step, fold(display(text), NOTE_ROW_CHARS)))
    flush_partial()
    return items


#: Lines of a message drawn beneath its arrow (the transcript itself is already bounded).
MESSAGE_LINES_SHOWN = 6


def message_arrow(entry, items, current_step: str) -> Arrow | None:
    """The message a client sent after ``354`` (or with ``BDAT``) as one arrow, not one per line.

    Its label says what it is and how big; the first lines go beneath it.
    """
    text = entry.get("text", "")
    first = text.split("\n", 1)[0].rstrip("\r")
    last = next((item for item in reversed(items) if isinstance(item, Arrow)), None)
    after_354 = last is not None and ((last.kind == "reply" and last.code == "354")
                                      or continues_message(items))
    if not (after_354 or first.upper().startswith("BDAT ")):
        return None
    lines = [line.rstrip("\r\n") for line in _lines(text)]
    head = f"{first} + message" if not after_354 else "message"
    label = fold(display(f"{head}: {len(lines)} line(s), {_size(text)} octets as sent"), LABEL_CHARS)
    shown = lines[1:] if not after_354 else lines
    more = tuple(part for line in shown[:MESSAGE_LINES_SHOWN] for part in fold(display(line), LABEL_CHARS))
    if len(shown) > MESSAGE_LINES_SHOWN:
        more += (f"… {len(shown) - MESSAGE_LINES_SHOWN} more line(s)",)
    return Arrow(len(items), "command", entry["t"], bool(entry.get("tls")), entry.get("step") or current_step,
                 label, more, None, bool(entry.get("redacted")), None, _size(text), message=True)


def continues_message(items) -> bool:
    """The last arrow is message content with no reply since: a further chunk of the same message."""
    last = next((item for item in reversed(items) if isinstance(item, Arrow)), None)
    return last is not None and last.message


def _lines(text: str) -> list[str]:
    """SMTP lines end at LF (RFC 5321 §2.3.8); each keeps its line end."""
    return _LINE.findall(text)


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def layout(items, *, pins_by_row=None, teaching_by_row=None) -> tuple[list[Row], float]:
    """Give every row a y and a height so that labels, pins and notes never overlap."""
    pins_by_row = pins_by_row or {}
    teaching_by_row = teaching_by_row or {}
    rows: list[Row] = []
    y = TOP
    in_tls = False
    for number, item in enumerate(items):
        if item.tls and not in_tls:
            y += BAND_HEAD  # room for the band's label above its first row
        in_tls = item.tls
        row = Row(number, item, pins=list(pins_by_row.get(number, ())),
                  teaching=tuple(teaching_by_row.get(number, ())))
        if isinstance(item, Arrow):
            main = PAD + len(item.label) * LINE_H + 8 + len(item.more) * SUB_H + PAD
        else:
            main = 4 + len(item.text) * SUB_H + 4
        side = 0.0
        if row.teaching:
            row.teaching_y = y + side + 4
            side += 8 + len(row.teaching) * SUB_H + 8
        for pin in row.pins:
            pin.y = y + side + 4
            side += pin.height + 6
        row.y, row.height = y, max(main, side + 2)
        y += row.height
        rows.append(row)
    return rows, y + 24


def tls_span(rows) -> tuple[float, float] | None:
    """The vertical extent of the rows inside TLS (for the shaded band)."""
    inside = [r for r in rows if r.item.tls]
    if not inside:
        return None
    return inside[0].y - BAND_HEAD, inside[-1].y + inside[-1].height


def handshake_row(rows) -> Row | None:
    """The first row inside TLS: where the handshake mark is drawn."""
    return next((r for r in rows if r.item.tls), None)
