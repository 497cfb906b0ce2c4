"""Run the core session probe against many targets: bounded threads, starts staggered.

Each target is one :func:`inspector.probes.session.run_probe` call with its
own :class:`ProbeConfig`; the n-th start waits ``n × stagger`` (100 ms by
default) so a server or firewall does not see a burst, and no probe runs past
the overall deadline (its own deadline is cut to what is left).

``verify_login`` is the hook for ``--auth`` (:func:`login_check` makes it): a
callable taking the candidate's ProbeConfig (TLS mode, address, servername,
cafile already set) and returning True/False for "the login worked", or None
when no login was tried. It is called once per candidate whose session came up
with TLS and offered AUTH, in the same worker thread, and its answer feeds the
ranking (:attr:`ranking.Assessment.login`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..probes.session import ProbeConfig, ProbeResult, run_probe

if TYPE_CHECKING:
    from ..probes.auth_step import AuthRequest

LoginCheck = Callable[[ProbeConfig], "bool | None"]


def login_check(request: AuthRequest) -> LoginCheck:
    """``--auth``: one more session per candidate with the AUTH step (RFC 4954 §4).

    The session's own rules hold: no secret is sent without TLS or after a
    certificate failure (the candidate's config is never ``insecure``), so an
    impostor on a guessed name gets nothing. Accepted → True, rejected (5xx) →
    False, anything else (not sent, temporary failure, deadline) → None.
    """
    from ..probes.auth_step import ACCEPTED, REJECTED

    def verify(config: ProbeConfig) -> bool | None:
        outcome = run_probe(replace(config, auth=request, insecure=False)).auth
        if outcome is None:
            return None
        return {ACCEPTED: True, REJECTED: False}.get(outcome.status)

    return verify


@dataclass(frozen=True)
class ProbeOutcome:
    result: ProbeResult | None
    login: bool | None          #: None unless a login check ran and got an answer
    skipped: str | None         #: why no probe ran (the deadline)


def run_staggered(configs: list[ProbeConfig], *, concurrency: int, stagger: float, deadline_at: float,
                  verify_login: LoginCheck | None = None) -> list[ProbeOutcome]:
    """One outcome per config, in the same order."""
    if not configs:
        return []
    started = time.monotonic()

    def work(index: int, config: ProbeConfig) -> ProbeOutcome:
        wait = started + index * stagger - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, max(0.0, deadline_at - time.monotonic())))
        left = deadline_at - time.monotonic()
        if left <= 0.05:
            return ProbeOutcome(None, None, "overall deadline reached before this probe could start")
        result = run_probe(replace(config, deadline=min(config.deadline, left)))
        login = None
        if verify_login is not None and result.tls is not None and result.capabilities_after is not None \
                and result.capabilities_after.auth_mechanisms:
            login = verify_login(config)
        return ProbeOutcome(result, login, None)

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="discover-probe") as pool:
        futures = [pool.submit(work, i, c) for i, c in enumerate(configs)]
        return [f.result() for f in futures]
