"""``smtp-inspector replay FILE``: the same judgement over a pcap or pcapng capture."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from .common import EXIT_CODES_HELP, ascii_int, positive_seconds

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = "judge the SMTP sessions in a pcap/pcapng capture"


def register(sub) -> None:
    replay = sub.add_parser(
        "replay", help=SUMMARY,
        description="Reassemble every TCP connection in the capture, find the SMTP sessions by "
                    "their dialog (any port; implicit TLS on 465), parse both directions with the "
                    "probe's engine and print one row per session with its findings.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    replay.add_argument("file", metavar="FILE", help="capture file (pcap or pcapng)")
    replay.add_argument("--session", type=ascii_int, metavar="N",
                        help="print session N's transcript and details instead of the table")
    replay.add_argument("--json", action="store_true", help="print the result as JSON")
    replay.add_argument("--cafile", metavar="PATH",
                        help="trust these CA certificates (PEM) when judging certificates seen in "
                             "TLS <= 1.2 handshakes (default: the system store)")
    replay.add_argument("--idle-timeout", type=positive_seconds, default=600.0, metavar="S",
                        help="finish a connection silent for this many capture seconds (default 600)")
    replay.set_defaults(handler=run)


def run(args) -> int:
    from ..capture import CaptureError, replay_file
    from ..exitcodes import ExitCode
    from ..findings import Severity

    if args.session is not None and args.session < 1:
        raise UsageError(f"--session must be 1 or more, not {args.session}")
    if args.cafile:
        from ..certs import load_trust_anchors
        load_trust_anchors(args.cafile)
    try:
        result = replay_file(args.file, session=args.session, cafile=args.cafile,
                             idle_timeout=args.idle_timeout)
    except CaptureError as exc:
        print(f"smtp-inspector: error: {args.file}: {exc}", file=sys.stderr)
        return int(ExitCode.CAPTURE)
    if args.session is not None and args.session > result.sessions_total:
        if result.error:   # the capture broke before session N: that is the one error to report
            print(f"smtp-inspector: error: {args.file}: {result.error}", file=sys.stderr)
            return int(ExitCode.CAPTURE)
        raise UsageError(f"--session {args.session}: the capture has {result.sessions_total} SMTP "
                         "session(s)")
    if result.error:
        code = ExitCode.CAPTURE
    elif Severity.ERROR in result.worst_severities:
        code = ExitCode.FINDINGS
    else:
        code = ExitCode.OK
    if args.json:
        from ..render.replay_output import dumps
        print(dumps(result, int(code), session=args.session))
    else:
        from ..render.replay_output import render_replay
        print(render_replay(result, session=args.session))
    if result.error:
        # What was read before the break is reported above; say why reading stopped.
        print(f"smtp-inspector: warning: {args.file}: {result.error}; the report covers the "
              f"{result.packets} packets before it", file=sys.stderr)
    return int(code)
