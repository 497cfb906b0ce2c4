"""How a message body appears in the transcript: the headers, then a bounded part of the body.

The body is never kept past the bound unless asked (``-v``); what is cut is
said in one marker line, so a reader of a saved transcript knows it is not
the whole message. Lines are shown as they went on the wire (dot-stuffed
lines with their extra dot, RFC 5321 §4.5.2).
"""

from __future__ import annotations

#: Body lines shown after the headers (without -v).
BODY_LINES_SHOWN = 12
#: Header lines shown at most (a hostile --data could hold thousands).
HEADER_LINES_SHOWN = 60


def shown_message(body: bytes, *, show_all: bool, end: bytes) -> bytes | None:
    """The transcript form of ``body`` + ``end``; None when everything is shown (``-v``)."""
    if show_all:
        return None
    lines = body.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    try:
        blank = lines.index(b"")
    except ValueError:
        blank = len(lines)
    keep = min(blank, HEADER_LINES_SHOWN) + 1 + BODY_LINES_SHOWN
    if len(lines) <= keep:
        return None
    cut = lines[keep:]
    octets = sum(len(line) + 2 for line in cut)
    marker = (f"[smtp-inspector: {len(cut)} more line(s), {octets} octets, sent but not shown; "
              "-v shows the whole message]").encode()
    return b"\r\n".join(lines[:keep]) + b"\r\n" + marker + b"\r\n" + end
