"""The protocol layers do no I/O, and start-up does not drag scapy in.

``inspector.smtp`` and ``inspector.tls`` must stay sans-I/O (the h11 model):
no socket, ssl, asyncio, selectors or scapy import. ``_scapy*`` modules are
the one allowed exception.
"""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "inspector"
FORBIDDEN = {"socket", "ssl", "asyncio", "selectors", "scapy"}


def _sans_io_files() -> list[pathlib.Path]:
    files = []
    for sub in ("smtp", "tls"):
        for path in sorted((PACKAGE / sub).rglob("*.py")):
            if not path.name.startswith("_scapy"):
                files.append(path)
    return files


def forbidden_imports(source: str) -> list[str]:
    """Top-level names of forbidden modules imported anywhere in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id == "__import__")
                   or (isinstance(node.func, ast.Attribute)
                       and node.func.attr == "import_module"))):
            names = [node.args[0].value]
        found += [name for name in names if name.split(".")[0] in FORBIDDEN]
    return found


@pytest.mark.parametrize("source, expected", [
    ("import socket", ["socket"]),
    ("import ssl as s", ["ssl"]),
    ("import os, asyncio.events", ["asyncio.events"]),
    ("from selectors import DefaultSelector", ["selectors"]),
    ("from scapy.all import IP", ["scapy.all"]),
    ("def f():\n    import scapy\n", ["scapy"]),
    ("import importlib\nimportlib.import_module('socket')", ["socket"]),
    ("__import__('ssl')", ["ssl"]),
    ("from . import socket", []),
    ("import socketserver_like", []),
    ("import sslx", []),
    ("from ..errors import RemoteProtocolError", []),
])
def test_checker_itself(source, expected):
    assert forbidden_imports(source) == expected


def test_there_are_files_to_check():
    names = {p.relative_to(PACKAGE).as_posix() for p in _sans_io_files()}
    assert {"smtp/reply.py", "smtp/connection.py", "tls/records.py"} <= names


@pytest.mark.parametrize("path", _sans_io_files(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_io_imports(path):
    assert forbidden_imports(path.read_text(encoding="utf-8")) == []


def _run(code_or_args: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, *code_or_args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_import_does_not_load_scapy():
    result = _run(["-c", "import inspector.cli, sys; print('scapy' in sys.modules)"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_help_exits_zero():
    result = _run(["-m", "inspector", "--help"])
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()


def test_probe_session_does_not_load_scapy():
    result = _run(["-c", "import inspector.probes.session, sys; "
                         "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scapy'))"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
