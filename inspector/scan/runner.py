"""The concurrent runner: worker threads drive the probe's blocking session core; one writer stores.

Threads, not asyncio: every check is the probe's own session code
(``ProbeSession`` over the sans-I/O client and ``net/transport.py``), which
is blocking; a thread per session reuses it unchanged, and the GIL is
released in every socket wait and TLS handshake. (bench/scan_vs_sslyze.py
measures it.) The scheduler hands a worker the first session the politeness
limits allow, else a target to resolve; finished targets go through one
queue to the single writer (the caller's thread), which commits in batches.
Ctrl-C in the writer's thread stops the scheduler, stores every finished
target and leaves the rest for ``--resume``.
"""

from __future__ import annotations

import datetime
import queue
import threading
import time

from ..collector import tuned_for_batch
from ..frozen import field, mutable, replace
from .plan import CheckOptions, audit_config, finish_domain, plan_target, probe_config
from .politeness import Politeness, throttled
from .record import EndpointOutcome, TargetPlan, build_row
from .targets import Exclusions, Resolver, Target

LOOKAHEAD = 4          #: resolved-but-waiting sessions kept per worker
#: the writer wakes at most this often while targets finish: each wake-up takes the GIL from the
#: workers (a thread switch), so one per finished target costs the scan a few per cent
WRITER_TICK = 0.05
#: the older generations' collector thresholds during a scan (default 10, 10), beside
#: collector.YOUNG_THRESHOLD: 64 sessions in flight, each leaving cyclic garbage until its end
#: (10% of the scan's CPU at 2,000 targets went to full collections, growing with the list)
SCAN_GC_OLDER = (20, 10)
#: CPython's switch interval during a scan (default 5 ms). A thread waiting for the GIL wakes at
#: every interval to ask for it; with 64 workers those wake-ups were most of the scan's futex
#: calls (strace, 500 targets: 464-1,098 futex calls a target, 114-404 of them timed-out
#: waits, at 5 ms; 262-267 and 19-20 at 50 ms). The GIL still changes hands at every socket
#: wait and TLS step; the interval only bounds how long pure computation may keep it.
SCAN_SWITCH_INTERVAL = 0.05


@mutable
class Summary:
    total: int
    stored: int = 0
    new: int = 0             #: targets stored by this run
    connections: int = 0
    elapsed: float = 0.0
    interrupted: bool = False
    deadline_reached: bool = False
    cluster: dict | None = None          #: --cluster: partitions, slots, resolve_s, tasks_s (schema)
    failures: list = field(default_factory=list)   #: --cluster: partitions that failed


class Scheduler:
    def __init__(self, targets: list[Target], options: CheckOptions, exclusions: Exclusions,
                 politeness: Politeness, workers: int, deadline_at: float | None) -> None:
        self.to_resolve = list(reversed(targets))
        self.options = options
        self.exclusions = exclusions
        self.politeness = politeness
        self.workers = workers
        self.deadline_at = deadline_at
        self.cond = threading.Condition(politeness.lock)
        self.ready: list[tuple[TargetPlan, EndpointOutcome]] = []
        self.busy = 0
        self.stopping = False
        self.finished: queue.Queue = queue.Queue()
        #: one per scan: a name many targets share is looked up once (targets.Resolver)
        self.resolver = Resolver(options.dns_server, options.timeout, source_address=options.source_address)

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    # -- what a worker does next ------------------------------------------------------
    def take(self):
        with self.cond:
            while True:
                now = time.monotonic()
                if self.deadline_at is not None and now >= self.deadline_at:
                    self.stopping = True
                if self.stopping:
                    return None
                job, wait = self._session(now)
                if job is not None:
                    self.busy += 1
                    return job
                if self.to_resolve and len(self.ready) < LOOKAHEAD * self.workers:
                    self.busy += 1
                    return ("resolve", self.to_resolve.pop())
                if not self.to_resolve and not self.ready and self.busy == 0:
                    self.cond.notify_all()
                    return None
                self.cond.wait(timeout=min(wait, 0.5))

    def _session(self, now: float):
        wait = 0.5
        for i, (plan, outcome) in enumerate(self.ready):
            if now >= plan.deadline_at:
                del self.ready[i]
                outcome.status, outcome.reason = "deadline", "the target's deadline passed while waiting"
                self._maybe_finish(plan)
                return None, 0.0
            address = outcome.endpoint.address
            if self.politeness.try_acquire(address, now):
                del self.ready[i]
                return ("session", plan, outcome), 0.0
            wait = min(wait, max(self.politeness.wait_for(address, now), 0.01))
        return None, wait

    def _maybe_finish(self, plan: TargetPlan) -> None:
        """Hand a complete plan to the writer, once (called with the lock held)."""
        if plan.complete and not plan.queued:
            plan.queued = True
            self.finished.put(plan)

    def done_with(self, plan: TargetPlan, requeue: EndpointOutcome | None = None, *, resolved=False) -> None:
        with self.cond:
            self.busy -= 1
            if resolved:
                pending = [o for o in plan.endpoints if o.status == "pending"]
                self.ready += [(plan, o) for o in pending]
            if requeue is not None:
                self.ready.append((plan, requeue))
            self._maybe_finish(plan)
            self.cond.notify_all()

    # -- the work ---------------------------------------------------------------------
    def worker(self) -> None:
        while (job := self.take()) is not None:
            try:
                if job[0] == "resolve":
                    plan = plan_target(job[1], self.options, self.exclusions, self.resolver)
                    self.done_with(plan, resolved=True)
                else:
                    _, plan, outcome = job
                    again = self._run_session(plan, outcome)
                    self.done_with(plan, outcome if again else None)
            except Exception as exc:  # a bug: the target is stored with the reason, the scan goes on
                self._bug(job, exc)

    def _bug(self, job, exc: Exception) -> None:
        if job[0] == "resolve":
            plan = TargetPlan(job[1], time.monotonic(), status="error",
                              reason=f"internal error: {type(exc).__name__}: {exc}")
            self.done_with(plan, resolved=True)
            return
        _, plan, outcome = job
        outcome.status, outcome.reason = "error", f"internal error: {type(exc).__name__}: {exc}"
        self.done_with(plan)

    def _run_session(self, plan: TargetPlan, outcome: EndpointOutcome) -> bool:
        """One try under the address's slot; True when it was throttled and should be tried again."""
        from ..probes.session import run_probe

        endpoint, options = outcome.endpoint, self.options
        outcome.attempts += 1
        left = min(plan.deadline_at, self.deadline_at or plan.deadline_at) - time.monotonic()
        result = run_probe(probe_config(endpoint, options, max(0.1, min(options.session_deadline, left))))
        why = throttled(result)
        if why is None and options.checks == "full" and result.tls is not None:
            from ..probes.tls_audit import run_tls_audit

            left = plan.deadline_at - time.monotonic()
            if left > 1:
                outcome.audit = run_tls_audit(audit_config(endpoint, options,
                                                           min(options.session_deadline, left)))
                self.politeness.count_connections(outcome.audit.connections)
        self.politeness.release(endpoint.address, throttled=why is not None)
        if why is None:
            outcome.status, outcome.probe = "done", result
        else:
            outcome.throttled.append(why)
            if outcome.attempts <= options.retries and time.monotonic() < plan.deadline_at:
                return True
            refused = all(w == "connect: refused" for w in outcome.throttled)
            outcome.status = "unreachable" if refused else "throttled"
            outcome.reason = f"{'refused' if refused else 'throttled'} on every try: {why}"
        return False


