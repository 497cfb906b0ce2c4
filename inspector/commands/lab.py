"""``smtp-inspector lab``: run the built-in lab server until Ctrl-C."""

from __future__ import annotations

from ..errors import UsageError
from . import SUMMARIES
from .common import check_host_name, check_host_only, port_number, resolve_target

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["lab"]

#: The exit codes this command can end with.
EXIT_CODES = ((0, "stopped cleanly (Ctrl-C or SIGTERM)"), (2, "bad arguments, or the port cannot be used"),
              3, (10, "the --host name does not resolve"))


def register(sub) -> None:
    import argparse

    from ..lab.faults import FAULTS, fault_help

    lab = sub.add_parser("lab", help=SUMMARY,
                         description="A real SMTP server on loopback, optionally with a fault "
                                     "that imitates a broken or hostile path.",
                         epilog=fault_help(),
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    lab.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    lab.add_argument("--port", type=port_number, action="append",
                     help="port (default 2525, 0 = any free); repeat to listen on several ports")
    lab.add_argument("--implicit-tls-port", type=port_number, action="append", default=[],
                     metavar="PORT", help="also listen with implicit TLS on PORT (like 465); repeatable")
    lab.add_argument("--hostname", help="name in the banner, EHLO reply and certificate")
    lab.add_argument("--fault", metavar="NAME",
                     help=f"imitate a broken or hostile path: {', '.join(FAULTS)} (see below)")
    lab.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte")
    lab.set_defaults(handler=run)


def run(args) -> int:
    from ..lab.faults import FAULTS
    from ..lab.run import run_lab

    if args.fault is not None and args.fault not in FAULTS:
        raise UsageError(f"unknown fault {args.fault!r}; choose from {', '.join(FAULTS)}")
    host = check_host_only(args.host, "lab --host", "--port")
    if args.hostname is not None:
        check_host_name(args.hostname, "--hostname")
    host = resolve_target(host, 10.0)[0]  # a name that does not resolve: exit 10, as everywhere
    ports = args.port or ([] if args.implicit_tls_port else [2525])
    return run_lab(host=host, port=ports[0] if ports else None, fault=args.fault,
                   implicit_tls=args.implicit_tls, extra_ports=tuple(ports[1:]),
                   implicit_tls_ports=tuple(args.implicit_tls_port), hostname=args.hostname)
