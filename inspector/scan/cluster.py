"""``scan --cluster``: the same scan as a local one, one Dask task per partition (imported only then).

The client cuts the targets into partitions by address (partition.py), and
submits one task per partition; a task runs the local concurrent runner
(runner.py) over its targets under its own politeness limits (its share of
each /24, and ``--rate`` divided by the number of tasks that can run at once).

Where results go: with SQLite the client is the single writer, each task
returns its rows and the client stores them as tasks finish (``as_completed``);
with PostgreSQL each task writes its own rows in batches, idempotently
(primary key (scan_id, target), ``ON CONFLICT DO NOTHING``), and skips the
targets a first run of the same partition already stored. A worker killed
mid-partition: Dask runs the task again on another worker. The client
killed: nothing more is stored (SQLite) or the running tasks finish
(PostgreSQL); ``--resume`` scans what is missing. The scheduler unreachable:
:class:`~inspector.errors.ClusterError` (exit 22) before anything starts,
or, when lost mid-scan, after every returned row is stored.
"""

from __future__ import annotations

import threading
import time

from ..errors import ClusterError, UsageError
from ..frozen import frozen
from .partition import Partition, partition, resolve_all
from .runner import Summary, run_scan

CONNECT_TIMEOUT = 10.0
PROGRESS_TOPIC = "smtp-inspector-scan-progress"


@frozen
class PartitionJob:
    """What one task needs: plain data, pickled to the worker."""

    scan_id: int
    index: int
    targets: list
    options: object                  #: CheckOptions
    exclude_lines: list[str]
    per_address: int
    per_network: int
    network_limits: dict
    rate: float | None               #: this task's share of --rate
    concurrency: int
    deadline_epoch: float | None     #: the scan's deadline, wall clock (tasks may start late)
    db_url: str | None               #: PostgreSQL: the task writes itself; None: rows go back
    vantage: str | None


class RowCollector:
    """The runner's storage on a worker when the client writes (SQLite): rows kept to return."""

    class _Connection:
        def rollback(self) -> None:
            pass

    def __init__(self) -> None:
        self.rows: list = []
        self.connection = self._Connection()

    def write_rows(self, scan_id: int, rows: list) -> None:
        self.rows += rows

    def done_targets(self, scan_id: int) -> set[str]:
        return {r.target for r in self.rows}


