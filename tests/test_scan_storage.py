"""Scan storage: the same tests on SQLite and on a real PostgreSQL (scripts/postgres/start).

PostgreSQL is Debian's, started by .ci/run (via scripts/postgres/start) on
127.0.0.1:54329; its DSN is in /var/tmp/smtp-inspector-postgres/dsn, or in
``SMTP_INSPECTOR_POSTGRES``. Each test gets its own schema-free database by
dropping our tables first. Migrations are tested from the first version.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from importlib import resources

import jsonschema
import pytest

from inspector.errors import UsageError
from inspector.scan import compare
from inspector.scan.storage import LATEST_VERSION, Row, open_storage

PG_DSN_FILE = "/var/tmp/smtp-inspector-postgres/dsn"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def postgres_dsn() -> str:
    dsn = os.environ.get("SMTP_INSPECTOR_POSTGRES")
    if not dsn and not os.path.exists(PG_DSN_FILE) and os.geteuid() == 0:
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "postgres", "start")], check=True,
                       capture_output=True)
    if not dsn and os.path.exists(PG_DSN_FILE):
        dsn = open(PG_DSN_FILE).read().strip()
    if not dsn:
        pytest.fail("no PostgreSQL: run scripts/postgres/start as root (CI does, from .ci/run)")
    return dsn


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "scans.sqlite3")
    dsn = postgres_dsn()
    storage = open_storage(dsn, migrate=False)
    for table in ("result_findings", "results", "scans", "schema_version"):
        storage.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    storage.commit()
    storage.close()
    return dsn


#: a notAfter no report counts as expiring: a year from whenever the tests run (a fixed date was
#: within 30 days once the calendar reached December 2026)
FAR_NOT_AFTER = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=365)).strftime(
    "%Y-%m-%dT%H:%M:%SZ")


def row(target: str, **fields) -> Row:
    base = dict(status="done", host=target.split(":")[0], address="192.0.2.1", port=25, starttls=True,
                tls_version="TLSv1.3", trusted=True, not_after=FAR_NOT_AFTER, finding_ids=(),
                finished_at="2026-12-01T10:00:00.000+00:00", result={"target": target})
    base.update(fields)
    return Row(target=target, **base)


def test_migrations_from_the_first_version_keep_the_data(db_url):
    storage = open_storage(db_url, migrate=False)
    assert storage.migrate(up_to=1) == 1
    scan_id = storage.create_scan({"checks": "quick"}, ["a.example:25", "b.example:25"], "0.0.1")
    storage.execute("INSERT INTO results (scan_id, target, status, finding_ids, finished_at, result) "
                    "VALUES (?, ?, 'done', ?, '2026-01-01T00:00:00Z', '{}')",
                    (scan_id, "a.example:25", " cert-expired starttls-not-offered "))
    storage.commit()
    assert storage.migrate() == LATEST_VERSION
    assert storage.schema_version() == LATEST_VERSION
    assert storage.finding_counts(scan_id) == [("cert-expired", 1), ("starttls-not-offered", 1)]
    assert storage.migrate() == LATEST_VERSION        # idempotent
    storage.close()


def test_rows_round_trip_and_no_target_twice(db_url):
    storage = open_storage(db_url)
    scan_id = storage.create_scan({"checks": "quick"}, ["a.example:25", "b.example"], "0.0.1")
    stored = [row("a.example:25", finding_ids=("cert-expired",), result={"x": [1, "é"]}),
              row("b.example", starttls=None, trusted=False, dane=True, mta_sts="enforce")]
    storage.write_rows(scan_id, stored)
    assert storage.rows(scan_id) == sorted(stored, key=lambda r: r.target)
    assert storage.done_targets(scan_id) == {"a.example:25", "b.example"}
    with pytest.raises(storage.Error):
        storage.write_rows(scan_id, [row("a.example:25")])
    storage.connection.rollback()
    assert len(storage.rows(scan_id)) == 2
    storage.set_status(scan_id, "finished")
    info = storage.scan(scan_id)
    assert info.status == "finished" and info.ended_at and info.arguments["targets"] == ["a.example:25",
                                                                                        "b.example"]
    storage.close()


def test_vantage_rows_and_idempotent_writes(db_url):
    """Schema 3's vantage column; Dask workers' ON CONFLICT DO NOTHING keeps the first row."""
    storage = open_storage(db_url)
    targets = ["a.example:25", "b.example:25"]
    first = storage.create_scan({}, targets, "0.0.1")
    second = storage.create_scan({}, targets, "0.0.1")
    storage.write_rows(first, [row("a.example:25", vantage="isp-a"), row("b.example:25", vantage="isp-a")])
    storage.write_rows(second, [row("a.example:25", vantage="isp-b", starttls=False,
                                    finding_ids=("starttls-not-offered",))])
    storage.ignore_duplicates = True
    storage.write_rows(second, [row("a.example:25", vantage="isp-b", status="throttled",
                                    finding_ids=("cert-expired",)), row("b.example:25", vantage="isp-b")])
    assert [(r.target, r.status, r.vantage, r.finding_ids) for r in storage.rows(second)] == [
        ("a.example:25", "done", "isp-b", ("starttls-not-offered",)), ("b.example:25", "done", "isp-b", ())]
    assert storage.finding_counts(second) == [("starttls-not-offered", 1)]
    seen = storage.rows_by_vantage(storage.scan(second).target_list)
    assert sorted(seen) == ["isp-a", "isp-b"]
    changes = compare.diff(seen["isp-a"].values(), seen["isp-b"].values())
    assert [(c["target"], c["fields"], c["findings_gained"]) for c in changes] == [
        ("a.example:25", {"starttls": {"old": True, "new": False}}, ["starttls-not-offered"])]
    storage.close()


def test_history_diff_and_report(db_url):
    storage = open_storage(db_url)
    targets = ["a.example:25", "b.example:25", "c.example:25"]
    first = storage.create_scan({}, targets, "0.0.1")
    storage.write_rows(first, [row("a.example:25"), row("b.example:25", tls_version="TLSv1.2"),
                               row("c.example:25")])
    other = storage.create_scan({}, ["z.example:25"], "0.0.1")
    storage.write_rows(other, [row("z.example:25")])
    second = storage.create_scan({}, list(reversed(targets)), "0.0.1")
    soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=10)).isoformat()
    storage.write_rows(second, [row("a.example:25", starttls=False, tls_version=None, trusted=None,
                                    not_after=None, finding_ids=("starttls-not-offered",)),
                                row("b.example:25", tls_version="TLSv1.2"),
                                row("c.example:25", address="192.0.2.9", not_after=soon)])
    older, newer = storage.latest_pair()
    assert (older.id, newer.id) == (first, second)       # same target list, whatever the order
    changes = {c["target"]: c for c in compare.diff(storage.rows(first), storage.rows(second))}
    assert set(changes) == {"a.example:25", "c.example:25"}
    assert changes["a.example:25"]["fields"]["starttls"] == {"old": True, "new": False}
    assert changes["a.example:25"]["findings_gained"] == ["starttls-not-offered"]
    assert changes["c.example:25"]["fields"]["address"] == {"old": "192.0.2.1", "new": "192.0.2.9"}
    history = compare.history(storage.history("a.example:25"))
    assert [h["scan_id"] for h in history] == [first, second] and history[1]["findings"] == [
        "starttls-not-offered"]
    report = compare.report(storage.scan(second), storage.rows(second), storage.finding_counts(second))
    assert report["starttls"] == 2 and report["tls13"] == 1 and report["valid_certificates"] == 2
    assert report["expiring"] == {"within_14_days": 1, "within_30_days": 1}
    assert report["top_findings"] == [{"id": "starttls-not-offered", "targets": 1}]
    jsonschema.validate(report, _schema("scan-report"))
    storage.close()


def _schema(name: str) -> dict:
    return json.loads(resources.files("inspector").joinpath(f"schema/{name}.schema.json").read_text())


def _cli(*args: str, env=None):
    return subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)


def test_commands_read_back(tmp_path):
    db = str(tmp_path / "db.sqlite3")
    storage = open_storage(db)
    for tls in ("TLSv1.2", "TLSv1.3"):
        scan_id = storage.create_scan({}, ["a.example:25"], "0.0.1")
        storage.write_rows(scan_id, [row("a.example:25", tls_version=tls)])
        storage.set_status(scan_id, "finished")
    storage.close()
    done = _cli("diff", "--db", db, "--json")
    assert done.returncode == 1, done.stderr
    diff = json.loads(done.stdout)
    jsonschema.validate(diff, _schema("scan-diff"))
    assert diff["changes"][0]["fields"] == {"tls_version": {"old": "TLSv1.2", "new": "TLSv1.3"}}
    csv = _cli("diff", "1", "2", "--db", db, "--csv").stdout.splitlines()
    assert csv == ["target,change,field,old,new", "a.example:25,changed,tls_version,TLSv1.2,TLSv1.3"]
    assert "TLSv1.2" in _cli("diff", "--db", db).stdout
    history = _cli("history", "a.example:25", "--db", db, "--json")
    jsonschema.validate(json.loads(history.stdout), _schema("scan-history"))
    assert [s["tls_version"] for s in json.loads(history.stdout)["scans"]] == ["TLSv1.2", "TLSv1.3"]
    text = _cli("report", "2", "--db", db).stdout
    assert "negotiated TLS 1.3" in text and "100%" in text


def test_report_html_renders_the_json_document(tmp_path):
    """``report --html``: the text report's totals, from the same document as ``--json``."""
    db, page = str(tmp_path / "db.sqlite3"), tmp_path / "report.html"
    storage = open_storage(db)
    scan_id = storage.create_scan({"targets": ["a.example:25"]}, ["a.example:25"], "0.0.1")
    storage.write_rows(scan_id, [row("a.example:25", tls_version="TLSv1.3")])
    storage.set_status(scan_id, "finished")
    storage.close()
    done = _cli("report", str(scan_id), "--db", db, "--json", "--html", str(page))
    assert done.returncode == 0, done.stderr
    document, html = json.loads(done.stdout), page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert f"smtp-inspector report {scan_id}" in html and "1 of 1 stored" in html
    assert "<tr><td>negotiated TLS 1.3</td><td>1</td><td>100%</td></tr>" in html
    assert all(f"<code>{f['id']}</code>" in html for f in document["top_findings"])
    assert _cli("report", "--db", db, "--html", str(tmp_path / "missing" / "r.html")).returncode == 2


@pytest.mark.parametrize("args, message", [
    (("diff", "7", "8"), "no scan 8"), (("report", "9"), "no scan 9"), (("diff",), "no two scans"),
    (("scan", "--resume", "4"), "no scan 4"), (("scan", "--concurrency", "0"), "--concurrency"),
    (("scan", "--db", "postgresql://nobody@127.0.0.1:1/x"), "cannot connect"),
])
def test_bad_arguments_one_line_exit_2(tmp_path, args, message):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    done = _cli(*args, env=env)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


def test_default_database_is_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    open_storage(None).close()
    assert (tmp_path / "smtp-inspector" / "scans.sqlite3").exists()


def test_unwritable_database_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError):
        open_storage(str(tmp_path / "file" / "db.sqlite3"))
