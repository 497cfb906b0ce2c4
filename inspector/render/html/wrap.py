"""Text as the report shows it: control characters visible, long lines folded.

Escaping for HTML is Jinja2's autoescaping; this only makes bytes from the
server readable (``\\x1b`` instead of an invisible character) and cuts lines
to a width the monospace SVG text can hold.
"""

from __future__ import annotations

import textwrap

_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F) if code != 0x09}
_CONTROLS[0x09] = "\\t"


def display(text: str) -> str:
    """``text`` without its line end, with control characters shown escaped."""
    return text.rstrip("\r\n").translate(_CONTROLS)


def fold(text: str, width: int, *, limit: int = 8) -> tuple[str, ...]:
    """``text`` in lines of at most ``width`` characters (words kept whole where they fit).

    At most ``limit`` lines; the last says how many characters were left out.
    """
    if len(text) <= width:
        return (text,)
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False,
                          drop_whitespace=False, replace_whitespace=False) or [text[:width]]
    lines = [line.rstrip() or line for line in lines]
    if len(lines) > limit:
        rest = sum(len(line) for line in lines[limit - 1:])
        lines = lines[:limit - 1] + [f"… ({rest} more characters)"]
    return tuple(lines)


def wrap_all(texts, width: int, *, limit: int = 8) -> tuple[str, ...]:
    return tuple(part for text in texts if text for part in fold(display(text), width, limit=limit))
