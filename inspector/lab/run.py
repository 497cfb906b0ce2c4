"""Run the lab server in the foreground (``smtp-inspector lab`` style)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from inspector.lab.certs import make_lab_certificates
from inspector.lab.faults import FAULTS_BY_NAME, auth_in_clear, starttls_advertised, starttls_offered
from inspector.lab.sasl import DEMO_PASSWORD, DEMO_USER
from inspector.lab.server import LabServer
from inspector.net.address import host_port

__all__ = ["describe_lab", "run_lab"]


def describe_lab(lab: LabServer) -> str:
    """How to connect to a running lab server, as printable text.

    The mode line and the swaks hint follow the fault table: under a fault
    without working STARTTLS the session stays in plaintext, and the hint
    says so instead of suggesting ``--tls``.
    """
    target = host_port(lab.host, lab.port)
    fault = FAULTS_BY_NAME[lab.fault] if lab.fault else None
    login = f" --auth-user {DEMO_USER} --auth-password {DEMO_PASSWORD}"
    probe_mode = ""
    if lab.implicit_tls:
        mode = "implicit TLS (RFC 8314, TLS from the first byte, like port 465)"
        swaks = f"--tlsc --tls-ca-path {lab.ca_path}{login}"
        probe_mode = " --implicit-tls"
    elif starttls_offered(lab.fault):
        mode = "plaintext + STARTTLS (like port 25/587)"
        swaks = f"--tls --tls-ca-path {lab.ca_path}{login}"
    else:
        mode = "plaintext only: STARTTLS " + (
            "is advertised but refused" if starttls_advertised(lab.fault) else "is not offered")
        swaks = (login + " --quit-after AUTH") if auth_in_clear(lab.fault) else " --quit-after EHLO"
        probe_mode = " --no-require-tls"
    auth = "AUTH PLAIN, LOGIN" + (", before TLS" if auth_in_clear(lab.fault) else ", after TLS")
    lines = [
        f"smtp-inspector lab server listening on {target}",
        f"  hostname : {lab.hostname}",
        f"  mode     : {mode}",
        f"  fault    : {f'{fault.name}: {fault.does}' if fault else 'none (well-behaved server)'}",
        f"  login    : {DEMO_USER} / {DEMO_PASSWORD} ({auth})",
        f"  lab CA   : {lab.ca_path}",
        "",
        "Try:",
        f"  smtp-inspector probe {target}{probe_mode} --servername {lab.hostname} --cafile {lab.ca_path}",
        f"  swaks --server {target} {swaks.strip()} --from {DEMO_USER} --to someone@lab.test",
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def run_lab(
    *,
    host: str = "127.0.0.1",
    port: int | None = 2525,
    fault: str | None = None,
    implicit_tls: bool = False,
    out: TextIO | None = None,
    extra_ports: tuple[int, ...] = (),
    implicit_tls_ports: tuple[int, ...] = (),
    hostname: str | None = None,
) -> int:
    """Start the lab server, print how to use it, block until Ctrl-C/SIGTERM.

    ``port`` (mode set by ``implicit_tls``) and every one of ``extra_ports``
    (same mode) and ``implicit_tls_ports`` (implicit TLS) get a listener; all of
    them share one certificate, like one real server listening on 25, 587 and 465.

    Returns 0 after a clean stop, 2 if the server cannot start (port in use,
    unknown fault), with a one-line message on stderr.
    """
    out = sys.stdout if out is None else out
    listeners = [(p, implicit_tls) for p in ((port,) if port is not None else ()) + tuple(extra_ports)]
    listeners += [(p, True) for p in implicit_tls_ports]
    named = {"hostname": hostname} if hostname else {}
    certificates = make_lab_certificates(hostname) if hostname else make_lab_certificates()
    labs: list[LabServer] = []
    current = listeners[0][0] if listeners else port
    try:
        for current, implicit in listeners:
            labs.append(LabServer(host=host, port=current, fault=fault, implicit_tls=implicit,
                                  certificates=certificates, **named).start())
    except ValueError as exc:
        for started in labs:
            started.stop()
        print(f"smtp-inspector lab: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        for started in labs:
            started.stop()
        from inspector.net.transport import os_reason

        reason = os_reason(exc)
        print(
            f"smtp-inspector lab: error: cannot listen on {host_port(host, current)}: {reason}",
            file=sys.stderr,
        )
        return 2

    stop = threading.Event()
    previous_term = None
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous_term = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        for lab in labs[:-1]:
            print(describe_lab(lab).rpartition("\n\n")[0], file=out, flush=True)
        print(describe_lab(labs[-1]), file=out, flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for lab in labs:
            lab.stop()
        if in_main_thread and previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    print("lab server stopped", file=out, flush=True)
    return 0
