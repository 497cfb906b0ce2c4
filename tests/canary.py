"""Canary secrets and every encoding in which one could leak (for the redaction tests)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import pathlib
import subprocess
import sys
import urllib.parse
import uuid


def new_canary(kind: str) -> str:
    return f"{kind}-canary-{uuid.uuid4().hex}"


def _cores(secret: bytes, encode=base64.b64encode, group: int = 3) -> list[bytes]:
    """Characters fixed by the secret alone, at every alignment (independent of redaction.py)."""
    cores = []
    for offset in range(group):
        a = encode(b"\x00" * offset + secret + b"\x00" * group)
        b = encode(b"\xff" * offset + secret + b"\xff" * group)
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
    for index, core in enumerate(_cores(raw, base64.urlsafe_b64encode)):
        forms[f"base64url-alignment-{index}"] = core
    for index, core in enumerate(_cores(raw, base64.b32encode, 5)):
        forms[f"base32-alignment-{index}"] = core
    forms["HEX"] = binascii.hexlify(raw).upper()
    forms["percent"] = urllib.parse.quote(raw, safe="").encode()
    forms["percent-every-byte"] = "".join(f"%{b:02X}" for b in raw).encode()
    for codec in ("latin-1", "utf-16-le", "utf-16-be"):
        try:
            forms[codec] = secret.encode(codec)
        except UnicodeEncodeError:
            pass
    forms["python-repr"] = repr(secret)[1:-1].encode()
    forms["python-bytes-repr"] = repr(raw)[2:-1].encode()
    forms["json"] = json.dumps(secret)[1:-1].encode()
    if len(secret) >= 32:
        forms["prefix-16"], forms["suffix-16"] = raw[:16], raw[-16:]
    from inspector.render.untrusted import shown  # how a terminal report writes each form

    for name, form in list(forms.items()):
        forms[f"{name} (as shown)"] = shown(form.decode("utf-8", "backslashreplace")).encode()
        forms[f"{name} (bytes repr)"] = repr(form)[2:-1].encode()
    return {name: form for name, form in forms.items() if len(form) >= 8}


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
