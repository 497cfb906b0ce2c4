"""The one redaction function: secrets out of every byte and text this tool writes.

A secret (password, token, and what is derived from it: the CRAM-MD5 digest,
the SCRAM client proof, the exact AUTH lines sent) is known here in every form
in which it can reach an output: raw; base64, base64url and base32 at every
alignment (only the characters that depend on the secret alone, RFC 4648
§4-§6); hex in both cases; percent-encoding; latin-1 and UTF-16 (LE, BE);
and each of those as text renderers write it (the Python-escaped forms of
``repr``, JSON escapes, the terminal escapes of :mod:`inspector.render.untrusted`).

Where a text was cut (a server that truncates its echo, our own quoting of a
long reply), a prefix or suffix of any form counts too, once it is at least
:data:`MIN_PIECE` characters long and ends (starts) at a cut: the end of the
text or a character that cannot continue the form.

Two places use it:

* :func:`redact_stream` finds secrets in the reassembled byte stream of each
  direction of a transcript (so a secret split over TCP segments is found)
  and rebuilds the chunks without them;
* :func:`scrub_output` is applied on the way out, to everything written to
  stdout, stderr and saved files. It leaves our own explanatory phrases alone
  (:func:`own_words`): redacting "wrong" inside "wrong user name or password"
  would tell the reader the password.

The process-wide :func:`default` redactor holds every secret read from the
command line, a password file or the environment, and what the AUTH step
derives from them.
"""

from __future__ import annotations

import threading

REDACTED = "[redacted]"
#: A whole form shorter than this is not scrubbed (it would match random text).
MIN_FORM = 4
#: A cut prefix or suffix of a form is scrubbed from this many characters on.
MIN_PIECE = 6


def _cores(secret: bytes, encode, group: int, bits: int) -> list[bytes]:
    """The characters of ``encode(pad + secret + pad)`` that depend on ``secret`` alone, at each
    alignment (``group`` input bytes make whole output characters of ``bits`` bits each)."""
    cores = []
    for offset in range(group):
        low = encode(b"\x00" * offset + secret + b"\x00" * group)
        high = encode(b"\xff" * offset + secret + b"\xff" * group)
        start = -(-8 * offset // bits)
        end = (8 * (offset + len(secret))) // bits
        if end > start and low[start:end] == high[start:end]:
            cores.append(low[start:end])
    return cores


def byte_forms(secret: bytes) -> set[bytes]:
    """Every encoding of ``secret`` a server can echo or we can produce."""
    import base64
    import binascii
    import urllib.parse

    forms = {secret, binascii.hexlify(secret), binascii.hexlify(secret).upper(),
             urllib.parse.quote(secret, safe="").encode(), urllib.parse.quote_plus(secret).encode(),
             "".join(f"%{b:02X}" for b in secret).encode(), "".join(f"%{b:02x}" for b in secret).encode()}
    forms.update(_cores(secret, base64.b64encode, 3, 6))
    forms.update(_cores(secret, base64.urlsafe_b64encode, 3, 6))
    forms.update(_cores(secret, base64.b32encode, 5, 5))
    forms.update(c.lower() for c in _cores(secret, base64.b32encode, 5, 5))
    text = secret.decode("utf-8", "surrogateescape")
    forms.add(secret.decode("latin-1").encode("utf-8"))              # read as latin-1 (mojibake)
    for codec in ("latin-1", "utf-16-le", "utf-16-be", "cp1252"):
        try:
            forms.add(text.encode(codec))
        except UnicodeError:
            pass
    return forms


def text_forms(form: bytes) -> set[bytes]:
    """``form`` as each renderer may write it: raw, Python-escaped, JSON-escaped, terminal-escaped."""
    import json

    from .render.untrusted import shown

    text = form.decode("utf-8", "backslashreplace")
    quoted = "'\"" + text
    variants = {form, repr(form)[2:-1], repr(b"'\"" + form)[5:-1], repr(text)[1:-1],
                repr(quoted)[4:-1], text.encode("unicode_escape").decode("ascii"),
                json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1], shown(text),
                shown(repr(text)[1:-1])}
    return {v if isinstance(v, bytes) else v.encode("utf-8", "surrogateescape") for v in variants}


def _continues(byte: int) -> bool:
    """Whether ``byte`` could be the next character of a form (so the form was not cut there)."""
    return chr(byte).isalnum() or byte in b"+/=_-%" or byte >= 0x80


