"""Rules for ``probe --auth all``: facts about the rows of the mechanism table."""

from __future__ import annotations

from ..findings import Finding, make_finding

#: An answer to AUTH slower than this on purpose is worth saying (loopback answers take ms).
DELAY_NOTICE_S = 1.0


def answer_delayed(answers: list[tuple[str, str, float | None]]) -> Finding | None:
    """``auth-answer-delayed``: the server took seconds to answer AUTH (a failed-login penalty).

    Servers slow down password guessing by delaying the answer (Dovecot's
    auth_failure_delay, 2 s, and its per-address penalty, up to 15 s, which
    also delays the next correct login). Not a failure: the answer came.
    ``answers``: (mechanism, reply summary such as "535 5.7.8", seconds).
    """
    slow = [(name, reply, seconds) for name, reply, seconds in answers
            if seconds is not None and seconds >= DELAY_NOTICE_S]
    if not slow:
        return None
    shown = ", ".join(f"{name}: {reply or 'no answer'} after {seconds:.1f} s"
                      for name, reply, seconds in slow)
    return make_finding("auth-answer-delayed", f"{shown} (the server delays logins: a failed-login "
                        "penalty; the mechanisms ran at the same time, so the delays did not add up)")
