"""``--html FILE``: one self-contained HTML report (inline CSS and SVG, no script, no fetch).

Rendered with Jinja2, autoescaping on, from the same JSON-shaped documents as
``--json`` (probe/demo: json_output.probe_result; tls: tls_audit.tls_audit_result;
replay: replay_output.replay_json with every session's transcript; discover:
discover_json.to_dict; probe --auth all: json_output.auth_table; report: scan.compare.report). Every byte
from a server reaches the page as text.
``send`` renders like ``probe``: its document has the same
``steps``/``transcript``/``findings`` members (kind "send").
Jinja2 is imported here only, so commands without --html never load it.
"""

from __future__ import annotations

import datetime

KINDS = ("probe", "demo", "send", "tls", "replay", "discover", "auth-table", "scan-report")


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("inspector.render.html", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["t"] = _time_label
    return env


def _time_label(t) -> str:
    from .session_view import time_label
    return time_label(float(t or 0))


def render(kind: str, document: dict) -> str:
    """The HTML page for a command's JSON document."""
    from . import views

    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    context = views.context(kind, document)
    context["generated"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from ... import __version__
    context["version"] = __version__
    return _environment().get_template(f"{views.TEMPLATE[kind]}.html.j2").render(**context)


def write(path: str, kind: str, document: dict) -> None:
    """Write the report; a file that cannot be written is a one-line UsageError (exit 2)."""
    from ...redaction import save_text

    save_text(path, render(kind, document), what="--html")


def replay_document(result, exit_code: int, *, session: int | None = None) -> dict:
    """replay_output.replay_json, with the transcript of every session it lists."""
    from ..replay_output import replay_json, session_json

    document = replay_json(result, exit_code, session=session)
    chosen = result.sessions if session is None else (result.sessions[session - 1],)
    document["sessions"] = [session_json(s, with_transcript=True) for s in chosen]
    return document
