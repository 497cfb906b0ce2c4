"""``scan`` against 2,000 real listeners in a network namespace, with planted faults.

The servers are tests/scan_responder.py (asyncio, Postfix-shaped replies) on
127.1.0.0/16 inside ``scan-<pid>``, names and mail domains from a real DNS
server (dnspython) there too. Every planted fault must be found on its target
and nowhere else; every target stored exactly once; the politeness limits
must hold as the servers saw them; SIGINT and SIGKILL mid-way, then
``--resume``, still store every target exactly once.
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
from tests.scan_world import DOMAINS, ScanWorld, address, name

pytestmark = pytest.mark.skipif(netns_bed.why_unavailable() is not None,
                                reason=str(netns_bed.why_unavailable()))

N = 2000
#: fault -> planted on these indexes (spread over the /24s); 0-3 are the mail domains' MX hosts
PLANTED = {"expired": (10, 700, 1500), "nostarttls": (11, 701, 1501), "masked": (12, 702, 1502),
           "first421": (13, 703, 1503), "busy421": (14, 704, 1504), "tarpit": (15, 705, 1505)}
#: fault -> the findings it must give (an expired certificate also fails the trust check: cert-untrusted
#: may come with it, depending on how certs.py words the chain verdict)
COMPANIONS = {"expired": {"cert-untrusted"}}
EXPECTED = {"expired": {"cert-expired"}, "nostarttls": {"starttls-not-offered"},
            "masked": {"starttls-masked", "starttls-not-offered"}, "first421": set(), "busy421": set(),
            "tarpit": {"greeting-delayed"}}
EXCLUDED = "127.1.7.0/29"          # indexes 1750-1756
EXCLUDED_INDEXES = range(1750, 1757)
EXCLUDED_NAME = "mx.excluded.example:25"   # excluded by domain, before any DNS query


def schema(name_: str) -> dict:
    return json.loads(resources.files("inspector").joinpath(f"schema/{name_}.schema.json").read_text())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scan-world")
    faults = {i: fault for fault, indexes in PLANTED.items() for i in indexes}
    w = ScanWorld(tmp, N, faults).start()
    w.tmp_path = tmp
    yield w
    w.stats = w.stop()


@pytest.fixture(scope="module")
def scanned(world):
    tmp = world.tmp_path
    (tmp / "targets").write_text("\n".join(world.targets + list(DOMAINS) + [EXCLUDED_NAME])
                                 + "\n# a comment\n\n")
    (tmp / "exclude").write_text(f"{EXCLUDED}\nexcluded.example\n")
    db = tmp / "scan.sqlite"
    done = subprocess.run(world.scan_command(str(tmp / "targets"), "--db", str(db), "--rate", "0",
                                             "--concurrency", "64", "--per-network", "16", "--timeout", "5",
                                             "--exclude", str(tmp / "exclude"), "--json"),
                          capture_output=True, text=True, timeout=240)
    rows = {}
    with sqlite3.connect(db) as connection:
        for target, status, ids, result, dane, mta_sts in connection.execute(
                "SELECT target, status, finding_ids, result, dane, mta_sts FROM results"):
            assert target not in rows, f"{target} stored twice"
            rows[target] = (status, set(ids.split()), json.loads(result), dane, mta_sts)
    return done, rows, db


def test_every_target_stored_once_and_summary_valid(scanned):
    done, rows, _ = scanned
    assert done.returncode == 1, done.stderr          # expired certificates are errors
    summary = json.loads(done.stdout)
    jsonschema.validate(summary, schema("scan-summary"))
    assert summary["stored"] == summary["targets"] == N + len(DOMAINS) + 1
    assert set(rows) == {f"{name(i)}:25" for i in range(N)} | set(DOMAINS) | {EXCLUDED_NAME}
    assert rows[EXCLUDED_NAME][0] == "excluded"
    assert rows[EXCLUDED_NAME][2]["reason"] == "mx.excluded.example is under excluded domain excluded.example"
    assert "\r" not in done.stderr and len(done.stderr.splitlines()) == 1   # no progress bar on a pipe


def test_planted_faults_found_on_their_targets_and_nowhere_else(scanned):
    _, rows, _ = scanned
    planted = {i: fault for fault, indexes in PLANTED.items() for i in indexes}
    for i in range(4, N):
        status, ids, result, _, _ = rows[f"{name(i)}:25"]
        if i in EXCLUDED_INDEXES:
            assert status == "excluded", (i, status)
            continue
        assert status == "done", (i, status, result.get("reason"))
        fault = planted.get(i)
        required = EXPECTED.get(fault, set())
        assert required <= ids <= required | COMPANIONS.get(fault, set()), (i, fault, ids)


def test_throttled_tries_are_retried_and_never_judged(scanned, world):
    _, rows, _ = scanned
    for i in PLANTED["first421"]:
        endpoint = rows[f"{name(i)}:25"][2]["endpoints"][0]
        assert endpoint["attempts"] == 2 and endpoint["throttled"][0].startswith("greeting: 421"), endpoint
        assert "greeting-rejected" not in rows[f"{name(i)}:25"][1]


def test_mail_domains_get_dane_and_mta_sts(scanned):
    _, rows, _ = scanned
    status, ids, result, dane, sts = rows["dane.scan.test"]
    assert status == "done" and dane == 1 and [m["host"] for m in result["dns"]["mx"]] == [name(0), name(1)]
    assert ids == {"dnssec-unauthenticated"}          # our DNS server does not set AD
    status, ids, _, dane, _ = rows["badtlsa.scan.test"]
    assert dane == 0 and "tlsa-mismatch" in ids
    status, ids, _, _, sts = rows["sts.scan.test"]
    assert sts == "testing" and ids == {"mta-sts-testing"}
    assert rows["nomx.scan.test"][0] == "unresolved"


def test_submission_adds_discovers_candidates(world, tmp_path):
    (tmp_path / "targets").write_text("sts.scan.test\n")
    done = subprocess.run(world.scan_command(str(tmp_path / "targets"), "--db", str(tmp_path / "db"),
                                             "--submission", "--json"), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "db") as connection:
        result = json.loads(connection.execute("SELECT result FROM results").fetchone()[0])
    jsonschema.validate(result, schema("scan-target"))
    assert [(e["role"], e["name"], e["port"], e["status"]) for e in result["endpoints"]] == [
        ("mx", name(3), 25, "done"), ("submission", name(3), 587, "done")]


def test_target_deadline_bounds_a_tarpit(world, tmp_path):
    (tmp_path / "targets").write_text("".join(f"{name(i)}:25\n" for i in PLANTED["tarpit"]))
    done = subprocess.run(world.scan_command(str(tmp_path / "targets"), "--db", str(tmp_path / "db"),
                                             "--target-deadline", "1", "--json"),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "db") as connection:
        results = [json.loads(r) for (r,) in connection.execute("SELECT result FROM results")]
    assert len(results) == 3
    for result in results:
        endpoint = result["endpoints"][0]
        assert endpoint["exit_code"] == 11 and "deadline" in endpoint["error"], endpoint


def test_stored_results_match_their_schema(scanned):
    _, rows, _ = scanned
    target_schema = schema("scan-target")
    for i, (_, _, result, _, _) in enumerate(rows.values()):
        if i % 20 == 0 or result["findings"] or result["kind"] == "domain":
            jsonschema.validate(result, target_schema)


def test_report_counts(scanned, world):
    _, _, db = scanned
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "smtp-inspector"), "report",
                           "--db", str(db), "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, schema("scan-report"))
    sessions = N - len(EXCLUDED_INDEXES) + 3          # three domains reached a server
    assert report["statuses"] == {"done": sessions, "excluded": len(EXCLUDED_INDEXES) + 1, "unresolved": 1}
    assert report["starttls"] == sessions - 6          # no STARTTLS, masked STARTTLS
    assert report["tls13"] == sessions - 6
    assert report["valid_certificates"] == sessions - 9  # and the expired ones
    assert report["expired"] == 3 and report["dane"] == 1 and report["mta_sts"] == {"testing": 1}
    assert {"id": "cert-expired", "targets": 3} in report["top_findings"]


@pytest.fixture(scope="module")
def resume_targets(world):
    path = world.tmp_path / "resume-targets"
    path.write_text("\n".join(f"{name(i)}:25" for i in range(100, 350)) + "\n")
    return path


def _count(db, scan_id: int) -> tuple[int, int]:
    with sqlite3.connect(db) as connection:
        total, distinct = connection.execute("SELECT COUNT(*), COUNT(DISTINCT target) FROM results "
                                             "WHERE scan_id = ?", (scan_id,)).fetchone()
    return total, distinct


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL, "deadline"],
                         ids=["sigint", "sigkill", "deadline"])
def test_interrupt_then_resume_stores_every_target_once(world, resume_targets, how, tmp_path):
    db = tmp_path / "resume.sqlite"
    limit = ("--deadline", "2.5") if how == "deadline" else ()
    scan = subprocess.Popen(world.scan_command(str(resume_targets), "--db", str(db), "--rate", "50", *limit),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if how != "deadline":
        time.sleep(2.5)
        os.kill(scan.pid, how)   # ip netns exec execs the scan: this is its pid
    out, err = scan.communicate(timeout=30)
    if how != signal.SIGKILL:
        assert scan.returncode == (130 if how == signal.SIGINT else 5), err
        assert ("interrupted" if how == signal.SIGINT else "deadline") in out and "--resume 1" in err
    partial, distinct = _count(db, 1)
    assert 0 < partial < 250 and partial == distinct
    resumed = subprocess.run(world.scan_command("--resume", "1", "--db", str(db), "--rate", "0", "--json"),
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({partial} already stored)" in resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["status"] == "finished" and summary["stored"] == 250
    assert _count(db, 1) == (250, 250)


def test_zz_politeness_held(world, scanned):
    """After every scan of this module: the servers never saw two of our connections at once."""
    world.stats = world.stop()
    world.process = None
    stats = world.stats
    assert max(stats["most_open"].values()) == 1
    assert set(stats["sent_421"]) == {address(i) for i in PLANTED["first421"]}
    assert not {address(i) for i in EXCLUDED_INDEXES} & set(stats["accepted"])
