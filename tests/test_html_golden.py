"""Golden files of the ``--html`` page structure: every element with an id, its tag, classes and
data attributes, nested as in the page (text left out). A template change shows as a diff of
tests/golden/html/*.txt; accept it with ``SMTP_INSPECTOR_UPDATE_GOLDEN=1``.

The documents in tests/data/html/ are real outputs (``demo --json``, ``probe --json`` against the lab
with ``--fault inject-after-starttls``, ``send --json --data`` against the lab, ``tls --json`` against
the lab, ``replay`` of captures/auth-plain-25.pcap, ``discover --json`` in the loopback world of
tests/discover_world.py).
"""

from __future__ import annotations

import html.parser
import json
import os
import pathlib
import re

import pytest

from inspector.render.html import render

DATA = pathlib.Path(__file__).parent / "data/html"
GOLDEN = pathlib.Path(__file__).parent / "golden/html"
CASES = [("demo", "demo"), ("probe", "probe-injection"), ("send", "send"), ("tls", "tls"),
         ("replay", "replay"), ("discover", "discover")]
VOID = {"meta", "br", "line", "rect", "path", "input", "img", "link"}


class _Skeleton(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.lines: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            extra = "".join(f" {k}={attrs[k]}" for k in ("class", "data-step", "data-finding") if k in attrs)
            self.lines.append(f"{'  ' * self.depth}{tag}#{attrs['id']}{extra}")
        if tag not in VOID:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.depth -= 1

    def handle_endtag(self, tag):
        if tag not in VOID:
            self.depth -= 1


def skeleton(page: str) -> str:
    parser = _Skeleton()
    parser.feed(page)
    assert parser.depth == 0, "unbalanced tags"
    return "\n".join(parser.lines) + "\n"


@pytest.mark.parametrize("kind,name", CASES)
def test_html_structure_matches_the_golden_file(kind, name):
    page = render(kind, json.loads((DATA / f"{name}.json").read_text()))
    got = skeleton(page)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("SMTP_INSPECTOR_UPDATE_GOLDEN") == "1":
        golden.write_text(got)
    assert got == golden.read_text()


def test_ids_are_unique_and_the_page_is_self_contained():
    for kind, name in CASES:
        page = render(kind, json.loads((DATA / f"{name}.json").read_text()))
        ids = [line.strip().split("#", 1)[1].split(" ", 1)[0] for line in skeleton(page).splitlines()]
        assert len(ids) == len(set(ids)), name
        lowered = page.lower()
        assert "<script" not in lowered and " src=" not in lowered and "@import" not in lowered
        links = re.findall(r' href="([^"]*)"', page)
        assert all(link.startswith("#") for link in links)
        markers = {f"#{m}" for m in re.findall(r'marker id="([^"]+)"', page)}
        assert set(re.findall(r"url\(([^)]*)\)", page)) <= markers


def test_jinja2_is_imported_only_with_html():
    """``probe`` start-up stays light: parsing every command's options and running one loads no Jinja2."""
    import subprocess
    import sys

    code = ("import sys; from inspector.cli import main\n"
            "for name in ('probe', 'tls', 'replay', 'demo', 'discover'):\n"
            "    try: main([name, '--help'])\n"
            "    except SystemExit: pass\n"
            "main(['replay', 'captures/starttls-587.pcap'])\n"
            "print('jinja2' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=pathlib.Path(__file__).parent.parent)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr


def test_every_pinned_step_is_a_step_of_a_session():
    """A catalogue ``step=`` names a step ``send`` (the longest session) reports, so the pin has a row."""
    from inspector.render.html.pins import FINDING_STEP

    schema = json.loads((pathlib.Path(__file__).parents[1] / "inspector/schema/send.schema.json").read_text())
    steps = set(schema["properties"]["steps"]["items"]["properties"]["name"]["enum"])
    assert FINDING_STEP and {fid: step for fid, step in FINDING_STEP.items() if step not in steps} == {}
