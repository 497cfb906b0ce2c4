"""``smtp-inspector lab``: run the built-in lab server until Ctrl-C."""

from __future__ import annotations

from ..errors import UsageError
from .common import port_number


def register(sub) -> None:
    lab = sub.add_parser("lab", help="run the built-in lab server until Ctrl-C",
                         description="A real SMTP server on loopback, optionally with a fault "
                                     "that imitates a broken or hostile path.")
    lab.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    lab.add_argument("--port", type=port_number, default=2525, help="port (default 2525, 0 = any free)")
    lab.add_argument("--fault", metavar="NAME",
                     help="strip-starttls, mask-starttls, starttls-454, inject-after-starttls, "
                          "plain-auth-before-tls, slow-greeting")
    lab.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte")
    lab.set_defaults(handler=run)


def run(args) -> int:
    from ..lab import FAULTS
    from ..lab.run import run_lab

    if args.fault is not None and args.fault not in FAULTS:
        raise UsageError(f"unknown fault {args.fault!r}; choose from {', '.join(FAULTS)}")
    return run_lab(host=args.host, port=args.port, fault=args.fault,
                   implicit_tls=args.implicit_tls)
