"""Run the core session probe against many targets: best first, bounded threads, starts staggered.

:class:`ProbeQueue` takes targets while they are still being found (each
source hands over its candidates as soon as it has them), so no source waits
for another: ``concurrency`` workers always start the best-ranked target
queued, at least ``stagger`` (100 ms by default) after the previous start, so
a server or firewall does not see a burst. No probe starts or runs past the
overall deadline (its own deadline is cut to what is left); what the deadline
left in the queue is reported as not tried. ``hold`` keeps the weaker ranks
back for a bounded moment while a stronger source's DNS answers are due.

``verify_login`` is the hook for ``--auth`` (:func:`login_check` makes it): a
callable taking the candidate's ProbeConfig (TLS mode, address, servername,
cafile already set) and returning True/False for "the login worked", or None
when no login was tried. It is called once per candidate whose session came up
with TLS and offered AUTH, in the same worker thread, and its answer feeds the
ranking (:attr:`ranking.Assessment.login`).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from ..frozen import frozen, replace
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


@frozen
class ProbeOutcome:
    result: ProbeResult | None
    login: bool | None          #: None unless a login check ran and got an answer
    skipped: str | None         #: why no probe ran (the deadline)


#: why a queued target never started
NOT_STARTED = "not tried: the overall deadline was reached before its turn"


class ProbeQueue:
    """Probes started best ``rank`` first (smaller sorts first) as targets are submitted."""

    def __init__(self, *, concurrency: int, stagger: float, deadline_at: float,
                 verify_login: LoginCheck | None = None) -> None:
        self.stagger, self.deadline_at, self.verify_login = stagger, deadline_at, verify_login
        self._lock = threading.Condition()
        self._heap: list[tuple[tuple, int, Hashable]] = []
        self._configs: dict[Hashable, ProbeConfig] = {}
        self._outcomes: dict[Hashable, ProbeOutcome] = {}
        self._running: set[Hashable] = set()
        self._order = itertools.count()
        self._closed = False
        self._next_start = 0.0
        self._hold: tuple[tuple, float] | None = None
        self._workers = [threading.Thread(target=self._work, name=f"discover-probe-{n}", daemon=True)
                         for n in range(max(1, concurrency))]
        for worker in self._workers:
            worker.start()

    def hold(self, rank: tuple, seconds: float) -> None:
        """Start nothing ranked ``rank`` or worse for ``seconds`` or until :meth:`release`."""
        with self._lock:
            self._hold = (rank, time.monotonic() + seconds)

    def release(self) -> None:
        with self._lock:
            self._hold = None
            self._lock.notify_all()

    def submit(self, key: Hashable, rank: tuple, config: ProbeConfig) -> None:
        """Queue a target once per key; submitting it again with a better rank moves it up."""
        with self._lock:
            if key in self._outcomes or key in self._running:
                return
            self._configs.setdefault(key, config)
            heapq.heappush(self._heap, (rank, next(self._order), key))
            self._lock.notify()

    def close(self) -> dict[Hashable, ProbeOutcome]:
        """No more targets: wait for the queue to drain (or the deadline); every key's outcome."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        for worker in self._workers:
            worker.join(max(0.0, self.deadline_at - time.monotonic()) + 5)
        with self._lock:
            for key in self._configs:
                self._outcomes.setdefault(key, ProbeOutcome(None, None, NOT_STARTED))
            return dict(self._outcomes)

    def _next(self) -> tuple[Hashable, ProbeConfig] | None:
        """The best queued target once its start is due; None when closed and empty or at the deadline."""
        with self._lock:
            while True:
                now = time.monotonic()
                if now >= self.deadline_at - 0.05:
                    return None
                while self._heap and self._taken(self._heap[0][2]):
                    heapq.heappop(self._heap)
                wait = self.deadline_at - now
                if self._heap:
                    rank = self._heap[0][0]
                    if self._hold is not None and rank >= self._hold[0] and now < self._hold[1]:
                        wait = min(wait, self._hold[1] - now)
                    elif now < self._next_start:
                        wait = min(wait, self._next_start - now)
                    else:
                        _, _, key = heapq.heappop(self._heap)
                        self._running.add(key)
                        self._next_start = now + self.stagger
                        return key, self._configs[key]
                elif self._closed:
                    return None
                self._lock.wait(max(0.001, wait))

    def _taken(self, key: Hashable) -> bool:
        return key in self._outcomes or key in self._running

    def _work(self) -> None:
        while (job := self._next()) is not None:
            key, config = job
            outcome = self._probe(config)
            with self._lock:
                self._running.discard(key)
                self._outcomes[key] = outcome
        with self._lock:
            self._lock.notify_all()

    def _probe(self, config: ProbeConfig) -> ProbeOutcome:
        config = replace(config, deadline=min(config.deadline, self.deadline_at - time.monotonic()))
        result = run_probe(config)
        login = None
        caps = result.capabilities_after if result.tls is not None else None
        if self.verify_login is not None and caps is not None and caps.auth_mechanisms:
            left = self.deadline_at - time.monotonic()
            login = self.verify_login(replace(config, deadline=left)) if left > 0.05 else None
        return ProbeOutcome(result, login, None)


def run_staggered(configs: list[ProbeConfig], *, concurrency: int, stagger: float, deadline_at: float,
                  verify_login: LoginCheck | None = None) -> list[ProbeOutcome]:
    """One outcome per config, in the same order (all known at once: started in that order)."""
    queue = ProbeQueue(concurrency=concurrency, stagger=stagger, deadline_at=deadline_at,
                       verify_login=verify_login)
    for index, config in enumerate(configs):
        queue.submit(index, (index,), config)
    outcomes = queue.close()
    return [outcomes[index] for index in range(len(configs))]
