"""``smtp-inspector lab``: run the built-in lab server until Ctrl-C."""

from __future__ import annotations

from ..errors import UsageError
from .common import port_number

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = "run the built-in lab server until Ctrl-C"


def register(sub) -> None:
    lab = sub.add_parser("lab", help=SUMMARY,
                         description="A real SMTP server on loopback, optionally with a fault "
                                     "that imitates a broken or hostile path.")
    lab.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    lab.add_argument("--port", type=port_number, action="append",
                     help="port (default 2525, 0 = any free); repeat to listen on several ports")
    lab.add_argument("--implicit-tls-port", type=port_number, action="append", default=[],
                     metavar="PORT", help="also listen with implicit TLS on PORT (like 465); repeatable")
    lab.add_argument("--hostname", help="name in the banner, EHLO reply and certificate")
    lab.add_argument("--fault", metavar="NAME",
                     help="strip-starttls, mask-starttls, starttls-454, inject-after-starttls, "
                          "plain-auth-before-tls, slow-greeting, pipelining-out-of-order, "
                          "pipelining-missing-reply, ...")
    lab.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte")
    lab.set_defaults(handler=run)


def run(args) -> int:
    from ..lab import FAULTS
    from ..lab.run import run_lab

    if args.fault is not None and args.fault not in FAULTS:
        raise UsageError(f"unknown fault {args.fault!r}; choose from {', '.join(FAULTS)}")
    ports = args.port or ([] if args.implicit_tls_port else [2525])
    return run_lab(host=args.host, port=ports[0] if ports else None, fault=args.fault,
                   implicit_tls=args.implicit_tls, extra_ports=tuple(ports[1:]),
                   implicit_tls_ports=tuple(args.implicit_tls_port), hostname=args.hostname)
