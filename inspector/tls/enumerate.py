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

``exchange(offer) -> ServerAnswer`` does the I/O; it raises
:class:`Unreachable` when the server could not be asked (after retries).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .hello import ServerAnswer


class Unreachable(Exception):
    """The server could not be asked (connection, SMTP preamble, deadline) even after retries."""


@dataclass(frozen=True)
class Offer:
    version: str
    suites: tuple[int, ...]
    groups: tuple[int, ...] | None = None      #: None: the default supported_groups
    key_share_group: int | None = 0x001D


@dataclass
class VersionOutcome:
    version: str
    supported: bool = False
    picks: list[int] = field(default_factory=list)          #: suites in the order the server chose them
    groups: dict[int, str] = field(default_factory=dict)    #: suite -> group seen with it
    server_order: bool | None = None                        #: None: fewer than two suites
    answers: list[ServerAnswer] = field(default_factory=list)
    error: str | None = None


def enumerate_version(version: str, candidates: list[int], exchange) -> VersionOutcome:
    """Accepted suites at ``version`` among ``candidates`` (in registry order)."""
    outcome = VersionOutcome(version)
    remaining = list(candidates)
    reverse = False
    try:
        while remaining:
            offered = tuple(reversed(remaining)) if reverse else tuple(remaining)
            answer = exchange(Offer(version, offered))
            outcome.answers.append(answer)
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


@dataclass
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
