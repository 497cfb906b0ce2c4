"""``smtp-inspector interference``: is the path to a mail server blocked, reset, redirected or stripped?"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from . import SUMMARIES
from .common import ascii_int, check_host_only, port_list, port_number, positive_seconds, resolve_target
from .ports import add_timing_arguments, timing

DEFAULT_PORTS = "25,465,587"


def _spki(text: str) -> str:
    value = text.strip().lower().replace(":", "")
    if len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value):
        raise argparse.ArgumentTypeError("--expect-spki takes the SHA-256 of the key (64 hex digits)")
    return value


#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["interference"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, 1, 2, 3, 4, 5, 10, 130)


def register(sub) -> None:
    parser = sub.add_parser(
        "interference", help=SUMMARY,
        description="Compare every SMTP port with a control port on the same address (587, 465, 443 "
                    "or 80): hop distance and fingerprint of SYN-ACK/RST, ICMP, a TCP traceroute per "
                    "port, the SMTP greeting, STARTTLS and the certificate. Prints verdicts with "
                    "their confidence and evidence. Needs root or CAP_NET_RAW.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host", metavar="HOST", help="the one host to probe (IPv4)")
    parser.add_argument("--ports", type=port_list, default=port_list(DEFAULT_PORTS),
                        help=f"SMTP ports to examine (default {DEFAULT_PORTS})")
    parser.add_argument("--control-port", type=port_number, metavar="PORT",
                        help="the baseline port (default: the first of 587, 465, 443, 80 that answers)")
    parser.add_argument("--expect-spki", type=_spki, metavar="SHA256",
                        help="the SHA-256 of the server's key (hex): any other key means interception")
    parser.add_argument("--hop-timeout", type=positive_seconds, default=1.0, metavar="S",
                        help="wait for answers to one round of traceroute probes (default 1)")
    parser.add_argument("--max-ttl", type=ascii_int, choices=range(1, 31), default=30, metavar="N",
                        help="longest traceroute (1-30, default 30; stops at the host anyway)")
    add_timing_arguments(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..interference.collect import run_interference
    from ..render import path_report
    from .common import require_raw_sockets

    host = check_host_only(args.host, "interference")
    if ":" in host:
        raise UsageError(f"{host!r} is an IPv6 address; packet probes speak IPv4 only (use a name "
                         "or address with IPv4)")
    require_raw_sockets("interference")
    addresses = resolve_target(host, args.deadline)
    report = run_interference(host, args.ports, timing(args, args.hop_timeout),
                              control_port=args.control_port, expect_spki=args.expect_spki,
                              max_ttl=args.max_ttl, addresses=addresses)
    if args.json:
        print(path_report.dumps(path_report.interference_report(report)))
    else:
        print(path_report.render_interference(report))
    return int(report.exit_code)