class Redactor:
    """Finds and replaces every known form of the secrets; safe to share between threads."""

    def __init__(self, secrets=()) -> None:
        self._lock = threading.Lock()
        self._forms: tuple[bytes, ...] = ()
        self._whole: frozenset[bytes] | set[bytes] = frozenset()   #: forms never matched in pieces
        self._built = None
        for secret in secrets:
            if secret:
                self.add_secret(secret)

    def add_secret(self, secret) -> None:
        """A secret (str, bytes, or an object with ``reveal()``): all its encodings and renderings."""
        if hasattr(secret, "reveal"):
            secret = secret.reveal()
        if isinstance(secret, str):
            secret = secret.encode("utf-8", "surrogateescape")
        if len(secret) < MIN_FORM:
            return
        forms = set()
        for form in byte_forms(secret):
            forms |= text_forms(form)
        self._add(forms)

    def add(self, form: bytes) -> None:
        """One exact form (an AUTH line as sent), with its renderings: matched whole only, since
        its start or end may be no secret (``user digest``, ``\0user\0password``)."""
        self._add(text_forms(form), whole=True)

    def _add(self, forms, *, whole: bool = False) -> None:
        with self._lock:
            new = {f for f in forms if len(f) >= MIN_FORM} - set(self._forms)
            if whole:
                self._whole = self._whole | new
            else:
                self._whole = self._whole - new
            self._forms = tuple(sorted(set(self._forms) | new, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self._forms)

    def spans(self, data: bytes, protected=()) -> list[tuple[int, int]]:
        """Merged ``(start, end)`` ranges of ``data`` that hold a form, or a cut piece of one;
        none inside ``protected`` (matches of our phrases, or a function giving them, called
        only once a form is found: most texts hold none, and our phrases cost a big regex)."""
        found = _find(data, self._index())
        merged: list[list[int]] = []
        for start, end in sorted(found):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        if merged and protected:
            keep = [(m.start(), m.end()) for m in (protected() if callable(protected) else protected)]
            merged = [s for s in merged if not any(a <= s[0] and s[1] <= b for a, b in keep)]
        return [(a, b) for a, b in merged]

    def _index(self):
        """One regex for every form's first and last MIN_PIECE characters (built once per change)."""
        forms = self._forms
        index = self._built
        if index is None or index[0] is not forms:
            import re

            heads: dict[bytes, list[bytes]] = {}
            tails: dict[bytes, list[bytes]] = {}
            shorts: set[bytes] = set()
            whole = self._whole
            for form in forms:
                if len(form) <= MIN_PIECE:
                    shorts.add(form)
                else:
                    heads.setdefault(form[:MIN_PIECE], []).append(form)
                    if form not in whole:
                        tails.setdefault(form[-MIN_PIECE:], []).append(form)
            grams = sorted(set(heads) | set(tails) | shorts, key=len, reverse=True)
            pattern = re.compile(b"(?=(" + b"|".join(re.escape(g) for g in grams) + b"))") if grams else None
            index = self._built = (forms, pattern, heads, tails, shorts, whole)
        return index

    def scrub_bytes(self, data: bytes, protected=()) -> tuple[bytes, bool]:
        if not self._forms or not data:
            return data, False
        spans = self.spans(bytes(data), protected)
        if not spans:
            return data, False
        out, last = [], 0
        for start, end in spans:
            out += [data[last:start], REDACTED.encode()]
            last = end
        out.append(data[last:])
        return b"".join(out), True

    def scrub(self, text):
        if not self._forms or not text:
            return text
        data, changed = self.scrub_bytes(text.encode("utf-8", "surrogateescape"))
        return data.decode("utf-8", "surrogateescape") if changed else text

    def __repr__(self) -> str:
        return f"Redactor({len(self._forms)} forms)"


def _common(data: bytes, at: int, form: bytes, known: int) -> int:
    """Length of the longest prefix of ``form`` at ``data[at:]`` (at least ``known``)."""
    low, high = known, min(len(form), len(data) - at)
    while low < high:
        mid = (low + high + 1) // 2
        if data[at:at + mid] == form[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_back(data: bytes, end: int, form: bytes, known: int) -> int:
    """Length of the longest suffix of ``form`` ending at ``data[:end]`` (at least ``known``)."""
    low, high = known, min(len(form), end)
    while low < high:
        mid = (low + high + 1) // 2
        if data[end - mid:end] == form[-mid:]:
            low = mid
        else:
            high = mid - 1
    return low


def _find(data: bytes, index) -> list[tuple[int, int]]:
    """Whole matches of every form, and cut prefixes/suffixes of at least MIN_PIECE characters
    (a prefix must end, a suffix begin, where the form cannot go on: the text was cut there)."""
    _forms, pattern, heads, tails, shorts, whole = index
    if pattern is None:
        return []
    hits = []
    for match in pattern.finditer(data):
        at, gram = match.start(), match.group(1)
        if gram in shorts:
            hits.append((at, at + len(gram)))
        for form in heads.get(gram, ()):
            length = _common(data, at, form, len(gram))
            end = at + length
            if length == len(form) or (form not in whole
                                       and (end == len(data) or not _continues(data[end]))):
                hits.append((at, end))
        for form in tails.get(gram, ()):
            stop = at + len(gram)
            length = _common_back(data, stop, form, len(gram))
            begin = stop - length
            if length == len(form) or begin == 0 or not _continues(data[begin - 1]):
                hits.append((begin, stop))
    return hits


# -- the process-wide redactor and the output boundary -------------------------------------------

_DEFAULT = Redactor()
#: Our teaching forms of redacted lines (smtp/sasl.py ``shown``), always kept whole.
_OWN_WORDS: set[str] = {"[password]", "[redacted: base64 of", "[client proof, redacted]",
                        "[HMAC-MD5 digest, redacted: it allows offline password guessing]",
                        "[redacted SASL response]", REDACTED}
_own_pattern = None


def default() -> Redactor:
    """The redactor every output passes through (secrets are added as they are read)."""
    return _DEFAULT


def own_words(*phrases: str) -> None:
    """Register fixed phrases of ours that are never redacted (see the module docstring)."""
    global _own_pattern
    _OWN_WORDS.update(p for p in phrases if p)
    _own_pattern = None


def _protected(data: bytes):
    global _own_pattern
    if _own_pattern is None:
        import re

        from .findings import CATALOGUE
        from .render.teaching import STEP_NOTES
        from .smtp.auth_replies import AUTH_REPLY_MEANINGS

        words = set(_OWN_WORDS) | {m.explanation for m in AUTH_REPLY_MEANINGS}
        words.update(STEP_NOTES.values())
        for definition in CATALOGUE.values():
            words.update(str(v) for v in vars(definition).values() if isinstance(v, str) and " " in v)
        # Clauses too, so a phrase of ours that an error line cut or composed is still ours.
        words.update(clause.strip() for phrase in list(words) for clause in re.split(r"[:;,()]", phrase)
                     if len(clause.strip()) >= 16 and " " in clause.strip())
        ordered = sorted(words, key=len, reverse=True)
        _own_pattern = re.compile(b"|".join(re.escape(w.encode()) for w in ordered))
    return list(_own_pattern.finditer(data))


def scrub_output(text: str, redactor: Redactor | None = None) -> str:
    """The last step before any text leaves the process (stdout, stderr, a saved file); also for
    derived texts (errors, evidence) that mix our words with a server's. Our phrases are kept."""
    redactor = redactor if redactor is not None else _DEFAULT
    if not redactor or not text:
        return text
    data = text.encode("utf-8", "surrogateescape")
    scrubbed, changed = redactor.scrub_bytes(data, lambda: _protected(data))
    return scrubbed.decode("utf-8", "surrogateescape") if changed else text


def redact_stream(entries, redactor: Redactor, directions=("send", "recv")) -> tuple:
    """Transcript entries with every secret removed from the reassembled stream of each direction.

    The span of a secret is cut out of every chunk it touches; the chunk where
    it starts holds ``[redacted]`` and is marked ``redacted``. Notes are ours
    but may quote a server: they are scrubbed one by one.
    """
    from .frozen import replace

    entries = list(entries)
    if not redactor:
        return tuple(entries)
    for direction in directions:
        # A chunk already redacted is our teaching form of a line we sent: it holds no secret and
        # is not part of the stream a server could have echoed into.
        indexes = [i for i, e in enumerate(entries) if e.direction == direction and not e.redacted]
        stream = b"".join(entries[i].data for i in indexes)
        spans = redactor.spans(stream)
        if not spans:
            continue
        offset = 0
        for i in indexes:
            data = entries[i].data
            begin, end = offset, offset + len(data)
            offset = end
            kept, changed, last = [], False, begin
            for start, stop in spans:
                if stop <= begin or start >= end:
                    continue
                changed = True
                kept.append(stream[last:max(start, begin)])
                if start >= begin:
                    kept.append(REDACTED.encode())
                last = min(stop, end)
            if changed:
                kept.append(stream[last:end])
                entries[i] = replace(entries[i], data=b"".join(kept), redacted=True)
    for i, entry in enumerate(entries):
        if entry.direction not in directions:
            data, changed = redactor.scrub_bytes(entry.data, lambda data=entry.data: _protected(data))
            if changed:
                entries[i] = replace(entry, data=data, redacted=True)
    return tuple(entries)


class _ScrubbingStream:
    """A text stream that scrubs every write (stdout and stderr during a command), then escapes any
    terminal control a renderer let through (render/untrusted.py: the one rendering policy)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from .render.untrusted import guard

        self._stream.write(guard(scrub_output(text)))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class guarded_output:
    """``with guarded_output():`` every write to sys.stdout and sys.stderr passes :func:`scrub_output`."""

    def __enter__(self):
        import sys

        self._saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _ScrubbingStream(sys.stdout), _ScrubbingStream(sys.stderr)
        return self

    def __exit__(self, *exc) -> None:
        import sys

        sys.stdout, sys.stderr = self._saved


def save_text(path, text: str, *, what: str = "--save file") -> None:
    """Write a file we were asked for (``--save``, ``--html``) through the same scrub as stdout,
    and the one file boundary (net/files.py)."""
    from .net.files import write_text

    write_text(path, scrub_output(text), what=what)


def quoted(text, limit: int = 60) -> str:
    """Server text for an error message: redacted first (the whole text), then cut, then ``repr``.

    Cutting first would leave a prefix of a secret that no form matches whole.
    """
    scrubbed = _DEFAULT.scrub(text) if isinstance(text, str) else _DEFAULT.scrub_bytes(bytes(text))[0]
    return repr(scrubbed[:limit])
