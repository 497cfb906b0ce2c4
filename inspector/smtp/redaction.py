"""Secrets, and the redactor: the last line of defence that keeps them out of every output.

It knows the secrets in every encoding that can appear on the wire (raw,
base64 at the three alignments, the exact messages sent) and scrubs them
from any text or bytes kept. :class:`Secret` holds a value whose repr and
str never show it.
"""

from __future__ import annotations

import base64

REDACTED = "[redacted]"


class Secret:
    """A password or token. ``repr``, ``str`` and ``format`` never show it; ``reveal()`` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled")


def base64_forms(secret: bytes) -> tuple[bytes, ...]:
    """The base64 characters that depend only on ``secret``, at each of the 3 alignments.

    Wherever ``secret`` sits inside a base64-encoded message, one of these
    strings appears in the encoding (RFC 4648 §4: 3 bytes → 4 characters).
    """
    forms = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret)
        start = -(-8 * offset // 6)                 # first character made of secret bits only
        end = (8 * (offset + len(secret))) // 6     # last character not touched by what follows
        if end > start:
            forms.append(encoded[start:end])
    return tuple(forms)


class Redactor:
    """Replaces every known form of the secrets with ``[redacted]`` in bytes and text."""

    #: Shorter forms are not scrubbed: they would match random text (a secret that
    #: short is weak anyway, and is still never *sent* to the transcript).
    MIN_FORM = 4

    def __init__(self, secrets=()) -> None:
        self._forms: set[bytes] = set()
        for secret in secrets:
            if secret:
                self.add_secret(secret.reveal().encode() if isinstance(secret, Secret) else secret)

    def add_secret(self, raw: bytes) -> None:
        self.add(raw)
        for form in base64_forms(raw):
            self.add(form)

    def add(self, form: bytes) -> None:
        if len(form) >= self.MIN_FORM:
            self._forms.add(form)

    def scrub_bytes(self, data: bytes) -> tuple[bytes, bool]:
        changed = False
        for form in sorted(self._forms, key=len, reverse=True):
            if form in data:
                data = data.replace(form, REDACTED.encode())
                changed = True
        return data, changed

    def scrub(self, text: str) -> str:
        if not self._forms or text is None:
            return text
        data, changed = self.scrub_bytes(text.encode("utf-8", "surrogateescape"))
        return data.decode("utf-8", "surrogateescape") if changed else text

    def __repr__(self) -> str:
        return f"Redactor({len(self._forms)} forms)"
