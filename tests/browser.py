"""A real headless browser for the ``--html`` report tests: Debian's chromium, driven by playwright.

Playwright only drives the browser that ``scripts/setup-system`` installs
(/usr/bin/chromium); it never downloads one. Every page is opened with a fresh
profile and the flags below (no network services of the browser itself); every
request the page makes is counted and, unless it is the report file, blocked.
"""

from __future__ import annotations

import os
import pathlib
import re
import tempfile
from dataclasses import dataclass, field

CHROMIUM = os.environ.get("SMTP_INSPECTOR_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = pathlib.Path(os.environ.get("SMTP_INSPECTOR_ARTIFACTS")
                         or pathlib.Path(__file__).resolve().parent.parent / "test-artifacts")


@dataclass
class OpenedPage:
    page: object
    url: str
    requests: list = field(default_factory=list)      # every URL the page asked for
    blocked: list = field(default_factory=list)       # the ones refused (anything but the report)
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)

    @property
    def foreign_requests(self) -> list:
        return [url for url in self.requests if url != self.url]


class Browser:
    """``with Browser() as b: opened = b.open(path)``: one chromium per fresh profile."""

    def __enter__(self) -> "Browser":
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._contexts: dict[bool, object] = {}
        self._profiles: list = []
        return self

    def __exit__(self, *exc) -> None:
        for context in self._contexts.values():
            context.close()
        self._pw.stop()
        for profile in self._profiles:
            profile.cleanup()

    def _context(self, javascript: bool):
        if javascript not in self._contexts:
            profile = tempfile.TemporaryDirectory(prefix="smtp-inspector-chromium-")
            self._profiles.append(profile)
            self._contexts[javascript] = self._pw.chromium.launch_persistent_context(
                profile.name, executable_path=CHROMIUM, headless=True,
                args=FLAGS,  # playwright passes the fresh profile as --user-data-dir
                viewport={"width": 1600, "height": 1000}, service_workers="block",
                java_script_enabled=javascript)
        return self._contexts[javascript]

    def open(self, path, *, color_scheme: str = "light", width: int = 1600,
             javascript: bool = True) -> OpenedPage:
        page = self._context(javascript).new_page()
        page.set_viewport_size({"width": width, "height": 1000})
        page.emulate_media(color_scheme=color_scheme)
        url = pathlib.Path(path).resolve().as_uri()
        opened = OpenedPage(page, url)

        def on_route(route):
            if route.request.url == url:
                route.continue_()
            else:
                opened.blocked.append(route.request.url)
                route.abort()

        page.route("**/*", on_route)
        page.on("request", lambda request: opened.requests.append(request.url))
        page.on("console",
                lambda msg: opened.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: opened.page_errors.append(str(exc)))
        page.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url, wait_until="load")
        page.wait_for_timeout(150)  # a late onerror or timer would have fired by now
        return opened


def expected_arrows(transcript) -> int:
    """Commands (each line the client sent) plus replies (each final reply line the server sent)."""
    commands = sum(len(e["text"].rstrip("\n").split("\n")) for e in transcript if e["direction"] == "send")
    received = "".join(e["text"] for e in transcript if e["direction"] == "recv")
    replies = sum(1 for line in received.rstrip("\n").split("\n") if not re.match(r"^\d{3}-", line))
    return commands + replies


def assert_clean(opened) -> None:
    assert opened.foreign_requests == [] and opened.blocked == []
    assert opened.console_errors == [] and opened.page_errors == [] and opened.dialogs == []


def artifact(name: str) -> pathlib.Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


# Geometry checks, run in the page: every text box of the ladder against every other.
OVERLAPS_JS = """(selector) => {
  const out = [];
  for (const svg of document.querySelectorAll(selector)) {
    const boxes = [...svg.querySelectorAll('text')].map(t => {
      const r = t.getBoundingClientRect();
      return {l: r.left, r: r.right, t: r.top, b: r.bottom, s: t.textContent};
    }).filter(b => b.r > b.l && b.b > b.t).sort((a, b) => a.t - b.t);
    const frame = svg.getBoundingClientRect();
    for (let i = 0; i < boxes.length; i++) {
      const a = boxes[i];
      if (a.l < frame.left - 0.5 || a.r > frame.right + 0.5) out.push(['outside', a.s]);
      for (let j = i + 1; j < boxes.length && boxes[j].t < a.b - 0.5; j++) {
        const b = boxes[j];
        if (b.l < a.r - 0.5 && a.l < b.r - 0.5) out.push([a.s, b.s]);
      }
    }
  }
  return out;
}"""

# Arrow labels must stay between the lifelines: the server's line is the second .lifeline.
LABELS_PAST_SERVER_JS = """(svgSelector) => {
  const out = [];
  for (const svg of document.querySelectorAll(svgSelector)) {
    const server = svg.querySelectorAll('.lifeline')[1].getBoundingClientRect().left;
    for (const t of svg.querySelectorAll('g.arrow text.label, g.arrow text.sub, g.note text:not(.time)')) {
      if (t.getBoundingClientRect().right > server + 24) out.push(t.textContent);
    }
  }
  return out;
}"""
