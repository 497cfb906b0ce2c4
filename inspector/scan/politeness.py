"""Politeness: who may connect where and when, and which tries must not count.

- at most ``per_address`` sessions to one server address at a time (default 1);
- at most ``per_network`` to one /24 (IPv4) or /48 (IPv6) at a time;
- at most ``rate`` connection starts per second over the whole scan;
- after a 421 (RFC 5321 §3.8: the server is closing, try later), a refused
  or a dropped connection, that address cools down (1 s, doubling, capped),
  and the try is discarded: no verdict comes from a throttled try.

One lock guards all of it; workers ask :meth:`Politeness.try_acquire` and
the scheduler waits on the returned hint when nothing may start yet.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from .targets import prefix_of

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0


class Politeness:
    def __init__(self, *, per_address: int = 1, per_network: int = 8, rate: float | None = None,
                 backoff_first: float = BACKOFF_FIRST, backoff_max: float = BACKOFF_MAX,
                 network_limits: dict[str, int] | None = None) -> None:
        self.per_address = per_address
        self.per_network = per_network
        #: a cluster partition's share of a /24 or /48 that other partitions also hold (partition.py)
        self.network_limits = network_limits or {}
        self.interval = 1.0 / rate if rate else 0.0
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.lock = threading.Lock()
        self.by_address: Counter = Counter()
        self.by_network: Counter = Counter()
        self.cooling_until: dict[str, float] = {}
        self.strikes: Counter = Counter()
        self.next_start = 0.0
        self.connections = 0

    def wait_for(self, address: str, now: float) -> float:
        """Seconds until ``address`` may be tried (0: now); call with the lock held."""
        if self.by_address[address] >= self.per_address or \
                self.by_network[prefix_of(address)] >= self.network_limit(address):
            return 0.05   # freed when a session ends; the scheduler is woken then too
        return max(self.cooling_until.get(address, 0.0) - now, self.next_start - now, 0.0)

    def network_limit(self, address: str) -> int:
        return self.network_limits.get(prefix_of(address), self.per_network)

    def try_acquire(self, address: str, now: float) -> bool:
        """Take a slot for ``address`` if every limit allows it now; call with the lock held."""
        if self.wait_for(address, now) > 0:
            return False
        self.by_address[address] += 1
        self.by_network[prefix_of(address)] += 1
        self.next_start = max(now, self.next_start) + self.interval
        self.connections += 1
        return True

    def count_connections(self, n: int) -> None:
        """Extra connections a session opened under its slot (the TLS audit's)."""
        with self.lock:
            self.connections += n

    def release(self, address: str, *, throttled: bool, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            self.by_address[address] -= 1
            self.by_network[prefix_of(address)] -= 1
            if throttled:
                self.strikes[address] += 1
                pause = min(self.backoff_first * 2 ** (self.strikes[address] - 1), self.backoff_max)
                self.cooling_until[address] = now + pause
            else:
                self.strikes.pop(address, None)


def throttled(result) -> str | None:
    """Why a probe result is a throttled try (421, refused, dropped), or None when it is a verdict."""
    for step in result.steps:
        if step.reply is not None and step.reply.code == 421:
            return f"{step.name}: {step.reply.summary()[:80]}"
    failed = next((s for s in result.steps if s.status == "failed"), None)
    if failed is None or failed.name not in ("connect", "greeting"):
        return None
    detail = failed.detail or ""
    if failed.name == "connect" and "refused" in detail:
        return "connect: refused"
    if failed.name == "greeting" and ("closed" in detail or "reset" in detail):
        return f"greeting: {detail[:80]}"
    return None
