"""What each source's answer says, in one SourceReport row (pure: answers in, rows out).

The row's status is the lookup state of :mod:`.dns` (found, none, nxdomain,
null, no-answer, error), or ``refused`` for an autoconfig document that was
fetched but not accepted. ``none`` and ``nxdomain`` are statements about the
domain; ``no-answer`` and ``error`` are not, and their detail says "unknown".
"""

from __future__ import annotations

from ..net.https import Fetch
from . import autoconfig as ac
from .candidates import SrvTarget
from .dns import ERROR, FOUND, NO_ANSWER, NONE, NULL, DnsAnswer, Lookup
from .results import SourceReport


def srv_source(service: str, query: str, answer: DnsAnswer) -> tuple[SourceReport, list[SrvTarget]]:
    """RFC 6186 §3 / RFC 2782: SRV targets, or a target "." saying the service is not offered."""
    lookup = answer.lookup
    if lookup.state != FOUND:
        return SourceReport("srv", query, lookup.state, lookup.detail), []
    records = [SrvTarget(service, r.priority, r.weight, r.port, r.target.to_text(omit_final_dot=True))
               for r in answer.rdatas]
    usable = [r for r in records if r.target not in ("", ".") and r.port != 0]
    if not usable:
        return SourceReport("srv", query, NULL, 'target "." : the service is not offered (RFC 6186 §3)'), []
    return SourceReport("srv", query, FOUND, "; ".join(
        f"{r.priority} {r.weight} {r.port} {r.target}" for r in records)), usable


def mx_source(domain: str, answer: DnsAnswer, limit: int) -> tuple[SourceReport, list[tuple[int, str]]]:
    """MX hosts by preference; a lone ``MX 0 .`` is the null MX of RFC 7505 (no mail at all)."""
    lookup = answer.lookup
    if lookup.state != FOUND:
        return SourceReport("mx", domain, lookup.state, lookup.detail), []
    records = sorted((r.preference, r.exchange.to_text(omit_final_dot=True).lower()) for r in answer.rdatas)
    hosts = [(p, h) for p, h in records if h not in ("", ".")][:limit]
    has_null = any(h in ("", ".") for _, h in records)
    if not hosts:
        return SourceReport("mx", domain, NULL,
                            f"MX 0 . : null MX, {domain} accepts no mail (RFC 7505 §3)"), []
    detail = "; ".join(f"{p} {h}" for p, h in hosts)
    if has_null:
        detail += ('; also "MX 0 .", which RFC 7505 §3 forbids beside other MX records '
                   "(ignored: the other records are checked)")
    return SourceReport("mx", domain, FOUND, detail), hosts


def sts_source(query: str, answer: DnsAnswer) -> tuple[SourceReport, list[str] | None]:
    """RFC 8461 §3.1: TXT records of ``_mta-sts``; the texts when one starts with ``v=STSv1``."""
    lookup = answer.lookup
    if lookup.state != FOUND:
        return SourceReport("mta-sts", query, lookup.state, lookup.detail), None
    texts = [b"".join(r.strings).decode("utf-8", "replace") for r in answer.rdatas]
    if not any(t.startswith("v=STSv1") for t in texts):
        return SourceReport("mta-sts", query, NONE, f"no TXT record starts with v=STSv1 "
                            f"({len(texts)} other TXT record(s)): no policy"), None
    return SourceReport("mta-sts", query, FOUND, "; ".join(t[:80] for t in texts)), texts


def autoconfig_source(url: str, host: str, resolved: Lookup, got: Fetch | None,
                      email: str) -> tuple[SourceReport, tuple, str | None]:
    """The row, the outgoing servers it names, and why the document was refused (None: not refused)."""
    if got is None:
        return SourceReport("autoconfig", url, resolved.state, f"{host}: {resolved.detail}"), (), None
    if got.error:
        if got.no_answer:
            return SourceReport("autoconfig", url, NO_ANSWER, f"unknown (no answer): {got.error}"), (), None
        return SourceReport("autoconfig", url, NONE if got.status == 404 else ERROR, got.error), (), None
    try:
        servers = ac.parse_autoconfig(got.body, email)
    except ac.AutoconfigError as exc:
        return SourceReport("autoconfig", url, "refused", str(exc)), (), str(exc)
    return SourceReport("autoconfig", url, FOUND, "; ".join(
        f"{s.hostname}:{s.port} {s.mode}" for s in servers)), servers, None
