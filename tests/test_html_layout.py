"""Layout limits of the ``--html`` report in a real browser: a very long session, a 200-suite matrix.

No real server sends 200 accepted suites or a 150-command session to our
probe, so these documents are built in the shape of the JSON schemas
(validated against them) from a real demo session and the IANA registry of
inspector/tls/suites.py; the renderer only ever sees such documents.
"""

from __future__ import annotations

import copy
import json
import pathlib

import jsonschema
import pytest

from inspector.render.html import render
from inspector.tls.suites import SUITES
from tests.browser import LABELS_PAST_SERVER_JS, OVERLAPS_JS, Browser, artifact, assert_clean, expected_arrows

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "inspector/schema"


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def demo_document():
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-m", "inspector", "demo", "--json"], capture_output=True,
                               text=True, timeout=60, check=True)
    return json.loads(completed.stdout)


def long_session(demo: dict) -> dict:
    """The demo session with 150 more exchanges before QUIT: long, multi-line, pipelined, injected."""
    doc = copy.deepcopy(demo)
    head, quit_entries = doc["transcript"][:-3], doc["transcript"][-3:]
    t = head[-1]["t"]
    extra = []
    for n in range(150):
        t += 0.01
        command = f"NOOP {'x' * (n % 7) * 30}\r\n" if n % 5 else "RSET\r\nNOOP\r\n"
        extra.append({"t": t, "direction": "send", "tls": True, "text": command, "step": "noop",
                      "bytes_b64": "", "redacted": False})
        if n % 3 == 0:
            reply = "".join(f"250-{'line %d ' % i * 12}\r\n" for i in range(8)) + "250 OK\r\n"
        elif n % 3 == 1:
            reply = "250 2.0.0 " + "long reply " * 40 + "\r\n"
        else:
            reply = "250 OK\r\n"
        if command.startswith("RSET"):
            reply += "250 OK\r\n"
        extra.append({"t": t + 0.001, "direction": "recv", "tls": True, "text": reply, "step": "noop",
                      "bytes_b64": "", "redacted": False})
        if n % 10 == 0:
            extra.append({"t": t + 0.002, "direction": "note", "tls": True, "step": "noop",
                          "text": "note " + "about this exchange " * 8})
    doc["transcript"] = head + extra + quit_entries
    doc["findings"] = [{"id": fid, "severity": sev, "title": "Title " + "words " * 20, "rfc": "RFC 5321 §4.2",
                        "evidence": "evidence " * 40}
                       for fid, sev in [("greeting-delayed", "warning"), ("starttls-readvertised", "warning"),
                                        ("cert-expiring-soon", "info"), ("cert-weak-key", "error"),
                                        ("auth-rejected", "error"), ("reply-malformed", "warning")] * 3]
    return doc


def test_long_session_lays_out_without_overlap(browser, demo_document, tmp_path):
    doc = long_session(demo_document)
    jsonschema.validate(doc, json.loads((SCHEMAS / "probe-result.schema.json").read_text()))
    report = tmp_path / "long.html"
    report.write_text(render("probe", doc))
    for width in (1600, 1000):
        opened = browser.open(report, width=width)
        page = opened.page
        assert_clean(opened)
        assert page.locator("#ladder-s1 g.arrow").count() == expected_arrows(doc["transcript"]) > 300
        assert page.locator("#ladder-s1 g.pin").count() == len(doc["findings"])
        assert page.evaluate(OVERLAPS_JS, "svg.ladder") == []
        assert page.evaluate(LABELS_PAST_SERVER_JS, "svg.ladder") == []
        pins = page.locator("#ladder-s1 g.pin rect.card").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; })")
        pins.sort()
        assert all(a[1] <= b[0] + 0.5 for a, b in zip(pins, pins[1:], strict=False))  # cards never overlap
    artifact("long-session.png").write_bytes(page.screenshot(full_page=False))


def matrix_document(count: int = 200) -> dict:
    real = [s for s in SUITES if not s.scsv]
    chosen = real[:count]

    def suite(s):
        fs = s.kx.startswith(("ECDHE", "DHE")) or s.kx == "any"
        return {"code": f"0x{s.code:04X}", "iana_name": s.iana_name, "openssl_name": s.openssl_name,
                "kx": s.kx, "auth": s.auth, "cipher": s.cipher, "bits": s.bits, "group": None,
                "weakness": s.weakness(), "forward_secret": fs}

    versions = [{"version": v, "supported": bool(suites), "server_order": order,
                 "connections": len(suites) + 1, "error": None, "suites": [suite(s) for s in suites],
                 "handshake_completed": True if suites else None, "handshake_detail": None, "closed_on": []}
                for v, suites, order in [("SSLv3", [], None), ("TLSv1", chosen[:40], True),
                                         ("TLSv1.1", chosen[:60], False), ("TLSv1.2", chosen, True),
                                         ("TLSv1.3", [], None)]]
    return {
        "schema": "smtp-inspector/tls-audit/1",
        "target": {"host": "mx.example.test", "port": 25, "address": "127.0.0.1", "mode": "starttls",
                   "servername": "mx.example.test"},
        "started_at": "2026-12-01T12:00:00Z", "duration_s": 12.5, "exit_code": 1, "error": None,
        "connections": {"used": 305, "retried": 2, "concurrency": 4, "rate_per_minute": None},
        "session": None, "certificate": None, "versions": versions,
        "groups": {"version": "TLSv1.2", "accepted": ["x25519", "secp256r1"]}, "findings": []}


def test_200_suite_matrix_lays_out_without_overlap(browser, tmp_path):
    doc = matrix_document()
    jsonschema.validate(doc, json.loads((SCHEMAS / "tls-audit.schema.json").read_text()))
    report = tmp_path / "matrix.html"
    report.write_text(render("tls", doc))
    opened = browser.open(report, width=1280)
    page = opened.page
    assert_clean(opened)
    assert page.locator("#matrix tbody tr").count() == 200
    boxes = page.locator("#matrix tbody tr").evaluate_all("""rows => rows.map(r => {
        const cells = [...r.children].map(c => c.getBoundingClientRect());
        const clipped = [...r.children].filter(c => c.scrollWidth > c.clientWidth + 1).length;
        return {top: cells[0].top, bottom: cells[0].bottom, clipped,
                cells: cells.map(c => [c.left, c.right])};
    })""")
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert a["bottom"] <= b["top"] + 0.5
    for row in boxes:
        assert row["clipped"] == 0
        assert all(x[1] <= y[0] + 0.5 for x, y in zip(row["cells"], row["cells"][1:], strict=False))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    tls12 = page.locator("#suite-0x%04X td.cell" % SUITES[0].code).nth(3)
    assert tls12.text_content() == "1"  # the server's first choice
    artifact("matrix-200.png").write_bytes(page.screenshot(full_page=False))
