"""``--html FILE`` reports opened in a real headless browser (Debian's chromium, driven by playwright).

Real peers: the built-in lab server (``demo``, faults), the Postfix + Dovecot
mail lab (``tls``), the sample captures of captures/ (``replay``), the
loopback DNS/HTTPS/SMTP world (``discover``) and a scripted server for bytes
no real server sends (markup in replies). Every page: no request leaves it,
no console error, and the ladder has one arrow per command and per reply.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import shutil

import jsonschema
import pytest

from inspector.render.html.pins import FINDING_STEP
from inspector.render.teaching import STEP_NOTES
from tests.browser import (
    LABELS_PAST_SERVER_JS,
    OVERLAPS_JS,
    Browser,
    artifact,
    assert_clean,
    expected_arrows,
)
from tests.scripted_server import ScriptedServer, command_lines

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "inspector/schema"
CAPTURES = ROOT / "captures"


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def arrows(page, key="s1") -> int:
    return page.locator(f"#ladder-{key} g.arrow").count()


def assert_pins_at_their_steps(page, findings, key="s1") -> None:
    """Each finding's id is visible, in the band of the last arrow (else row) of the step where it is
    decided."""
    rows = page.locator(f"#ladder-{key} g.row")
    steps = rows.evaluate_all(
        "els => els.map(e => [e.dataset.step, +e.dataset.row, e.classList.contains('arrow')])")
    last_row, last_arrow = {}, {}
    for step, number, is_arrow in steps:
        last_row[step] = number
        if is_arrow:
            last_arrow[step] = number
    last_row.update(last_arrow)
    for finding in findings:
        pin = page.locator(f"#ladder-{key} g.pin[data-finding='{finding['id']}']").first
        assert pin.is_visible(), finding["id"]
        assert finding["id"] in pin.text_content()
        step = FINDING_STEP.get(finding["id"], "end")
        step = step if step in last_row else "end"
        assert pin.get_attribute("data-step") == step
        row = last_row[step]
        assert int(pin.get_attribute("data-row")) == row
        top = page.locator(f"#ladder-{key} g.row[data-row='{row}']").bounding_box()["y"]
        after = page.locator(f"#ladder-{key} g.row[data-row='{row + 1}']")
        pin_top = pin.bounding_box()["y"]
        assert pin_top >= top - 14, (finding["id"], pin_top, top)
        if after.count():
            assert pin_top < after.bounding_box()["y"], finding["id"]


def assert_no_overlap(page) -> None:
    assert page.evaluate(OVERLAPS_JS, "svg.ladder") == []
    assert page.evaluate(LABELS_PAST_SERVER_JS, "svg.ladder") == []


def test_demo_report_ladder_teaching_notes_and_screenshot(run_cli, browser, tmp_path):
    report = tmp_path / "demo.html"
    completed, doc = run_cli("demo", "--json", "--html", str(report))
    assert completed.returncode == 0, completed.stderr
    jsonschema.validate(doc, json.loads((SCHEMAS / "probe-result.schema.json").read_text()))
    opened = browser.open(report)
    page = opened.page
    assert_clean(opened)
    assert arrows(page) == expected_arrows(doc["transcript"]) == 11
    assert page.locator("#ladder-s1 g.arrow.unexpected").count() == 0
    for step in {s["name"] for s in doc["steps"]} & set(STEP_NOTES):
        note = page.locator(f"#ladder-s1 g.teach[data-step='{step}']")
        assert note.count() == 1 and note.is_visible(), step
    # The AUTH line as the transcript has it: redacted; the password appears nowhere.
    auth = page.locator("#ladder-s1 g.arrow.command.redacted").first.text_content()
    assert "[redacted" in auth and "demo-password" not in page.content()
    assert page.locator("#ladder-s1-tls text.band-label").text_content().endswith(
        f"{doc['tls']['version']} {doc['tls']['cipher']} ({doc['tls']['bits']} bits)")
    added = page.locator("#caps-s1 tr.cap-added").all_text_contents()
    assert any("AUTH" in row for row in added) and page.locator("#caps-s1 tr.cap-removed").count() == 1
    assert page.locator("#chain-s1-cert-0 .cn").text_content() == "lab.smtp-inspector.test"
    assert_no_overlap(page)
    page.screenshot(path=artifact("demo.png"), full_page=True)
    page.locator("#ladder-s1-figure").screenshot(path=artifact("demo-ladder.png"))
    dark = browser.open(report, color_scheme="dark")
    background = dark.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    assert dark.page.evaluate(
        "getComputedStyle(document.querySelector('g.command text.label')).fill") != background
    dark.page.screenshot(path=artifact("demo-dark.png"), full_page=True)
    assert_clean(dark)


def test_demo_report_reads_without_javascript(run_cli, browser, tmp_path):
    report = tmp_path / "demo.html"
    completed, _ = run_cli("demo", "--html", str(report))
    assert completed.returncode == 0, completed.stderr
    opened = browser.open(report, javascript=False)
    assert opened.page.locator("#ladder-s1 g.arrow").count() == 11
    assert "EHLO client.demo.invalid" in opened.page.locator("#ladder-s1-figure").inner_text()
    assert_clean(opened)


@pytest.mark.parametrize("fault,ids", [
    ("inject-after-starttls", {"response-injection"}),
    ("plain-auth-before-tls", {"auth-before-tls"}),
    ("strip-starttls", {"starttls-not-offered"}),
])
def test_findings_are_pinned_where_they_are_decided(run_cli, browser, lab_server, tmp_path, fault, ids):
    server = lab_server(fault=fault)
    report = tmp_path / f"{fault}.html"
    completed, doc = run_cli("probe", f"{server.host}:{server.port}", "--servername", server.hostname,
                             "--cafile", server.ca_path, "--no-require-tls", "--json", "--html", str(report))
    assert ids <= {f["id"] for f in doc["findings"]}, completed.stdout
    opened = browser.open(report)
    assert_clean(opened)
    assert arrows(opened.page) == expected_arrows(doc["transcript"])
    assert_pins_at_their_steps(opened.page, doc["findings"])
    if fault == "inject-after-starttls":  # the two injected lines: one unexpected two-line reply
        injected = opened.page.locator("#ladder-s1 g.arrow.reply.unexpected")
        assert injected.count() == 1
        text = injected.text_content()
        assert "250-lab.injected" in text and "250 AUTH PLAIN LOGIN" in text
    assert_no_overlap(opened.page)


HOSTILE_GREETING = (b'220 <script>window.pwned=1</script> x"><img src=x onerror="window.pwned=2;alert(1)">'
                    b" ESMTP\r\n")


def _hostile(conn, stop) -> None:
    """Markup where no real server puts it (a proxy or a compromised banner could)."""
    conn.sendall(HOSTILE_GREETING)
    for line in command_lines(conn):
        verb = line.split(b" ", 1)[0].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b'250-hostile.test <b>bold</b>\r\n250 SIZE "><svg onload=alert(3)>\r\n')
        elif verb == b"QUIT":
            conn.sendall(b"221 </text></svg><script>window.pwned=3</script> bye\r\n")
            return
        else:
            conn.sendall(b"502 5.5.2 <iframe src=http://192.0.2.1/>\r\n")


def test_markup_from_the_server_is_text_and_runs_nothing(run_cli, browser, tmp_path):
    report = tmp_path / "hostile.html"
    with ScriptedServer(_hostile) as server:
        completed, doc = run_cli("probe", f"{server.host}:{server.port}", "--plain", "--timeout", "5",
                                 "--json", "--html", str(report))
    assert doc["steps"][1]["reply"]["lines"][0] == HOSTILE_GREETING.decode()
    opened = browser.open(report)
    page = opened.page
    assert_clean(opened)  # no alert, no request for src=x or the iframe
    assert page.evaluate("() => window.pwned === undefined")
    injected = "() => document.querySelectorAll('script, img, iframe, [onerror], [onload]').length"
    assert page.evaluate(injected) == 0
    assert page.locator("#ladder-s1 b, #ladder-s1 svg, #steps-s1 b, #steps-s1 img").count() == 0
    text = re.sub(r"\s", "", page.locator("#ladder-s1").text_content())  # long lines are folded
    assert re.sub(r"\s", "", HOSTILE_GREETING.decode()) in text
    assert "</text></svg><script>window.pwned=3</script>" in text
    assert arrows(page) == expected_arrows(doc["transcript"])
    assert "&lt;script&gt;" in report.read_text()


def _replay_json(run_cli, capture, session):
    _, doc = run_cli("replay", str(capture), "--session", str(session), "--json")
    return doc["sessions"][0]


@pytest.mark.parametrize("capture", ["auth-plain-25.pcap", "rst-injected.pcap", "response-injection.pcap"])
def test_replay_whole_capture_one_section_per_session(run_cli, browser, tmp_path, capture):
    report = tmp_path / "replay.html"
    completed, doc = run_cli("replay", str(CAPTURES / capture), "--json", "--html", str(report))
    assert report.exists(), completed.stderr
    opened = browser.open(report)
    page = opened.page
    assert_clean(opened)
    assert page.locator("section.session").count() == len(doc["sessions"]) >= 1
    for summary in doc["sessions"]:
        key = f"s{summary['number']}"
        session = _replay_json(run_cli, CAPTURES / capture, summary["number"])
        assert arrows(page, key) == expected_arrows(session["transcript"]) > 0
        assert_pins_at_their_steps(page, session["findings"], key)
        end = page.locator(f"#ladder-{key} g.note[data-step='end']").text_content()
        assert {"rst": "TCP RST", "fin": "FIN"}.get(session["closed"], "") in end
    if capture == "rst-injected.pcap":  # both injected resets, at the end where the RSTs are
        pins = page.locator("#ladder-s1 g.pin[data-finding='rst-suspicious-ttl'][data-step='end']")
        assert pins.count() == 2
    assert_no_overlap(page)
    if capture == "response-injection.pcap":
        page.screenshot(path=artifact("replay.png"), full_page=True)


def test_replay_one_session_and_print_layout(run_cli, browser, tmp_path):
    report = tmp_path / "session2.html"
    completed, doc = run_cli("replay", str(CAPTURES / "auth-plain-25.pcap"), "--session", "2", "--json",
                             "--html", str(report))
    opened = browser.open(report)
    assert_clean(opened)
    assert opened.page.locator("section.session").count() == 1
    assert arrows(opened.page, "s2") == expected_arrows(doc["sessions"][0]["transcript"])
    assert "[redacted" in opened.page.locator("#ladder-s2").text_content()
    whole = tmp_path / "whole.html"
    run_cli("replay", str(CAPTURES / "auth-plain-25.pcap"), "--html", str(whole))
    printed = browser.open(whole).page
    printed.emulate_media(media="print")
    assert printed.evaluate("getComputedStyle(document.querySelector('#session-s2')).breakBefore") == "page"
    for paper in ("A4", "Letter"):
        pdf = printed.pdf(format=paper, print_background=True)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2  # one session per page
        artifact(f"replay-{paper}.pdf").write_bytes(pdf)


@pytest.mark.postfix
def test_tls_audit_report_of_postfix(run_cli, browser, mail_lab, tmp_path):
    report = tmp_path / "tls.html"
    completed, doc = run_cli("tls", f"{mail_lab.host}:{mail_lab.ports['submission']}", "--servername",
                             mail_lab.servername, "--cafile", mail_lab.cafile, "--json", "--html",
                             str(report), timeout=180)
    opened = browser.open(report)
    page = opened.page
    assert_clean(opened)
    suites = {s["iana_name"] for v in doc["versions"] for s in v["suites"]}
    assert page.locator("#matrix tbody tr").count() == len(suites) > 10
    cells = page.locator("#matrix td.cell:not(.none)").count()
    assert cells == sum(len(v["suites"]) for v in doc["versions"])
    assert page.locator("#matrix td.cell.weak").count() == sum(
        1 for v in doc["versions"] for s in v["suites"] if s["weakness"])
    assert f"{doc['connections']['used']} used" in page.locator("#connections").text_content()
    assert page.locator("#chain-tls-cert-0 .cn").text_content() == mail_lab.servername
    page.screenshot(path=artifact("tls-audit.png"), full_page=True)


def test_tls_matrix_shows_the_server_order(run_cli, browser, lab_server, tmp_path):
    server = lab_server()
    report = tmp_path / "tls.html"
    completed, doc = run_cli("tls", f"{server.host}:{server.port}", "--servername", server.hostname,
                             "--cafile", server.ca_path, "--json", "--html", str(report), timeout=120)
    opened = browser.open(report)
    assert_clean(opened)
    for column, version in enumerate(doc["versions"]):
        if not version["supported"] or not version["server_order"]:
            continue
        for place, suite in enumerate(version["suites"], start=1):
            cell = opened.page.locator(f"#suite-{suite['code']} td.cell").nth(column)
            assert cell.text_content() == str(place)


def test_discover_report(run_cli, browser, tmp_path):
    from tests.discover_world import World

    world = World(tmp_path)
    try:
        world.add("_submissions._tcp.example.test. SRV 0 1 465 submit.example.test.",
                  "submit.example.test. A 127.0.86.2")
        world.lab("submit.example.test", "127.0.86.2", 465)
        report = tmp_path / "discover.html"
        completed, doc = run_cli("discover", "alice@example.test",
                                 *world.args("--json", "--html", str(report)))
    finally:
        world.stop()
    opened = browser.open(report)
    assert_clean(opened)
    assert "submit.example.test" in opened.page.locator("#settings").text_content()
    assert opened.page.locator("#candidates tbody tr").count() == len(doc["candidates"])


def test_unwritable_html_path_is_a_usage_error_before_connecting(run_cli, tmp_path):
    completed, _ = run_cli("probe", "127.0.0.1:9", "--html", str(tmp_path / "missing" / "r.html"))
    assert completed.returncode == 2 and "cannot write a report" in completed.stderr
    assert completed.stderr.count("\n") == 1


def test_readme_screenshot_is_the_one_the_test_made():
    """docs/demo-ladder.png comes from test_demo_report_...: copy it with SMTP_INSPECTOR_UPDATE_DOCS=1."""
    import os

    made = artifact("demo-ladder.png")
    if os.environ.get("SMTP_INSPECTOR_UPDATE_DOCS") == "1" and made.exists():
        shutil.copyfile(made, ROOT / "docs/demo-ladder.png")
    committed = ROOT / "docs/demo-ladder.png"
    assert committed.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and committed.stat().st_size < 400_000
    assert "docs/demo-ladder.png" in (ROOT / "README.md").read_text()


@pytest.mark.skipif(os.getuid() != 0, reason="capturing packets needs root (CI runs as root)")
def test_sniffed_probe_puts_the_segments_on_their_arrows(run_cli, browser, lab_server, tmp_path):
    lab = lab_server()
    report = tmp_path / "sniffed.html"
    completed, doc = run_cli("probe", f"127.0.0.1:{lab.port}", "--insecure", "--sniff", "--json",
                             "--html", str(report))
    assert completed.returncode in (0, 1), completed.stderr
    opened = browser.open(report)
    page = opened.page
    assert_clean(opened)
    assert arrows(page) == expected_arrows(doc["transcript"])
    data = [s for s in doc["packets"]["segments"] if s["payload"]]
    shown = page.locator("#ladder-s1 g.arrow text.sub").all_text_contents()
    facts = [t for t in shown if t.startswith("⋯")]
    on_arrows = sum(int(re.match(r"⋯ (\d+) segment", t).group(1)) for t in facts)
    summary = page.locator("#ladder-s1 g.note", has_text="not matched to a line").text_content()
    in_tls = sum(int(n) for n in re.findall(r"(\d+) (?:segments )?from the", summary))
    # The segments carrying the plaintext bytes (offsets from the SYN, sizes from the transcript) are on
    # the arrows; the TLS ones are summed up in one row.
    plain = {d: sum(len(base64.b64decode(e["bytes_b64"])) for e in doc["transcript"]
                    if e["direction"] == d and not e["tls"]) for d in ("send", "recv")}
    syn = {s["direction"]: s["seq"] + 1 for s in doc["packets"]["segments"] if "S" in s["flags"]}
    expected = sum(1 for s in data if (s["seq"] - syn[s["direction"]]) % 2**32 < plain[s["direction"]])
    assert on_arrows == expected >= 5 and on_arrows + in_tls == len(data)
    greeting = page.locator("#ladder-s1 g.arrow.reply").first.text_content()
    assert re.search(r"⋯ 1 segment \(\d+ bytes\), TTL 64", greeting)
    closes = page.locator("#ladder-s1 g.note").all_text_contents()
    fins = sum("F" in s["flags"] for s in doc["packets"]["segments"])
    assert sum("TCP FIN from the" in t for t in closes) == fins
    assert_no_overlap(page)


@pytest.mark.postfix
def test_auth_all_report_has_one_ladder_per_mechanism_and_no_secret(browser, mail_lab, tmp_path):
    import subprocess
    import sys

    user, password = mail_lab.users[0]
    report = tmp_path / "auth.html"
    completed = subprocess.run(
        [sys.executable, "-m", "inspector", "probe", f"{mail_lab.host}:{mail_lab.ports['submission']}",
         "--servername", mail_lab.servername, "--cafile", mail_lab.cafile, "--auth", "all", "--user", user,
         "--json", "--html", str(report)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "SMTP_INSPECTOR_PASSWORD": password})
    doc = json.loads(completed.stdout)
    opened = browser.open(report)
    assert_clean(opened)
    page = opened.page
    assert page.locator("#mechanisms tbody tr").count() == len(doc["rows"])
    assert page.locator("section.session").count() == 1 + len(doc["probes"])
    for number, probe in enumerate([doc["discovery"], *doc["probes"]], start=1):
        assert arrows(page, f"s{number}") == expected_arrows(probe["transcript"])
    assert password not in report.read_text()
