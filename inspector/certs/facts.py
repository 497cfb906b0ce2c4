"""Frozen facts about a presented chain: what ``inspector.rules.certificates`` judges.

:func:`inspector.certs.analysis.analyze_chain` gathers them (parsing, names, OpenSSL's path
validation, chain shape, TLSA); the rules turn them into findings and do no I/O.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from ..frozen import frozen

if TYPE_CHECKING:
    from .describe import CertificateInfo
    from .shape import AbsentIssuer
    from .tlsa import TlsaResult
    from .validation import TrustVerdict


@frozen
class CertFacts:
    """One parsed certificate, where the server sent it."""

    index: int
    position: str                    #: "leaf" or "chain[N] (CN)"
    info: CertificateInfo
    not_before: datetime.datetime
    not_after: datetime.datetime
    weak_hash: bool                  #: signed with SHA-1 or MD5 (RFC 9155 §5)


@frozen
class LeafFacts:
    """What the leaf says about the names and usages it serves (RFC 5280 §4.2.1.6, §4.2.1.12)."""

    has_san: bool
    common_names: tuple[str, ...]
    eku: tuple[str, ...] | None      #: extendedKeyUsage purposes; None without the extension
    eku_undecodable: bool
    eku_allows_server: bool          #: serverAuth or anyExtendedKeyUsage listed (or no EKU)


@frozen
class ChainFacts:
    servername: str
    now: datetime.datetime
    sent_count: int                  #: certificates the server sent (0: none)
    certificates: tuple[CertFacts, ...]
    leaf: LeafFacts | None           #: None when the leaf did not parse
    complete: bool                   #: every certificate parsed (shape, EKU and TLSA are judged then)
    hostname_match: bool
    trust: TrustVerdict
    chain_order: str | None          #: the issuer path when it is out of order
    absent_issuer: AbsentIssuer | None
    tlsa: tuple[TlsaResult, ...] = ()
