"""pytest plugin: the ``mail_lab`` fixture for tests against the real Postfix +
Dovecot lab started by ``bash scripts/mail-lab/start`` (as root).

Load it with ``pytest_plugins = ["tests.fixtures_mail_lab"]`` in tests/conftest.py
(or ``-p tests.fixtures_mail_lab`` on the command line).

The lab describes itself in ``lab.json`` in its state directory,
``$SMTP_INSPECTOR_MAIL_LAB`` (default /var/tmp/smtp-inspector-mail-lab).  When
the lab is missing or not answering, tests using the fixture are skipped, or
fail when ``SMTP_INSPECTOR_REQUIRE_MAIL_LAB=1`` (as in CI).
"""

from __future__ import annotations

import json
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_STATE_DIR = "/var/tmp/smtp-inspector-mail-lab"
SKIP_REASON = "Postfix mail lab not running: run 'bash scripts/mail-lab/start' as root"


@dataclass(frozen=True)
class MailLab:
    """The running mail lab, as described by its lab.json."""

    host: str  # always 127.0.0.1
    servername: str  # name in the server certificate: mail.lab.test
    ports: dict  # {"smtp": 25, "submission": 587, "submissions": 465}
    cafile: str  # absolute path of the lab's test CA (PEM)
    users: list[tuple[str, str]]  # [(user, password), ...]
    mechanisms: list[str]  # SASL mechanisms Dovecot serves, e.g. "PLAIN"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only the lab's CA, hostname checking on."""
        return ssl.create_default_context(cafile=self.cafile)


def state_dir() -> Path:
    return Path(os.environ.get("SMTP_INSPECTOR_MAIL_LAB") or DEFAULT_STATE_DIR)


def load_mail_lab(path: Path | None = None) -> MailLab:
    """Read lab.json; raises OSError/ValueError/KeyError when absent or malformed."""
    path = path or state_dir() / "lab.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    lab = MailLab(
        host=str(data["host"]),
        servername=str(data["servername"]),
        ports={str(k): int(v) for k, v in data["ports"].items()},
        cafile=str(data["cafile"]),
        users=[(str(u["user"]), str(u["password"])) for u in data["users"]],
        mechanisms=[str(m) for m in data["mechanisms"]],
    )
    # Tests talk to loopback only, whatever a lab.json might say.
    if lab.host != "127.0.0.1":
        raise ValueError(f"{path}: host must be 127.0.0.1, not {lab.host!r}")
    return lab


def _unavailable(detail: str) -> None:
    if os.environ.get("SMTP_INSPECTOR_REQUIRE_MAIL_LAB") == "1":
        pytest.fail(f"{SKIP_REASON} ({detail}); SMTP_INSPECTOR_REQUIRE_MAIL_LAB=1", pytrace=False)
    pytest.skip(SKIP_REASON)


@pytest.fixture(scope="session")
def mail_lab() -> MailLab:
    """The Postfix + Dovecot lab on 127.0.0.1 (ports 25, 587, 465)."""
    path = state_dir() / "lab.json"
    try:
        lab = load_mail_lab(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        _unavailable(f"cannot read {path}: {exc}")
    port = lab.ports.get("submission", 587)
    try:
        with socket.create_connection((lab.host, port), timeout=5):
            pass
    except OSError as exc:
        _unavailable(f"{lab.host}:{port} does not accept connections: {exc}")
    return lab
