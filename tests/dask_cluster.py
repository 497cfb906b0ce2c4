"""A real Dask distributed cluster for scan tests: ``dask scheduler`` and ``dask worker`` processes.

Started inside the scan world's network namespace (where the target servers
are), on 127.0.0.1 with a port the scheduler picks (``--port 0``; the address is
read from its ``--scheduler-file``). Workers run without a nanny, so the
process the test holds is the worker itself: SIGKILL kills it for real, and
Dask must re-run its tasks elsewhere. Each worker carries a vantage label via
the ``inspector.scan.vantage`` preload.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

BIN = os.path.dirname(sys.executable)


class DaskCluster:
    def __init__(self, world, tmp_path, vantages=("lab-a", "lab-b"), threads: int = 2) -> None:
        self.world, self.tmp = world, str(tmp_path)
        self.vantages, self.threads = vantages, threads
        self.scheduler = None
        self.workers: list[subprocess.Popen] = []
        self.address = None

    def _spawn(self, argv, log: str) -> subprocess.Popen:
        out = open(os.path.join(self.tmp, log), "wb")
        return subprocess.Popen(self.world.netns_command(argv), stdout=out, stderr=subprocess.STDOUT)

    def start(self) -> DaskCluster:
        path = os.path.join(self.tmp, "scheduler.json")
        self.scheduler = self._spawn([os.path.join(BIN, "dask"), "scheduler", "--host", "127.0.0.1",
                                      "--port", "0", "--no-dashboard", "--scheduler-file", path],
                                     "scheduler.log")
        for _ in range(300):
            if os.path.exists(path):
                try:
                    self.address = json.load(open(path))["address"]
                    break
                except ValueError:
                    pass
            time.sleep(0.1)
        else:
            raise RuntimeError("the Dask scheduler did not start")
        for i, vantage in enumerate(self.vantages):
            self.add_worker(vantage, i)
        self.wait_for_workers(len(self.vantages))
        return self

    def add_worker(self, vantage: str, i: int) -> subprocess.Popen:
        worker = self._spawn([os.path.join(BIN, "dask"), "worker", self.address, "--nworkers", "1",
                              "--nthreads", str(self.threads), "--no-nanny", "--no-dashboard",
                              "--host", "127.0.0.1", "--preload", "inspector.scan.vantage",
                              "--vantage", vantage], f"worker-{i}.log")
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int) -> None:
        code = (f"from distributed import Client; c = Client({self.address!r}, timeout=20); "
                f"c.wait_for_workers({n}, timeout=60); c.close()")
        subprocess.run(self.world.netns_command([sys.executable, "-c", code]), check=True, timeout=90)

    def kill_worker(self, i: int) -> None:
        self.workers[i].send_signal(signal.SIGKILL)
        self.workers[i].wait(timeout=10)

    def stop(self) -> None:
        for process in self.workers + [self.scheduler]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
