"""EHLO reply → capabilities (RFC 5321 §4.1.1.1, §2.2.2).

Each line after the first is ``ehlo-keyword *(SP ehlo-param)``. Keywords are
kept in order with their parameters; unknown keywords are kept verbatim. The
legacy ``AUTH=MECH ...`` form (pre-RFC 2554 clients) is merged into the AUTH
mechanism list. Keywords that look masked (``XXXXXXXA``, the Cisco ASA
``inspect esmtp`` signature) are collected in ``masked``.
"""

from __future__ import annotations

import re

from ..frozen import frozen
from .reply import Reply

#: A keyword overwritten by a masking middlebox keeps its length: XXXXXXXX or XXXXXXXA.
_MASKED = re.compile(r"^X{4,}A?$", re.IGNORECASE)

#: What is kept of an EHLO reply, whatever it holds (a hostile server repeats lines and tokens):
#: the first MAX_ITEMS keyword lines, MAX_PARAMS parameters each, MAX_MECHANISMS distinct AUTH
#: mechanisms and MAX_MASKED masked lines; ``dropped`` counts the rest.
MAX_ITEMS = 128
MAX_PARAMS = 64
MAX_MECHANISMS = 64
MAX_MASKED = 16

#: EHLO replies parsed, by their line texts (a server sends the same one in every session); at most
#: PARSED_LIMIT of them (then forgotten all at once), each at most PARSED_MAX_CHARS long.
PARSED_LIMIT = 256
PARSED_MAX_CHARS = 4096

#: Mechanisms that send the password itself (RFC 4954 §4, RFC 4616).
PLAINTEXT_MECHANISMS = ("PLAIN", "LOGIN")


@frozen
class Capability:
    keyword: str                 #: upper-cased keyword
    params: tuple[str, ...]
    line: str                    #: the line text exactly as sent
    valid: bool = True           #: False when the keyword breaks RFC 5321 §4.1.1.1


@frozen
class Capabilities:
    domain: str                  #: the server's name from the first line
    greeting: str                #: rest of the first line
    items: tuple[Capability, ...]
    auth_mechanisms: tuple[str, ...]
    legacy_auth: bool            #: an ``AUTH=`` line was present
    masked: tuple[str, ...]      #: lines that look overwritten by a middlebox
    dropped: int = 0             #: lines, parameters and mechanisms past the caps, not kept

    @classmethod
    def from_reply(cls, reply: Reply) -> "Capabilities":
        texts = reply.texts
        if cls is not Capabilities:
            return cls.parse(texts)
        parsed = _PARSED.get(texts)
        if parsed is None:
            parsed = cls.parse(texts)
            if sum(map(len, texts)) <= PARSED_MAX_CHARS:
                if len(_PARSED) >= PARSED_LIMIT:
                    _PARSED.clear()
                _PARSED[texts] = parsed
        return parsed

    @classmethod
    def parse(cls, texts) -> "Capabilities":
        texts = list(texts)
        first = texts[0] if texts else ""
        domain, _, greeting = first.partition(" ")
        items: list[Capability] = []
        mechanisms: dict[str, None] = {}
        legacy = False
        masked: list[str] = []
        dropped = 0
        for line in texts[1:]:
            if len(items) >= MAX_ITEMS:
                dropped += 1
                continue
            words = line.split(maxsplit=MAX_PARAMS + 1)
            if len(words) > MAX_PARAMS + 1:
                dropped += len(words[-1].split()) + 1
                words = words[:MAX_PARAMS + 1]
            if not words:
                items.append(Capability("", (), line, valid=False))
                continue
            head, params = words[0], tuple(words[1:])
            if head.upper().startswith("AUTH="):
                # Pre-RFC 2554 form "AUTH=MECH MECH"; kept as its own item.
                legacy = True
                legacy_mechs = [head[5:].upper(), *(p.upper() for p in params)]
                dropped += _merge(mechanisms, legacy_mechs)
                items.append(Capability("AUTH=", tuple(m for m in legacy_mechs if m), line))
                continue
            keyword = head.upper()
            if keyword[:4] == "XXXX" and _MASKED.match(keyword):
                if len(masked) < MAX_MASKED:
                    masked.append(line)
                else:
                    dropped += 1
            # RFC 5321 §4.1.1.1 ehlo-keyword: ASCII letters and digits, then also "-".
            valid = head.isascii() and head[:1].isalnum() and (head.isalnum()
                                                              or head.replace("-", "").isalnum())
            items.append(Capability(keyword, params, line, valid))
            if keyword == "AUTH":
                dropped += _merge(mechanisms, [p.upper() for p in params])
        unique = tuple(mechanisms)
        if cls is Capabilities:
            return Capabilities(domain, greeting, tuple(items), unique, legacy, tuple(masked),
                                     dropped)
        return cls(domain, greeting, tuple(items), unique, legacy, tuple(masked), dropped)

    @classmethod
    def empty(cls) -> "Capabilities":
        return cls("", "", (), (), False, ())

    def get(self, keyword: str) -> Capability | None:
        keyword = keyword.upper()
        return next((item for item in self.items if item.keyword == keyword), None)

    def has(self, keyword: str) -> bool:
        return self.get(keyword) is not None

    @property
    def keywords(self) -> tuple[str, ...]:
        return tuple(item.keyword for item in self.items if item.keyword)

    @property
    def starttls(self) -> bool:
        # (what ``has("STARTTLS")`` answers, without its two calls: read once per EHLO reply)
        return any(item.keyword == "STARTTLS" for item in self.items)

    @property
    def size_limit(self) -> int | None:
        """RFC 1870 §4: ``SIZE n``; 0 means no fixed limit. None when absent or unreadable."""
        item = self.get("SIZE")
        if item is None or not item.params:
            return None
        size = item.params[0]
        if not (size.isascii() and size.isdigit()):
            return None
        return int(item.params[0])

    @property
    def plaintext_auth(self) -> tuple[str, ...]:
        return tuple(m for m in self.auth_mechanisms if m in PLAINTEXT_MECHANISMS)




#: line texts of an EHLO reply -> its Capabilities (frozen, so one object serves every session)
_PARSED: dict[tuple[str, ...], Capabilities] = {}


def _merge(mechanisms: dict[str, None], new) -> int:
    """Add distinct mechanisms up to MAX_MECHANISMS; return how many were dropped."""
    dropped = 0
    for mechanism in new:
        if not mechanism or mechanism in mechanisms:
            continue
        if len(mechanisms) < MAX_MECHANISMS:
            mechanisms[mechanism] = None
        else:
            dropped += 1
    return dropped


def keyword_changes(before: Capabilities, after: Capabilities) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Keywords (added, removed) between two EHLO replies, in the order the server sent them.

    RFC 3207 §4.2: after TLS the client must forget what it learned before, so
    the difference is worth showing: AUTH appearing, STARTTLS going away.
    """
    added = tuple(kw for kw in after.keywords if kw not in before.keywords)
    removed = tuple(kw for kw in before.keywords if kw not in after.keywords)
    return added, removed
