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

from ..errors import InspectorError, StepTimeout
from ..frozen import replace
from ..rules.plaintext import InjectionVerdict, pipelined_starttls_refusal
from ..smtp.events import ConnectionClosed
from ..smtp.reply import Reply
from ..transcript import NOTE, Entry
from .steps import FAILED, OK, SKIPPED, Step, StepFailed


def pipelined_starttls_refused(session, reply: Reply) -> None:
    """In the first session: read what follows the refusal, judge it, stop the session.

    The answer to the NOOP in plaintext or the server closing is read for up to
    2 s (at most --timeout), by the session's SMTP driver. Raises
    :class:`~inspector.probes.steps.StepFailed`: ``run_probe`` then calls
    :func:`retry_without_pipelining`.
    """
    closed = False
    until = min(session.until(), time.monotonic() + min(session.config.timeout, 2.0))
    try:
        closed = isinstance(session.driver.next_event(until), ConnectionClosed)
    except StepTimeout:
        pass
    except InspectorError:
        closed = True
    session.alive = session.alive and not closed
    session.pipelining_verdict = pipelined_starttls_refusal(reply, closed)
    session.transcript.note(session.pipelining_verdict.detail, tls=False, step="injection-check")
    message = "refused with the pipelined NOOP; a second session sends STARTTLS alone"
    session.end(FAILED, reply=reply, detail=message)
    raise StepFailed(message)


def retry_without_pipelining(first, verdict: InjectionVerdict, first_started: float, run_probe):
    """The second session's result, preceded by the first connection and the verdict."""
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
