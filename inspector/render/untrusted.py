"""The one rendering policy for text that came from the network or a file, on its way to a terminal.

Every byte a server (or a capture, a certificate, a CA file) chose passes
through :func:`shown` before a text renderer prints it: C0 and C1 controls,
DEL, the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069)
and every other invisible format character (Unicode category Cf: zero-width
joiners, U+FEFF, soft hyphen, ...), line and paragraph separators and
unassigned or surrogate code points become visible escapes (``\\x1b``,
``\\u202e``). A hostile server can then neither move the cursor, recolour
the terminal, nor reorder what the user reads (CVE-2021-42574, "Trojan Source").
JSON output keeps the exact value: escaping is for terminals only.
"""

from __future__ import annotations

import unicodedata

#: Categories never printed raw: format (Cf), line/paragraph separators (Zl, Zp),
#: controls (Cc), surrogates (Cs), private use (Co) and unassigned (Cn).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})

_cache: dict[str, str] = {}


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _needs_escape(char: str) -> bool:
    hit = _cache.get(char)
    if hit is None:
        hit = _cache[char] = (_escape_char(char)
                              if unicodedata.category(char) in _HIDDEN_CATEGORIES else char)
    return hit is not char


def shown(text) -> str:
    """``text`` (str, or bytes decoded as UTF-8 with ``\\xNN`` for bad bytes) safe for a terminal."""
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "backslashreplace")
    elif not isinstance(text, str):
        text = str(text)
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escape_char(c) if _needs_escape(c) else c for c in text)
