"""Canary secrets and every encoding in which one could leak (for the redaction tests)."""

from __future__ import annotations

import base64
import binascii
import os
import pathlib
import subprocess
import sys
import uuid


def new_canary(kind: str) -> str:
    return f"{kind}-canary-{uuid.uuid4().hex}"


def _cores(secret: bytes) -> list[bytes]:
    """Base64 characters fixed by the secret alone, at the 3 alignments (independent of sasl.py)."""
    cores = []
    for offset in range(3):
        a = base64.b64encode(b"\x00" * offset + secret + b"\x00\x00")
        b = base64.b64encode(b"\xff" * offset + secret + b"\xff\xff")
        same = [i for i in range(len(a)) if a[i] == b[i] and a[i:i + 1] != b"="]
        cores.append(a[same[0]:same[-1] + 1])
    return cores


def leak_forms(secret: str, user: str) -> dict[str, bytes]:
    """Every form of ``secret`` that must not appear anywhere."""
    raw = secret.encode()
    forms = {"raw": raw, "hex": binascii.hexlify(raw), "base64": base64.b64encode(raw),
             "urlsafe-base64": base64.urlsafe_b64encode(raw).rstrip(b"="),
             "PLAIN": base64.b64encode(b"\0" + user.encode() + b"\0" + raw),
             "XOAUTH2": base64.b64encode(f"user={user}\x01auth=Bearer {secret}\x01\x01".encode()),
             "bearer": f"Bearer {secret}".encode()}
    for index, core in enumerate(_cores(raw)):
        forms[f"base64-alignment-{index}"] = core
    return forms


def assert_no_leak(secrets: list[str], user: str, texts: dict[str, bytes]) -> None:
    """``texts`` maps a name (stdout, a file path) to its bytes."""
    for secret in secrets:
        for form_name, form in leak_forms(secret, user).items():
            for where, data in texts.items():
                assert form not in data, f"{form_name} form of a secret leaked into {where}"


def run_inspector(*args: str, env: dict | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("SMTP_INSPECTOR_PASSWORD", "SMTP_INSPECTOR_TOKEN")}
    full_env.update(env or {})
    root = pathlib.Path(__file__).resolve().parent.parent
    full_env["PYTHONPATH"] = str(root) + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True,
                          env=full_env, stdin=subprocess.DEVNULL, timeout=timeout, cwd=root)


def collect(completed: subprocess.CompletedProcess, *directories: pathlib.Path) -> dict[str, bytes]:
    texts = {"stdout": completed.stdout, "stderr": completed.stderr}
    for directory in directories:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                texts[str(path)] = path.read_bytes()
    return texts
