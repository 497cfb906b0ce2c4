"""Run the lab server in the foreground (``smtp-inspector lab`` style)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from inspector.lab.certs import make_lab_certificates
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
        (
            f"  smtp-inspector send {target}{probe_mode} --servername {lab.hostname} --cafile {lab.ca_path}"
            f" --auth auto --user {DEMO_USER} --from {DEMO_USER} --to someone@lab.test"
            "   (password: $SMTP_INSPECTOR_PASSWORD)"
        ),
        "Received messages are printed here.",
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


#: Lines of a received message that ``lab`` prints (headers first); the rest is counted.
MESSAGE_LINES_PRINTED = 20


def describe_message(number: int, message) -> str:
    """A received message as ``lab`` prints it: the envelope, then its first lines."""
    lines = message.content.split(b"\r\n")
    shown = [line.decode("utf-8", "backslashreplace") for line in lines[:MESSAGE_LINES_PRINTED]]
    more = len(lines) - len(shown)
    head = (f"received message {number}: from <{message.mail_from}> to "
            f"{', '.join(f'<{r}>' for r in message.rcpt_tos)}, {len(message.content)} octets")
    return "\n".join([head, *("  | " + line for line in shown),
                      *([f"  | [{more} more line(s)]"] if more > 0 else [])])


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
        print(f"smtp-inspector lab: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        for started in labs:
            started.stop()
        reason = exc.strerror or str(exc)
        print(
            f"smtp-inspector lab: cannot listen on {host}:{current}: {reason}",
            file=sys.stderr,
        )
        return 2

    stop = threading.Event()
    previous_term = None
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous_term = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    printing = threading.Lock()

    def print_message(number, message):
        with printing:
            print(describe_message(number, message), file=out, flush=True)

    for lab in labs:
        lab.on_message = print_message
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
