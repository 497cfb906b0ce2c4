"""Shared fixtures: the Postfix mail lab (tests/fixtures_mail_lab.py) and the built-in lab server."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures_mail_lab", "tests.fixtures_real_servers"]


@pytest.fixture
def lab_server():
    """A factory: ``lab_server(fault=None, implicit_tls=False)`` → a started LabServer."""
    from inspector.lab import LabServer

    started = []

    def start(**kwargs):
        server = LabServer(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def run_cli():
    """Run ``python -m inspector ARGS`` in a subprocess; returns (completed, parsed JSON or None)."""
    import json
    import subprocess
    import sys

    def run(*args, timeout: float = 60):
        completed = subprocess.run([sys.executable, "-m", "inspector", *args],
                                   capture_output=True, text=True, timeout=timeout)
        document = None
        if "--json" in args and completed.stdout.strip():
            document = json.loads(completed.stdout)
        return completed, document

    return run
