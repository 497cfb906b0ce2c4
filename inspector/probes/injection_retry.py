"""``--check-injection`` against a server that refuses STARTTLS pipelined with NOOP.

Such a server (OpenSMTPD: ``500 5.5.1 Invalid command: Pipelining not
supported``, then it closes) is not injectable: it never starts TLS with a
plaintext command waiting (RFC 3207 §4.2). Whether its STARTTLS works is a
separate question, so a second session sends STARTTLS alone, and its outcome
and exit code are the result: the same as without --check-injection. The
first connection stays in the steps and the transcript, followed by the
``injection-check`` verdict.
"""

from __future__ import annotations

import time
from dataclasses import replace

from ..rules.plaintext import InjectionVerdict
from ..transcript import NOTE, Entry


def retry_without_pipelining(first, verdict: InjectionVerdict, first_started: float, run_probe):
    """The second session's result, preceded by the first connection and the verdict."""
    from .session import FAILED, OK, SKIPPED, Step

    config = first.config
    elapsed = time.monotonic() - first_started
    second = run_probe(replace(config, check_injection=False,
                               deadline=max(config.deadline - elapsed, 0.001)))
    refused = first.step("starttls")
    status = OK if verdict.injectable is False else (FAILED if verdict.injectable else SKIPPED)
    check = Step("injection-check", status, refused.duration_ms if refused else None,
                 refused.reply if refused else None, verdict.detail)
    offset = elapsed
    note = Entry(offset, NOTE, False, b"second connection: STARTTLS alone, without the pipelined "
                 b"NOOP (the exit code is this session's)", "connect")
    shifted = tuple(replace(e, t=e.t + offset) for e in second.transcript)
    return replace(second, config=config, steps=first.steps + (check,) + second.steps,
                   transcript=first.transcript + (note,) + shifted,
                   started_at=first.started_at)
