"""Run the lab server in the foreground (``smtp-inspector lab`` style)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from inspector.lab.server import DEMO_PASSWORD, DEMO_USER, FAULTS, LabServer

__all__ = ["describe_lab", "run_lab"]


def describe_lab(lab: LabServer) -> str:
    """How to connect to a running lab server, as printable text."""
    target = (
        f"{lab.host}:{lab.port}" if ":" not in lab.host else f"[{lab.host}]:{lab.port}"
    )
    if lab.implicit_tls:
        mode = "implicit TLS (RFC 8314, TLS from the first byte, like port 465)"
        swaks_tls = "--tlsc"
        probe_mode = " --implicit-tls"
    else:
        mode = "plaintext + STARTTLS (like port 25/587)"
        swaks_tls = "--tls"
        probe_mode = ""
    fault = (
        f"{lab.fault}: {FAULTS[lab.fault]}"
        if lab.fault
        else "none (well-behaved server)"
    )
    lines = [
        f"smtp-inspector lab server listening on {target}",
        f"  hostname : {lab.hostname}",
        f"  mode     : {mode}",
        f"  fault    : {fault}",
        f"  login    : {DEMO_USER} / {DEMO_PASSWORD} (AUTH PLAIN, LOGIN)",
        f"  lab CA   : {lab.ca_path}",
        "",
        "Try:",
        f"  smtp-inspector probe {target}{probe_mode} --servername {lab.hostname} --cafile {lab.ca_path}",
        (
            f"  swaks --server {target} {swaks_tls} --tls-ca-path {lab.ca_path}"
            f" --auth-user {DEMO_USER} --auth-password {DEMO_PASSWORD}"
            f" --from {DEMO_USER} --to someone@lab.test"
        ),
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def run_lab(
    *,
    host: str = "127.0.0.1",
    port: int = 2525,
    fault: str | None = None,
    implicit_tls: bool = False,
    out: TextIO | None = None,
) -> int:
    """Start the lab server, print how to use it, block until Ctrl-C/SIGTERM.

    Returns 0 after a clean stop, 2 if the server cannot start (port in use,
    unknown fault), with a one-line message on stderr.
    """
    out = sys.stdout if out is None else out
    try:
        lab = LabServer(host=host, port=port, fault=fault, implicit_tls=implicit_tls)
        lab.start()
    except ValueError as exc:
        print(f"smtp-inspector lab: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(
            f"smtp-inspector lab: cannot listen on {host}:{port}: {reason}",
            file=sys.stderr,
        )
        return 2

    stop = threading.Event()
    previous_term = None
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous_term = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        print(describe_lab(lab), file=out, flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        lab.stop()
        if in_main_thread and previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    print("lab server stopped", file=out, flush=True)
    return 0
