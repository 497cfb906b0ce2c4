"""Run the core session probe against many targets: bounded threads, starts staggered.

Each target is one :func:`inspector.probes.session.run_probe` call with its
own :class:`ProbeConfig`; the n-th start waits ``n × stagger`` (100 ms by
default) so a server or firewall does not see a burst, and no probe runs past
the overall deadline (its own deadline is cut to what is left).

``verify_login`` is the hook for ``--auth``: a callable taking the candidate's
ProbeConfig (TLS mode, address, servername, cafile already set) and returning
True/False for "the login worked". It is called once per candidate whose
session came up with TLS and offered AUTH, in the same worker thread, and its
answer feeds the ranking (:attr:`ranking.Assessment.login`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from ..probes.session import ProbeConfig, ProbeResult, run_probe

LoginCheck = Callable[[ProbeConfig], bool]


@dataclass(frozen=True)
class ProbeOutcome:
    result: ProbeResult | None
    login: bool | None          #: None unless a login check ran
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
