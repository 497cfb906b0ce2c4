"""``smtp-inspector ports``: which SMTP ports of one host answer, how, and what they speak."""

from __future__ import annotations

import argparse

from . import SUMMARIES
from .common import ascii_int, check_host_only, port_list, positive_seconds, resolve_target

DEFAULT_PORTS = "25,465,587,2525"


def add_timing_arguments(parser) -> None:
    parser.add_argument("--timeout", type=positive_seconds, default=1.0, metavar="S",
                        help="wait for answers to one round of SYNs, seconds (default 1)")
    parser.add_argument("--tries", type=ascii_int, choices=range(1, 6), default=3, metavar="N",
                        help="SYNs per port before it counts as filtered (1-5, default 3)")
    parser.add_argument("--session-timeout", type=positive_seconds, default=5.0, metavar="S",
                        help="per-step timeout of the SMTP session on each open port (default 5)")
    parser.add_argument("--deadline", type=positive_seconds, default=60.0, metavar="S",
                        help="deadline for the whole command, seconds (default 60)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def timing(args, hop_timeout: float = 1.0):
    from ..interference.collect import Timing

    return Timing(syn_timeout=args.timeout, syn_tries=args.tries, hop_timeout=hop_timeout,
                  session_timeout=args.session_timeout, deadline=args.deadline)


#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["ports"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, 1, 2, 3, 5, 10, 130)


def register(sub) -> None:
    parser = sub.add_parser(
        "ports", help=SUMMARY,
        description="Probe the SMTP ports of one host in parallel: state, greeting, TLS mode and time "
                    "to greeting. As root (or with CAP_NET_RAW) it sends SYN probes and reads "
                    "SYN-ACK/RST/ICMP with their TTLs; otherwise it uses connect().",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host", metavar="HOST", help="the one host to probe")
    parser.add_argument("--ports", type=port_list, default=port_list(DEFAULT_PORTS),
                        help=f"comma-separated ports (default {DEFAULT_PORTS})")
    parser.add_argument("--connect", action="store_true",
                        help="use connect() even when raw sockets are available")
    add_timing_arguments(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..interference.collect import run_ports
    from ..render import path_report

    host = check_host_only(args.host, "ports")
    addresses = resolve_target(host, args.deadline)
    raw = False
    if not args.connect:
        from ..packets.tcp_probes import have_raw_sockets
        raw = have_raw_sockets()
    report = run_ports(host, args.ports, timing(args), raw=raw, addresses=addresses)
    if args.json:
        print(path_report.dumps(path_report.ports_report(report)))
    else:
        print(path_report.render_ports(report))
    return int(report.exit_code)
