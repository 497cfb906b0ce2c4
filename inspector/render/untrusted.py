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

_cache: dict[str, bool] = {}


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _needs_escape(char: str) -> bool:
    """Whether ``char`` is one of the hidden categories (remembered per character: an equal
    string is a different object above U+00FF, so the answer is kept, not compared by identity)."""
    hidden = _cache.get(char)
    if hidden is None:
        hidden = _cache[char] = unicodedata.category(char) in _HIDDEN_CATEGORIES
    return hidden


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


def table(rows, headers, **options) -> str:
    """A tabulate table whose every cell (and header) went through :func:`shown`."""
    from tabulate import tabulate

    options.setdefault("tablefmt", "simple")
    options.setdefault("disable_numparse", True)
    safe_rows = [[shown(cell) if isinstance(cell, str | bytes) else cell for cell in row] for row in rows]
    return tabulate(safe_rows, headers=[shown(h) for h in headers], **options)


#: What the last guard on stdout/stderr escapes if a renderer let it through: C0 except LF, DEL,
#: C1, soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and bidi marks,
#: line/paragraph separators, bidi embeddings/overrides/isolates, invisible operators, BOM,
#: interlinear annotations, surrogates, Unicode tags (a regex character class). Every one of them
#: is non-printable for ``str.isprintable`` (tests/test_attack_secrets.py checks all code points).
GUARDED_CHARACTERS = ("[\x00-\x09\x0b-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e"
                      "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]")
_GUARD = None


def guard(text: str) -> str:
    """The final pass on every write to a terminal stream: leftovers become ``\\xNN``/``\\uXXXX``
    escapes (``\\uXXXX`` from DEL up, so a JSON document stays valid JSON)."""
    global _GUARD
    if text.replace("\n", "").isprintable():
        return text     # nothing to escape; most writes end here, before the regex (~1 ms to compile)
    if _GUARD is None:
        import re

        _GUARD = re.compile(GUARDED_CHARACTERS)
    if not _GUARD.search(text):
        return text
    return _GUARD.sub(lambda m: (f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x7F
                                 else f"\\u{ord(m.group()):04x}"), text)
