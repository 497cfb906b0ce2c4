"""EHLO reply → capabilities (RFC 5321 §4.1.1.1, §2.2.2).

Each line after the first is ``ehlo-keyword *(SP ehlo-param)``. Keywords are
kept in order with their parameters; unknown keywords are kept verbatim. The
legacy ``AUTH=MECH ...`` form (pre-RFC 2554 clients) is merged into the AUTH
mechanism list. Keywords that look masked (``XXXXXXXA``, the Cisco ASA
``inspect esmtp`` signature) are collected in ``masked``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .reply import Reply

_KEYWORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
#: A keyword overwritten by a masking middlebox keeps its length: XXXXXXXX or XXXXXXXA.
_MASKED = re.compile(r"^X{4,}A?$", re.IGNORECASE)

#: Mechanisms that send the password itself (RFC 4954 §4, RFC 4616).
PLAINTEXT_MECHANISMS = ("PLAIN", "LOGIN")


@dataclass(frozen=True)
class Capability:
    keyword: str                 #: upper-cased keyword
    params: tuple[str, ...]
    line: str                    #: the line text exactly as sent
    valid: bool = True           #: False when the keyword breaks RFC 5321 §4.1.1.1


@dataclass(frozen=True)
class Capabilities:
    domain: str                  #: the server's name from the first line
    greeting: str                #: rest of the first line
    items: tuple[Capability, ...]
    auth_mechanisms: tuple[str, ...]
    legacy_auth: bool            #: an ``AUTH=`` line was present
    masked: tuple[str, ...]      #: lines that look overwritten by a middlebox

    @classmethod
    def from_reply(cls, reply: Reply) -> "Capabilities":
        return cls.parse(reply.texts)

    @classmethod
    def parse(cls, texts) -> "Capabilities":
        texts = list(texts)
        first = texts[0] if texts else ""
        domain, _, greeting = first.partition(" ")
        items: list[Capability] = []
        mechanisms: list[str] = []
        legacy = False
        masked: list[str] = []
        for line in texts[1:]:
            words = line.split()
            if not words:
                items.append(Capability("", (), line, valid=False))
                continue
            head, params = words[0], tuple(words[1:])
            if head.upper().startswith("AUTH="):
                # Pre-RFC 2554 form "AUTH=MECH MECH"; kept as its own item.
                legacy = True
                legacy_mechs = [head[5:].upper(), *(p.upper() for p in params)]
                mechanisms += legacy_mechs
                items.append(Capability("AUTH=", tuple(m for m in legacy_mechs if m), line))
                continue
            keyword = head.upper()
            if _MASKED.match(keyword):
                masked.append(line)
            items.append(Capability(keyword, params, line, valid=bool(_KEYWORD.match(head))))
            if keyword == "AUTH":
                mechanisms += [p.upper() for p in params]
        unique = tuple(dict.fromkeys(m for m in mechanisms if m))
        return cls(domain, greeting, tuple(items), unique, legacy, tuple(masked))

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
        return self.has("STARTTLS")

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


def keyword_changes(before: Capabilities, after: Capabilities) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Keywords (added, removed) between two EHLO replies, in the order the server sent them.

    RFC 3207 §4.2: after TLS the client must forget what it learned before, so
    the difference is worth showing: AUTH appearing, STARTTLS going away.
    """
    added = tuple(kw for kw in after.keywords if kw not in before.keywords)
    removed = tuple(kw for kw in before.keywords if kw not in after.keywords)
    return added, removed
