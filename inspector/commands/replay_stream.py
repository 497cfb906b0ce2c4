"""``replay -`` and ``replay --jsonl``: each session reported as it ends, the summary last.

Sessions are judged when their connection ends (FIN, RST, idle timeout), so
memory is bounded by the connections open at once, not by the sessions
seen. From ``-`` (a capture being written, ``tcpdump -U -w -``) a session
ends at its close; Ctrl-C or the end of input prints the summary.
"""

from __future__ import annotations

import json
import os
import sys


class Unreadable(Exception):
    """The capture file cannot be opened as a file (missing, a directory, a FIFO): exit 21."""


def _summary_line(result) -> str:
    from ..render.text import safe

    skipped = ", ".join(f"{n} {why}" for why, n in result.skipped.items() if n)
    line = (f"smtp-inspector replay {safe(result.source)} ({result.format}): {result.packets} packets, "
            f"{result.sessions_total} SMTP session(s), at most {result.open_flows_peak} "
            "connection(s) open at once")
    if result.evicted:
        line += f"; {result.evicted} session(s) finished early: too many connections open at once"
    return line + (f"; skipped: {skipped}" if skipped else "")


def _summary_findings(result) -> str:
    counts = [f"{fid} ({severity.value}) in {n} session(s)" for fid, severity, n in
              result.omitted_findings]
    return "Findings: " + ("; ".join(counts) if counts else "none")


def run_streaming(args, error_line) -> int:
    from ..exitcodes import ExitCode
    from ..findings import Severity
    from ..render.replay_output import SCHEMA_ID, capture_json, session_json, session_line
    from ..replay import CaptureError
    from ..replay.replay import replay_stream

    live = args.file == "-"
    if live:
        stream = os.fdopen(os.dup(sys.stdin.fileno()), "rb", buffering=0)  # reads what is there
    else:
        from ..net.files import open_stream
        from ..net.transport import os_reason
        from .common import input_file
        input_file(args.file, "capture", error=Unreadable)
        try:
            stream = open_stream(args.file)
        except OSError as exc:
            raise Unreadable(f"cannot read {args.file}: {os_reason(exc)}") from None

    def emit(session) -> None:
        if args.jsonl:
            line = json.dumps({"type": "session",
                               "session": session_json(session, with_transcript=args.transcripts)})
        else:
            line = session_line(session)
        print(line, flush=True)

    try:
        with stream:
            result = replay_stream(stream, source=args.file, cafile=args.cafile,
                                   idle_timeout=args.idle_timeout, on_session=emit, live=live,
                                   keep_transcript="all" if args.transcripts else None)
    except CaptureError as exc:
        print(error_line(args.file, exc), file=sys.stderr)
        return int(ExitCode.CAPTURE)
    except KeyboardInterrupt:
        return 130
    if result.error:
        code = ExitCode.CAPTURE
    elif Severity.ERROR in result.worst_severities:
        code = ExitCode.FINDINGS
    else:
        code = ExitCode.OK
    interrupted = result.__dict__.get("interrupted", False)
    if args.jsonl:
        print(json.dumps({"type": "summary", "schema": SCHEMA_ID, "capture": capture_json(result),
                          "interrupted": interrupted, "exit_code": 130 if interrupted else int(code)}),
              flush=True)
    else:
        print("", _summary_line(result), _summary_findings(result), sep="\n", flush=True)
    if result.error:
        print(f"smtp-inspector replay: warning: {args.file}: {result.error}; the report covers the "
              f"{result.packets} packets before it", file=sys.stderr)
    return 130 if interrupted else int(code)
