"""``smtp-inspector replay FILE``: the same judgement over a pcap or pcapng capture."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from . import SUMMARIES
from .common import add_html_option, ascii_int, input_file, positive_seconds, write_html

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["replay"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, 1, 2, 3, 21, 130)


def register(sub) -> None:
    replay = sub.add_parser(
        "replay", help=SUMMARY,
        description="Reassemble every TCP connection in the capture, find the SMTP sessions by "
                    "their dialog (any port; implicit TLS on 465), parse both directions with the "
                    "probe's engine and print one row per session with its findings.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    replay.add_argument("file", metavar="FILE", help="capture file (pcap or pcapng)")
    replay.add_argument("--session", type=ascii_int, metavar="N",
                        help="print session N's transcript and details instead of the table")
    replay.add_argument("--json", action="store_true", help="print the result as JSON")
    add_html_option(replay)
    replay.add_argument("--cafile", metavar="PATH",
                        help="trust these CA certificates (PEM) when judging certificates seen in "
                             "TLS <= 1.2 handshakes (default: the system store)")
    replay.add_argument("--idle-timeout", type=positive_seconds, default=600.0, metavar="S",
                        help="finish a connection silent for this many capture seconds (default 600)")
    replay.set_defaults(handler=run)


def _html_document(result, code: int, session) -> dict:
    from ..render.html import replay_document
    return replay_document(result, code, session=session)


class _Unreadable(Exception):
    """The capture file cannot be opened as a file (missing, a directory, a FIFO): exit 21."""


def _error(path: str, problem) -> str:
    """One line naming the file once, whether or not the reader's message names it already."""
    text = str(problem)
    return f"smtp-inspector replay: error: {text if path in text else f'{path}: {text}'}"


def run(args) -> int:
    try:
        return _run(args)
    except _Unreadable as exc:
        from ..exitcodes import ExitCode
        print(f"smtp-inspector replay: error: {exc}", file=sys.stderr)
        return int(ExitCode.CAPTURE)


def _run(args) -> int:
    from ..exitcodes import ExitCode
    from ..findings import Severity
    from ..replay import CaptureError, replay_file

    input_file(args.file, "capture", error=_Unreadable)
    if args.session is not None and args.session < 1:
        raise UsageError(f"--session must be 1 or more, not {args.session}")
    if args.cafile:
        from ..certs import load_trust_anchors
        load_trust_anchors(args.cafile)
    try:
        result = replay_file(args.file, session=args.session, cafile=args.cafile,
                             all_transcripts=bool(args.html) and args.session is None,
                             idle_timeout=args.idle_timeout)
    except CaptureError as exc:
        print(_error(args.file, exc), file=sys.stderr)
        return int(ExitCode.CAPTURE)
    if args.session is not None and args.session > result.sessions_total:
        if result.error:   # the capture broke before session N: that is the one error to report
            print(_error(args.file, result.error), file=sys.stderr)
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
    write_html(args, "replay", lambda: _html_document(result, int(code), args.session))
    if result.error:
        # What was read before the break is reported above; say why reading stopped.
        print(f"smtp-inspector replay: warning: {args.file}: {result.error}; the report covers the "
              f"{result.packets} packets before it", file=sys.stderr)
    return int(code)
