"""pytest plugin: real servers from Debian packages, started by scripts/ (as root).

- ``dovecot_submission``: Dovecot's submission service (``dovecot-submissiond``)
  without ``ssl_dh``, with the default failed-login penalty, started by
  ``bash scripts/dovecot-submission/start`` (STARTTLS on 127.0.0.1:1587,
  implicit TLS on 1465; described by submission.json in its state directory).
- ``opensmtpd``: Debian bookworm's OpenSMTPD 6.8 built with OpenSSL 3, started
  by ``bash scripts/opensmtpd/start`` (STARTTLS on 127.0.0.1:2587); it sends its
  ServerHello and then alert 80, so no TLS handshake ever completes.

Like tests/fixtures_mail_lab.py: a server that is not running skips its tests,
or fails them when ``SMTP_INSPECTOR_REQUIRE_MAIL_LAB=1`` (as in CI).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT_STATE = "/var/tmp/smtp-inspector-dovecot-submission"
OPENSMTPD_PORT = 2587


@dataclass(frozen=True)
class RealServer:
    name: str
    host: str
    servername: str
    ports: dict
    cafile: str
    users: list[tuple[str, str]]
    mechanisms: list[str]
    log: str


def _unavailable(what: str, start: str, detail: str) -> None:
    reason = f"{what} not running: run 'bash {start}' as root"
    if os.environ.get("SMTP_INSPECTOR_REQUIRE_MAIL_LAB") == "1":
        pytest.fail(f"{reason} ({detail}); SMTP_INSPECTOR_REQUIRE_MAIL_LAB=1", pytrace=False)
    pytest.skip(reason)


def _greets(host: str, port: int) -> str | None:
    """None when ``host:port`` greets with 220, else why not."""
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            line = sock.makefile("rb").readline()
    except OSError as exc:
        return f"{host}:{port}: {exc}"
    return None if line.startswith(b"220") else f"{host}:{port} greets {line[:60]!r}"


def dovecot_state() -> Path:
    return Path(os.environ.get("SMTP_INSPECTOR_DOVECOT_SUBMISSION") or DOVECOT_STATE)


@pytest.fixture(scope="session")
def dovecot_submission() -> RealServer:
    """Dovecot 2.3 submission without ssl_dh on 127.0.0.1 (ports 1587 STARTTLS, 1465 TLS)."""
    start = "scripts/dovecot-submission/start"
    path = dovecot_state() / "submission.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        server = RealServer("Dovecot submission", str(data["host"]), str(data["servername"]),
                            {str(k): int(v) for k, v in data["ports"].items()}, str(data["cafile"]),
                            [(str(u["user"]), str(u["password"])) for u in data["users"]],
                            [str(m) for m in data["mechanisms"]], str(data["log"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _unavailable("Dovecot submission", start, f"cannot read {path}: {exc}")
    if server.host != "127.0.0.1":
        pytest.fail(f"{path}: host must be 127.0.0.1", pytrace=False)
    problem = _greets(server.host, server.ports["submission"])
    if problem:
        _unavailable("Dovecot submission", start, problem)
    return server


@pytest.fixture(scope="session")
def opensmtpd(dovecot_submission) -> RealServer:
    """OpenSMTPD 6.8 (Debian bookworm, OpenSSL 3) on 127.0.0.1:2587, Dovecot's test certificate."""
    problem = _greets("127.0.0.1", OPENSMTPD_PORT)
    if problem:
        _unavailable("OpenSMTPD 6.8", "scripts/opensmtpd/start", problem)
    return RealServer("OpenSMTPD 6.8", "127.0.0.1", dovecot_submission.servername,
                      {"submission": OPENSMTPD_PORT}, dovecot_submission.cafile, [], [], "")