class EventProgress:
    """The runner's progress on a worker: counts to the client as Dask events, five a second at most."""

    def __init__(self, scan_id: int, index: int) -> None:
        self.topic, self.index, self.last = f"{PROGRESS_TOPIC}-{scan_id}", index, 0.0

    def update(self, done: int, total: int, connections: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= 0.2:
            self.last = now
            from distributed import get_worker

            get_worker().log_event(self.topic, {"index": self.index, "done": done,
                                                "connections": connections})


def scan_partition(job: PartitionJob) -> dict:
    """The task: scan one partition on a worker (module-level so Dask pickles it by reference)."""
    from distributed import get_worker

    from .politeness import Politeness
    from .storage import open_storage
    from .targets import Exclusions

    worker = get_worker()
    vantage = job.vantage or getattr(worker, "smtp_inspector_vantage", None)
    todo, storage = job.targets, RowCollector()
    if job.db_url is not None:
        storage = open_storage(job.db_url, migrate=False)
        storage.ignore_duplicates = True
        done = storage.done_targets(job.scan_id)
        todo = [t for t in job.targets if t.text not in done]   # a re-run skips what the first stored
    politeness = Politeness(per_address=job.per_address, per_network=job.per_network, rate=job.rate,
                            network_limits=job.network_limits)
    left = None if job.deadline_epoch is None else max(0.1, job.deadline_epoch - time.time())
    try:
        summary = run_scan(todo, storage=storage, scan_id=job.scan_id, options=job.options,
                           exclusions=Exclusions.parse(job.exclude_lines), politeness=politeness,
                           concurrency=job.concurrency, scan_deadline=left,
                           progress=EventProgress(job.scan_id, job.index), vantage=vantage)
    finally:
        if job.db_url is not None:
            storage.close()
    return {"index": job.index, "rows": storage.rows if job.db_url is None else [],
            "scanned": len(todo), "stored": summary.new, "connections": summary.connections,
            "elapsed": summary.elapsed, "worker": worker.address, "vantage": vantage}


def connect(spec: str):
    """A Dask client for ``tcp://HOST:PORT`` or ``local:N``; ClusterError when no scheduler answers."""
    import logging

    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--cluster needs Dask: pip install 'smtp-inspector[cluster]'") from None
    for name in ["distributed", *logging.root.manager.loggerDict]:   # Dask configures some itself
        if name.split(".")[0] == "distributed":
            logging.getLogger(name).setLevel(logging.CRITICAL)   # we say what failed, in one line

    if spec.startswith("local:"):
        count = spec.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise UsageError(f"--cluster local:N needs a number of worker processes, not {spec!r}")
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=int(count), threads_per_worker=2, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        return Client(cluster)
    import os

    try:
        return Client(spec, timeout=float(os.environ.get("SMTP_INSPECTOR_CLUSTER_TIMEOUT", CONNECT_TIMEOUT)))
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {spec}: {reason}") from None


def close(client) -> None:
    cluster = getattr(client, "cluster", None)
    try:
        client.close(timeout=10)
        if cluster is not None:
            cluster.close(timeout=10)
    except Exception:   # closing a lost cluster: nothing left to save
        pass


def vantage_workers(client, vantage: str) -> list[str]:
    """The addresses of the workers started with ``--vantage NAME``; UsageError when there are none."""
    labels = client.run(lambda dask_worker: getattr(dask_worker, "smtp_inspector_vantage", None))
    found = [address for address, label in labels.items() if label == vantage]
    if not found:
        raise UsageError(f"no worker of the cluster has vantage {vantage!r} (start workers with "
                         f"--preload inspector.scan.vantage --vantage {vantage})")
    return found


def run_cluster_scan(client, targets, *, storage, db_url: str | None, scan_id: int, options, stored: dict,
                     scan_deadline: float | None, partition_size: int, vantage: str | None,
                     progress=None) -> Summary:
    """Scan ``targets`` on the cluster; the same Summary as a local scan."""
    from distributed import as_completed

    from .targets import Exclusions

    started = time.monotonic()
    summary = Summary(total=len(targets))
    if not targets:
        return summary
    exclusions = Exclusions.parse(stored["exclude_lines"])
    addresses = resolve_all(targets, options, exclusions, stored["concurrency"])
    resolve_s = time.monotonic() - started
    parts: list[Partition] = partition(targets, addresses, size=partition_size,
                                       per_network=stored["per_network"])
    restrict = None
    if vantage is not None:
        restrict = vantage_workers(client, vantage)
    slots = max(1, sum(n for a, n in client.nthreads().items() if restrict is None or a in restrict))
    rate = stored["rate"] / min(slots, len(parts)) if stored["rate"] else None
    deadline_epoch = time.time() + scan_deadline if scan_deadline else None
    counts: dict[int, tuple[int, int]] = {}
    lock = threading.Lock()

    def on_progress(event) -> None:
        message = event[1]
        with lock:
            counts[message["index"]] = (message["done"], message["connections"])

    topic = f"{PROGRESS_TOPIC}-{scan_id}"
    client.subscribe_topic(topic, on_progress)
    jobs = [PartitionJob(scan_id, i, part.targets, options, stored["exclude_lines"], stored["per_address"],
                         stored["per_network"], part.network_limits, rate, stored["concurrency"],
                         deadline_epoch, db_url, vantage) for i, part in enumerate(parts)]
    where = {} if restrict is None else {"workers": restrict, "allow_other_workers": False}
    futures = [client.submit(scan_partition, job, pure=False, **where) for job in jobs]
    finished: dict[int, dict] = {}
    failures: list[str] = []
    pending = as_completed(futures)
    try:
        while not pending.is_empty():
            for future in pending.next_batch(block=False):
                _collect(future, storage, db_url, scan_id, finished, failures)
            if deadline_epoch is not None and time.time() > deadline_epoch + 5:
                break   # tasks stop at the deadline themselves; the few seconds are for their rows
            if progress is not None:
                with lock:
                    done = sum(v[0] for k, v in counts.items() if k not in finished)
                    connections = sum(v[1] for v in counts.values())
                done += sum(r["stored"] for r in finished.values())
                progress.update(done, summary.total, connections)
            time.sleep(0.1)
    except KeyboardInterrupt:
        summary.interrupted = True
        storage.connection.rollback()   # the interrupt may have come inside a partition's transaction
    finally:
        client.unsubscribe_topic(topic)
        client.cancel([f for f in futures if not f.done()])
    summary.cluster = {"partitions": len(parts), "slots": slots, "resolve_s": round(resolve_s, 3),
                       "tasks_s": round(sum(r["elapsed"] for r in finished.values()), 3),
                       "failed_partitions": len(failures)}
    summary.connections = sum(r["connections"] for r in finished.values())
    wanted = {t.text for t in targets}
    summary.stored = summary.new = len(storage.done_targets(scan_id) & wanted)
    summary.deadline_reached = not summary.interrupted and summary.stored < summary.total
    summary.elapsed = time.monotonic() - started
    if progress is not None:
        progress.update(summary.stored, summary.total, summary.connections, force=True)
    lost = next((f for f in failures if f.startswith("lost:")), None)
    if lost is not None:
        raise ClusterLost(f"the Dask scheduler was lost mid-scan ({lost[5:]}); "
                          f"{summary.stored}/{summary.total} targets stored", summary)
    summary.failures = failures
    return summary


class ClusterLost(ClusterError):
    def __init__(self, message: str, summary: Summary) -> None:
        super().__init__(message)
        self.summary = summary


def _collect(future, storage, db_url, scan_id: int, finished: dict, failures: list) -> None:
    """One finished task: its rows into the database (SQLite), or a failure noted."""
    from distributed.client import FutureCancelledError

    try:
        result = future.result()
    except FutureCancelledError as exc:
        reason = getattr(exc, "reason", None) or str(exc).split(" for reason: ")[-1]
        failures.append(f"lost:{reason.splitlines()[0].rstrip('.')}")
        return
    except (OSError, TimeoutError) as exc:
        failures.append(f"lost:{type(exc).__name__}: {exc}")
        return
    except Exception as exc:   # KilledWorker after Dask's retries, a bug in the task
        failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        return
    if db_url is None:
        storage.write_rows(scan_id, result["rows"])
        result["stored"] = len(result["rows"])
    result.pop("rows", None)
    finished[result["index"]] = result
