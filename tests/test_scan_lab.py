"""``scan`` against the real Postfix lab: the same verdicts as ``probe`` and ``tls`` (no second judge).

Postfix 3.7 on 127.0.0.1:25 (STARTTLS), 587 (STARTTLS, TLS required) and 465
(implicit TLS), started by scripts/mail-lab/start. Also: ``--checks full``
stores the audit; PostgreSQL end to end; the progress bar only when asked
for on a pipe.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.test_scan_storage import postgres_dsn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTS = (25, 587, 465)


def cli(*args: str, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def full_scan(mail_lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scan-lab")
    (tmp / "targets").write_text("".join(f"{mail_lab.host}:{port}\n" for port in PORTS))
    db = tmp / "db.sqlite3"
    done = cli("scan", str(tmp / "targets"), "--db", str(db), "--checks", "full", "--cafile", mail_lab.cafile,
               "--rate", "0", "--progress")
    with sqlite3.connect(db) as connection:
        rows = {t: (set(ids.split()), json.loads(r)) for t, ids, r in
                connection.execute("SELECT target, finding_ids, result FROM results")}
    return done, rows


@pytest.mark.postfix
@pytest.mark.parametrize("port", PORTS)
def test_scan_judges_as_probe_and_tls_do(mail_lab, full_scan, port):
    done, rows = full_scan
    assert done.returncode in (0, 1), done.stderr
    target = f"{mail_lab.host}:{port}"
    probe = json.loads(cli("probe", target, "--cafile", mail_lab.cafile, "--json").stdout)
    audit = json.loads(cli("tls", target, "--cafile", mail_lab.cafile, "--json").stdout)
    expected = {f["id"] for f in probe["findings"]} | {f["id"] for f in audit["findings"]}
    ids, result = rows[target]
    assert ids == expected
    endpoint = result["endpoints"][0]
    assert endpoint["tls"]["version"] == probe["tls"]["version"]
    assert endpoint["audit"]["versions"] == {v["version"]: sorted(s["iana_name"] for s in v["suites"])
                                             for v in audit["versions"]}


@pytest.mark.postfix
def test_progress_bar_when_asked(full_scan):
    done, _ = full_scan
    assert "[###" in done.stderr and "3/3 targets" in done.stderr   # (text mode turned each \r into \n)


@pytest.mark.postfix
def test_scan_into_postgresql(mail_lab, tmp_path):
    dsn = postgres_dsn()
    (tmp_path / "targets").write_text(f"{mail_lab.host}:25\n{mail_lab.host}:587\n")
    done = cli("scan", str(tmp_path / "targets"), "--db", dsn, "--cafile", mail_lab.cafile, "--json")
    assert done.returncode in (0, 1), done.stderr
    summary = json.loads(done.stdout)
    assert summary["stored"] == 2 and summary["statuses"] == {"done": 2}
    report = json.loads(cli("report", str(summary["scan_id"]), "--db", dsn, "--json").stdout)
    assert report["starttls"] == 2 and report["stored"] == 2
