"""``scan --cluster`` on a real Dask distributed cluster: a scheduler and two worker processes.

The targets are tests/scan_responder.py's servers (Postfix-shaped replies) in
the namespace ``dask-<pid>``; the scheduler and workers run there too
(tests/dask_cluster.py). A worker is killed with SIGKILL mid-partition
(tarpits make every partition last over two seconds): Dask re-runs its
tasks on the other worker, every target is stored exactly once, and the
verdicts are the same as a local scan of the same list. With PostgreSQL
the workers write themselves; the client killed mid-scan resumes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from importlib import resources

import jsonschema
import pytest

from tests import netns_bed
from tests.dask_cluster import DaskCluster
from tests.scan_world import DOMAINS, ScanWorld, name
from tests.test_scan_storage import postgres_dsn

pytestmark = pytest.mark.skipif(netns_bed.why_unavailable() is not None,
                                reason=str(netns_bed.why_unavailable()))

N = 120
PLANTED = {"expired": (40, 100), "nostarttls": (41, 101), "masked": (42, 102)}
TARPITS = tuple(range(5, N, 21))     #: a 2.2 s greeting in every partition: a kill lands mid-partition
SCAN_ARGS = ("--rate", "0", "--concurrency", "8", "--per-network", "64", "--timeout", "5")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask-world")
    faults = {i: fault for fault, indexes in PLANTED.items() for i in indexes}
    faults.update({i: "tarpit" for i in TARPITS})
    w = ScanWorld(tmp, N, faults, namespace=f"dask-{os.getpid()}").start()
    w.tmp_path = tmp
    (tmp / "targets").write_text("\n".join(w.targets + list(DOMAINS)) + "\n")
    yield w
    w.stop()


@pytest.fixture(scope="module")
def cluster(world, tmp_path_factory):
    c = DaskCluster(world, tmp_path_factory.mktemp("dask-cluster")).start()
    yield c
    c.stop()


def schema(name_: str) -> dict:
    return json.loads(resources.files("inspector").joinpath(f"schema/{name_}.schema.json").read_text())


def verdicts(rows) -> dict:
    return {target: (status, starttls, tls, trusted, " ".join(sorted(ids.split())))
            for target, status, starttls, tls, trusted, ids, _ in rows}


def sqlite_rows(db) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT target, status, starttls, tls_version, trusted, finding_ids, "
                                  "vantage FROM results").fetchall()


@pytest.fixture(scope="module")
def local_scan(world):
    db = world.tmp_path / "local.sqlite"
    before = world.connections()
    done = subprocess.run(world.scan_command(str(world.tmp_path / "targets"), "--db", str(db), *SCAN_ARGS),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr   # the expired certificates
    return sqlite_rows(db), world.connections() - before


def wait_until(check, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_worker_killed_mid_scan_every_target_once_same_verdicts(world, cluster, local_scan):
    local_rows, local_connections = local_scan
    db = world.tmp_path / "cluster.sqlite"
    before = world.connections()
    scan = subprocess.Popen(world.scan_command(str(world.tmp_path / "targets"), "--db", str(db), *SCAN_ARGS,
                                               "--cluster", cluster.address, "--partition-size", "25",
                                               "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: world.connections() - before >= 40)
    time.sleep(0.5)                    # inside the first partitions' tarpits
    cluster.kill_worker(0)
    out, err = scan.communicate(timeout=180)
    assert scan.returncode == 1, err
    summary = json.loads(out)
    jsonschema.validate(summary, schema("scan-summary"))
    assert summary["stored"] == summary["targets"] == N + len(DOMAINS)
    assert summary["cluster"]["partitions"] > 4 and summary["cluster"]["failed_partitions"] == 0
    rows = sqlite_rows(db)
    assert len(rows) == len({r[0] for r in rows}) == N + len(DOMAINS)   # every target, exactly once
    assert verdicts(rows) == verdicts(local_rows)
    assert {r[6] for r in rows} <= {"lab-a", "lab-b"} and "lab-b" in {r[6] for r in rows}
    # the killed worker's partitions ran again: more connections than the local scan needed
    assert world.connections() - before > local_connections


def cluster_dsn() -> str:
    """Our own database on the test PostgreSQL, through its Unix socket: the namespace's loopback
    is not the host's, the file system is the same."""
    import psycopg

    base = psycopg.conninfo.conninfo_to_dict(postgres_dsn())
    with psycopg.connect(postgres_dsn(), autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = 'scan_tests_dask'").fetchone()
        if found is None:
            connection.execute("CREATE DATABASE scan_tests_dask")
        socket_dir = connection.execute("SHOW unix_socket_directories").fetchone()[0].split(",")[0]
    return (f"postgresql://{base.get('user', 'postgres')}@/scan_tests_dask?host={socket_dir}"
            f"&port={base.get('port', 5432)}")


def pg_reset(dsn: str) -> None:
    from inspector.scan.storage import open_storage

    storage = open_storage(dsn, migrate=False)
    for table in ("result_findings", "results", "scans", "schema_version"):
        storage.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    storage.commit()
    storage.close()


def pg_rows(dsn: str, scan_id: int | None = None) -> list[tuple]:
    import psycopg

    with psycopg.connect(dsn) as connection:
        where = "" if scan_id is None else f" WHERE scan_id = {int(scan_id)}"
        return connection.execute("SELECT target, status, starttls, tls_version, trusted, finding_ids, "
                                  "vantage FROM results" + where).fetchall()


def test_postgresql_workers_write_directly_through_a_worker_kill_and_a_client_kill(world, cluster,
                                                                                      local_scan):
    dsn = cluster_dsn()
    pg_reset(dsn)
    cluster.add_worker("lab-c", 2)
    cluster.wait_for_workers(2)
    command = world.scan_command(str(world.tmp_path / "targets"), "--db", dsn, *SCAN_ARGS,
                                 "--cluster", cluster.address, "--partition-size", "25", "--json")
    # 1. a worker killed mid-scan: its partitions re-run, their stored rows are skipped, none twice
    before = world.connections()
    scan = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: world.connections() - before >= 40)
    time.sleep(0.5)
    cluster.kill_worker(1)
    out, err = scan.communicate(timeout=180)
    assert scan.returncode == 1, err
    rows = pg_rows(dsn)
    assert len(rows) == len({r[0] for r in rows}) == N + len(DOMAINS)
    assert verdicts(rows) == verdicts(local_scan[0])
    assert {r[6] for r in rows} <= {"lab-b", "lab-c"}   # lab-a was killed in the test before
    # 2. the client killed mid-scan (lab-c is the last worker): the workers' rows stay, --resume
    # stores the rest, none twice
    scan = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: len(pg_rows(dsn)) >= N + len(DOMAINS) + 30)
    scan.send_signal(signal.SIGKILL)
    scan.wait(timeout=10)
    scan_id = max(pg_rows_scan_ids(dsn))
    assert len(pg_rows(dsn, scan_id)) < N + len(DOMAINS)
    # tasks still running when the client died may go on writing while the resumed scan writes too
    done = subprocess.run(world.scan_command("--resume", str(scan_id), "--db", dsn,
                                             "--cluster", cluster.address, "--json"),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["stored"] == N + len(DOMAINS)
    rows = pg_rows(dsn, scan_id)
    assert len(rows) == len({r[0] for r in rows}) == N + len(DOMAINS)
    assert verdicts(rows) == verdicts(local_scan[0])


def pg_rows_scan_ids(dsn: str) -> set[int]:
    import psycopg

    with psycopg.connect(dsn) as connection:
        return {r[0] for r in connection.execute("SELECT id FROM scans").fetchall()}


def test_vantage_label_selects_workers(world, cluster, tmp_path):
    (tmp_path / "targets").write_text("".join(f"{name(i)}:25\n" for i in range(60, 80)))
    db = tmp_path / "db.sqlite"
    done = subprocess.run(world.scan_command(str(tmp_path / "targets"), "--db", str(db), *SCAN_ARGS,
                                             "--cluster", cluster.address, "--vantage", "lab-c"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {r[6] for r in sqlite_rows(db)} == {"lab-c"}
    done = subprocess.run(world.scan_command(str(tmp_path / "targets"), "--db", str(db),
                                             "--cluster", cluster.address, "--vantage", "elsewhere"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no worker of the cluster has vantage 'elsewhere'" in done.stderr
    with sqlite3.connect(db) as connection:   # refused before a scan is created
        assert connection.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 1


def test_scheduler_lost_mid_scan_exit_22_then_resume(world, cluster, local_scan):
    """Last of the cluster's tests: it kills the scheduler."""
    db = world.tmp_path / "lost.sqlite"
    before = world.connections()
    scan = subprocess.Popen(world.scan_command(str(world.tmp_path / "targets"), "--db", str(db), *SCAN_ARGS,
                                               "--cluster", cluster.address, "--partition-size", "25"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: world.connections() - before >= 40)
    cluster.scheduler.send_signal(signal.SIGKILL)
    out, err = scan.communicate(timeout=120)
    assert scan.returncode == 22, err
    last = err.splitlines()[-1]
    assert last.startswith("smtp-inspector scan: error: the Dask scheduler was lost mid-scan"), err
    assert "Traceback" not in err
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT id, status FROM scans").fetchall() == [(1, "interrupted")]
    done = subprocess.run(world.scan_command("--resume", "1", "--db", str(db), *SCAN_ARGS),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    rows = sqlite_rows(db)
    assert len(rows) == len({r[0] for r in rows}) == N + len(DOMAINS)
    assert verdicts(rows) == verdicts(local_scan[0])


def test_unreachable_scheduler_one_line_exit_22_nothing_stored(tmp_path):
    (tmp_path / "targets").write_text("127.0.0.1:25\n")
    db = tmp_path / "db.sqlite"
    env = dict(os.environ, SMTP_INSPECTOR_CLUSTER_TIMEOUT="2")
    done = subprocess.run([sys.executable, "-m", "inspector", "scan", str(tmp_path / "targets"),
                           "--db", str(db), "--cluster", "tcp://127.0.0.1:9"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 22, done.stderr
    assert done.stderr.startswith("smtp-inspector scan: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(done.stderr.splitlines()) == 1
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 0


def test_without_cluster_nothing_of_dask_is_imported(tmp_path):
    (tmp_path / "targets").write_text("127.0.0.1:9\n")
    code = ("import sys; from inspector.cli import main; "
            f"rc = main(['scan', {str(tmp_path / 'targets')!r}, '--db', {str(tmp_path / 'db')!r}, "
            "'--retries', '0']); "
            "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "0 []", (done.stdout, done.stderr)


def test_diff_by_vantage_shows_a_path_that_strips_starttls(tmp_path):
    """Two networks (namespaces), the same ten servers; in the second, the path masks STARTTLS
    (the Cisco PIX/ASA "XXXXXXXA" rewrite, tests/scan_responder.py's "masked")."""
    db = tmp_path / "db.sqlite"
    targets = tmp_path / "targets"
    targets.write_text("".join(f"{name(i)}:25\n" for i in range(4, 10)))
    certs = None
    for vantage, faults in (("isp-a", {}), ("isp-b", {7: "masked"})):
        (tmp_path / vantage).mkdir()
        w = ScanWorld(tmp_path / vantage, 10, faults, namespace=f"dask-{vantage}-{os.getpid()}")
        w.certs = certs = certs or w.certs   # the same servers: the same certificates
        w.start()
        try:
            done = subprocess.run(w.scan_command(str(targets), "--db", str(db), "--vantage", vantage),
                                  capture_output=True, text=True, timeout=60)
        finally:
            w.stop()
        assert done.returncode == (1 if faults else 0), done.stderr   # a masked STARTTLS is an error
    done = subprocess.run([sys.executable, "-m", "inspector", "diff", "--by-vantage", "--json",
                           "--db", str(db)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, schema("scan-diff"))
    assert (report["old"], report["new"], report["by_vantage"]) == ("isp-a", "isp-b", True)
    expiry = report["changes"][0]["fields"]["not_after"]["old"]
    assert [(c["target"], c["fields"], c["findings_gained"]) for c in report["changes"]] == [
        (f"{name(7)}:25", {"starttls": {"old": True, "new": False},
                           "tls_version": {"old": "TLSv1.3", "new": None},
                           "trusted": {"old": True, "new": None},
                           "not_after": {"old": expiry, "new": None}},
         ["starttls-masked", "starttls-not-offered"])]
    text = subprocess.run([sys.executable, "-m", "inspector", "diff", "--by-vantage", "isp-b", "isp-a",
                           "--db", str(db)], capture_output=True, text=True, timeout=30)
    assert text.stdout.startswith("vantage isp-b -> vantage isp-a: 1 target(s) changed"), text.stdout
