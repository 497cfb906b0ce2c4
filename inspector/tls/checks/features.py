"""What the enumeration's TLS <= 1.2 ServerHellos say about protocol features (pure).

Every crafted TLS <= 1.2 ClientHello of the enumeration offers the
renegotiation SCSV, extended_master_secret, encrypt_then_mac,
session_ticket, status_request, signed_certificate_timestamp, heartbeat and
DEFLATE (:mod:`inspector.tls.client_hello`), so the answers are already there:
a server echoes an extension it supports (RFC 5246 §7.4.1.4: only
extensions the client offered).
"""

from __future__ import annotations

from ...frozen import field, mutable
from ..suites import BY_CODE

RENEGOTIATION_INFO, EXTENDED_MASTER_SECRET, ENCRYPT_THEN_MAC = 0xFF01, 0x0017, 0x0016
SESSION_TICKET, STATUS_REQUEST, SCT, HEARTBEAT = 0x0023, 0x0005, 0x0012, 0x000F


@mutable
class Features:
    """Facts from the ServerHellos; None: no TLS <= 1.2 ServerHello to read them from."""

    secure_renegotiation: bool | None = None     #: RFC 5746 §3.6
    extended_master_secret: bool | None = None   #: RFC 7627 §5.2
    encrypt_then_mac: bool | None = None         #: RFC 7366 §2 (None: no CBC suite picked)
    compression: list[int] = field(default_factory=list)   #: methods other than null picked
    session_ticket: bool | None = None           #: RFC 5077 §3.2: the extension echoed
    session_id: bool | None = None               #: a non-empty session_id (a cache entry)
    status_request: bool | None = None           #: RFC 6066 §8
    ocsp_response: bytes | None = None
    sct_extension: bool | None = None            #: RFC 6962 §3.3.1
    heartbeat: bool | None = None                #: RFC 6520 §2
    signature_schemes: list[int] = field(default_factory=list)   #: ServerKeyExchange (TLS 1.2)
    version: str | None = None                   #: the best version the facts came from
    hello_suite: int | None = None               #: a suite the server picked there


def _cbc(code: int) -> bool:
    suite = BY_CODE.get(code)
    return suite is not None and "CBC" in suite.iana_name


def read_features(answers_by_version: dict[str, list]) -> Features:
    """Features from the ServerAnswers of each TLS <= 1.2 version (best version first wins)."""
    facts = Features()
    order = ("TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3")
    for version in order:
        hellos = [a for a in answers_by_version.get(version, ())
                  if a.kind == "hello" and a.version == version and a.server_hello is not None]
        if not hellos:
            continue
        if facts.version is None:
            facts.version, facts.hello_suite = version, hellos[0].suite
        for answer in hellos:
            _one(facts, answer, version == "SSLv3")
    return facts


def _any(current: bool | None, value: bool) -> bool:
    return bool(current) or value


def _one(facts: Features, answer, ssl3: bool) -> None:
    info = answer.server_hello
    kinds = {kind for kind, _ in info.extensions}
    if not ssl3:  # SSL 3.0 has no extensions (RFC 6101): its hellos say nothing about them
        facts.secure_renegotiation = _any(facts.secure_renegotiation, RENEGOTIATION_INFO in kinds)
        facts.extended_master_secret = _any(facts.extended_master_secret, EXTENDED_MASTER_SECRET in kinds)
        if _cbc(answer.suite):
            facts.encrypt_then_mac = _any(facts.encrypt_then_mac, ENCRYPT_THEN_MAC in kinds)
        facts.session_ticket = _any(facts.session_ticket, SESSION_TICKET in kinds)
        facts.status_request = _any(facts.status_request, STATUS_REQUEST in kinds)
        facts.sct_extension = _any(facts.sct_extension, SCT in kinds)
        facts.heartbeat = _any(facts.heartbeat, HEARTBEAT in kinds)
    facts.session_id = _any(facts.session_id, bool(info.session_id))
    if info.compression and info.compression not in facts.compression:
        facts.compression.append(info.compression)
    if answer.ocsp_response and facts.ocsp_response is None:
        facts.ocsp_response = answer.ocsp_response
    if answer.signature is not None and answer.signature not in facts.signature_schemes:
        facts.signature_schemes.append(answer.signature)


def heartbeat_versions(answers_by_version: dict[str, list]) -> list[tuple[str, int]]:
    """(version, suite) of the ServerHellos that echoed the heartbeat extension."""
    out = []
    for version, answers in answers_by_version.items():
        for answer in answers:
            if answer.kind == "hello" and answer.server_hello is not None and answer.version == version \
                    and any(kind == HEARTBEAT for kind, _ in answer.server_hello.extensions):
                out.append((version, answer.suite))
                break
    return out
