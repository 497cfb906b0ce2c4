"""The connection-frugal enumeration of suites and groups (pure: the I/O is a callable).

For each protocol version, offer every remaining candidate; the server picks
one (RFC 5246 §7.4.1.3: it must pick from the offer) or refuses; remove the
pick and repeat. Connections per version are therefore accepted suites + 1,
and the same loop finds the accepted key-exchange groups (RFC 8446 §4.2.7).

Server order (RFC 5246 §7.4.1.2 leaves the choice to the server): successive
offers alternate direction (registry order, then reversed). A server that
follows the client's order then picks at the ends of each offer; if the picks
are not what client order predicts, the server has its own order. Only when
the picks fit both explanations does one more connection settle it.

A close instead of an answer (no ServerHello, no refusing alert; RFC 5246
§7.4.1.3 wants a handshake_failure alert when nothing is shared) says something
about part of the offer, not that the version is absent: a client-order server
without DH parameters (Dovecot without ``ssl_dh``) picks a DHE suite and then
closes. Such an offer is narrowed down once per version by key exchange: each
family alone until one is accepted, then each other family offered before that
accepted suite; a family whose suites make the server close although the
accepted suite was there to pick is left out of the rest of the enumeration
(``closed_on``). A server that closes on every family simply refuses; one that
accepts a family alone but blames none (it closes on big offers) is asked
family by family.

``exchange(offer) -> ServerAnswer`` does the I/O; it raises
:class:`Unreachable` when the server could not be asked (after retries).
"""

from __future__ import annotations

from ..frozen import field, frozen, mutable
from .hello import ServerAnswer
from .suites import BY_CODE

#: Alerts that refuse an offer as a whole (RFC 5246 §7.2.2, RFC 8446 §6.2); any other
#: alert, and a close without an alert, may be the answer to one part of the offer.
REFUSALS = frozenset({"handshake_failure", "insufficient_security", "protocol_version"})


class Unreachable(Exception):
    """The server could not be asked (connection, SMTP preamble, deadline) even after retries."""


@frozen
class Offer:
    version: str
    suites: tuple[int, ...]
    groups: tuple[int, ...] | None = None      #: None: the default supported_groups
    key_share_group: int | None = 0x001D
    #: False: a close is taken as the answer at once (a narrowing probe, not a verdict)
    retry_drops: bool = True
    fallback_scsv: bool = False                #: add TLS_FALLBACK_SCSV (RFC 7507)


@mutable
class VersionOutcome:
    version: str
    supported: bool = False
    picks: list[int] = field(default_factory=list)          #: suites in the order the server chose them
    groups: dict[int, str] = field(default_factory=dict)    #: suite -> group seen with it
    server_order: bool | None = None                        #: None: fewer than two suites
    answers: list[ServerAnswer] = field(default_factory=list)
    error: str | None = None
    #: key exchange -> what the server did when its suites came first (closed, alert)
    closed_on: dict[str, str] = field(default_factory=dict)


def family(code: int) -> str:
    """The key-exchange family a suite belongs to (its registry ``kx``)."""
    suite = BY_CODE.get(code)
    return suite.kx if suite is not None else "unknown"


def _ambiguous(answer: ServerAnswer) -> bool:
    """Neither a ServerHello nor a refusal of the whole offer."""
    return answer.kind == "none" or (answer.kind == "alert" and answer.alert not in REFUSALS)


def enumerate_version(version: str, candidates: list[int], exchange, *,
                      narrow: bool = True) -> VersionOutcome:
    """Accepted suites at ``version`` among ``candidates`` (in registry order)."""
    outcome = VersionOutcome(version)
    remaining = list(candidates)
    reverse = False
    narrowed = not narrow
    try:
        while remaining:
            offered = tuple(reversed(remaining)) if reverse else tuple(remaining)
            answer = exchange(Offer(version, offered))
            outcome.answers.append(answer)
            if _ambiguous(answer) and not narrowed:
                narrowed = True
                known = outcome.picks[:1]
                culprits, good = _narrow(version, offered, known, exchange, outcome)
                if culprits:
                    remaining = [code for code in remaining if family(code) not in culprits]
                    continue
                if good is not None and not known:  # it closes on the whole offer, not on a part
                    _family_by_family(version, remaining, exchange, outcome)
                    return outcome
            if answer.kind not in ("hello", "retry") or answer.version != version:
                break  # refused, or the server answered with another version: none left here
            if answer.suite not in remaining:
                outcome.error = (f"the server picked 0x{answer.suite:04x}, which was not offered "
                                 "(RFC 5246 §7.4.1.3)")
                break
            outcome.supported = True
            outcome.picks.append(answer.suite)
            if answer.group:
                outcome.groups[answer.suite] = answer.group
            remaining.remove(answer.suite)
            reverse = not reverse
        if len(outcome.picks) >= 2:
            outcome.server_order = _server_order(version, candidates, outcome.picks, exchange, outcome)
    except Unreachable as exc:
        outcome.error = str(exc)
    return outcome