def run_scan(targets: list[Target], *, storage, scan_id: int, options: CheckOptions, exclusions: Exclusions,
             politeness: Politeness, concurrency: int, scan_deadline: float | None, batch_size: int = 200,
             progress=None, vantage: str | None = None) -> Summary:
    """Scan ``targets`` into ``scan_id``; returns when all are stored, the deadline passes, or on Ctrl-C."""
    with tuned_for_batch(older=SCAN_GC_OLDER, switch_interval=SCAN_SWITCH_INTERVAL):
        return _run_scan(targets, storage=storage, scan_id=scan_id, options=options, exclusions=exclusions,
                         politeness=politeness, concurrency=concurrency, scan_deadline=scan_deadline,
                         batch_size=batch_size, progress=progress, vantage=vantage)


def _run_scan(targets, *, storage, scan_id, options, exclusions, politeness, concurrency, scan_deadline,
              batch_size, progress, vantage) -> Summary:
    started = time.monotonic()
    deadline_at = started + scan_deadline if scan_deadline else None
    scheduler = Scheduler(targets, options, exclusions, politeness, concurrency, deadline_at)
    threads = [threading.Thread(target=scheduler.worker, name=f"scan-{i}", daemon=True)
               for i in range(max(1, min(concurrency, len(targets) or 1)))]
    for thread in threads:
        thread.start()
    summary = Summary(total=len(targets))
    batch, last_write = [], time.monotonic()

    def flush() -> None:
        nonlocal batch, last_write
        storage.write_rows(scan_id, batch)
        summary.stored += len(batch)
        batch, last_write = [], time.monotonic()

    def take_finished(block: bool) -> bool:
        try:
            plan = scheduler.finished.get(timeout=0.2) if block else scheduler.finished.get_nowait()
        except queue.Empty:
            return False
        finish_domain(plan, options)
        row = build_row(plan, _now(), options.source_address)
        batch.append(replace(row, vantage=vantage) if vantage else row)
        return True

    try:
        while True:
            if take_finished(block=True):
                while take_finished(block=False):   # every target that finished meanwhile
                    pass
                time.sleep(WRITER_TICK)   # let the next ones gather: one wake-up of this thread for many
            elif not any(t.is_alive() for t in threads) and scheduler.finished.empty():
                break
            if deadline_at is not None and time.monotonic() >= deadline_at:
                scheduler.stop()   # sessions still running are abandoned: --resume redoes them
                while take_finished(block=False):
                    pass
                break
            if len(batch) >= batch_size or (batch and time.monotonic() - last_write >= 0.5):
                flush()
            if progress is not None:
                progress.update(summary.stored + len(batch), summary.total, politeness.connections)
        flush()
    except KeyboardInterrupt:
        _ignore_interrupts()   # a second Ctrl-C must not cut the last batch in half
        scheduler.stop()
        summary.interrupted = True
        while take_finished(block=False):   # every target finished before the interrupt is kept
            pass
        storage.connection.rollback()   # the interrupt may have come inside a batch's transaction
        stored = storage.done_targets(scan_id)
        batch = [row for row in batch if row.target not in stored]
        flush()
    wanted = {t.text for t in targets}
    summary.stored = summary.new = len(storage.done_targets(scan_id) & wanted)   # the database's word
    summary.deadline_reached = not summary.interrupted and summary.stored < summary.total
    if progress is not None:
        progress.update(summary.stored, summary.total, politeness.connections, force=True)
    summary.connections = politeness.connections
    summary.elapsed = time.monotonic() - started
    return summary


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _ignore_interrupts() -> None:
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


__all__ = ["CheckOptions", "Summary", "run_scan"]