def _family_by_family(version: str, remaining: list[int], exchange, outcome: VersionOutcome) -> None:
    """Enumerate each key-exchange family on its own (a server that closes on big offers)."""
    for name in dict.fromkeys(family(code) for code in remaining):
        part = enumerate_version(version, [c for c in remaining if family(c) == name], exchange,
                                 narrow=False)
        outcome.picks += part.picks
        outcome.groups.update(part.groups)
        outcome.answers += part.answers
        outcome.error = outcome.error or part.error
        if outcome.server_order is None:
            outcome.server_order = part.server_order
    outcome.supported = bool(outcome.picks)


def _narrow(version: str, offered: tuple[int, ...], known_good: list[int], exchange,
            outcome: VersionOutcome) -> tuple[set[str], int | None]:
    """The key-exchange families whose suites make the server close, and an accepted suite."""
    families = list(dict.fromkeys(family(code) for code in offered))
    members = {name: tuple(code for code in offered if family(code) == name) for name in families}
    good = known_good[0] if known_good else None
    if good is None:
        # Most likely accepted first: fewest probes on the common servers.
        for name in sorted(families, key=lambda f: (f != "ECDHE", f != "any", f != "RSA")):
            answer = exchange(Offer(version, members[name], retry_drops=False))
            outcome.answers.append(answer)
            if answer.kind in ("hello", "retry") and answer.version == version \
                    and answer.suite in members[name]:
                good = answer.suite
                break
        if good is None:
            return set(), None  # it closes on every family alone: a refusal
    culprits = set()
    for name in families:
        if name == family(good):
            continue
        test = tuple(code for code in members[name] if code != good) + (good,)
        answer = exchange(Offer(version, test))
        outcome.answers.append(answer)
        if _ambiguous(answer):
            culprits.add(name)
            outcome.closed_on[name] = (f"alert {answer.alert}" if answer.kind == "alert"
                                       else answer.detail or "closed without an answer")
    return culprits, good


def _client_order_picks(candidates: list[int], accepted: set[int]) -> list[int]:
    """What a server following the client's order would have picked, offer by offer."""
    remaining = [code for code in candidates if code in accepted]
    picks, reverse = [], False
    while remaining:
        pick = remaining[-1] if reverse else remaining[0]
        picks.append(pick)
        remaining.remove(pick)
        reverse = not reverse
    return picks


def _server_order(version: str, candidates: list[int], picks: list[int], exchange,
                  outcome: VersionOutcome) -> bool:
    if _client_order_picks(candidates, set(picks)) != picks:
        return True
    # Ambiguous: offer the first two picks swapped. Client order takes the first offered.
    first, second = picks[0], picks[1]
    answer = exchange(Offer(version, (second, first)))
    outcome.answers.append(answer)
    return answer.kind in ("hello", "retry") and answer.suite == first


@mutable
class GroupOutcome:
    version: str | None = None
    groups: list[str] = field(default_factory=list)
    error: str | None = None


def enumerate_groups(tls13_suites: list[int], ecdhe_suites: list[int], exchange) -> GroupOutcome:
    """Accepted groups: TLS 1.3 HelloRetryRequests first, else TLS 1.2 ECDHE ServerKeyExchange."""
    from .hello import CANDIDATE_GROUPS, EC_GROUPS
    from .registry import GROUP_NAMES

    outcome = GroupOutcome()
    try:
        for version, suites, candidates in (("TLSv1.3", tls13_suites, CANDIDATE_GROUPS),
                                            ("TLSv1.2", ecdhe_suites, EC_GROUPS)):
            remaining = list(candidates)
            while remaining and suites:
                answer = exchange(Offer(version, tuple(suites), tuple(remaining), key_share_group=None))
                if answer.kind not in ("hello", "retry") or answer.version != version or not answer.group:
                    break
                code = next((g for g in remaining if GROUP_NAMES.get(g) == answer.group), None)
                if code is None:
                    break
                outcome.version = version
                outcome.groups.append(answer.group)
                remaining.remove(code)
            if outcome.groups:
                break
    except Unreachable as exc:
        outcome.error = str(exc)
    return outcome
