"""Which step of a session each finding belongs to, and the step of every transcript line.

Presentation only: the findings were decided by the rules (inspector/rules/);
each catalogue entry's ``step`` says where in the diagram its id is drawn (the
step whose reply or event the rule looked at). A finding whose step the session
never reached, or an id without a step, is pinned to the end of the session. A finding that carries
its own ``step`` (a later schema) is pinned there.
"""

from __future__ import annotations

from ...findings import CATALOGUE
from ...frozen import mutable
from .wrap import display, fold

SESSION_END = "end"

#: finding id → the step where it is decided (each catalogue entry's ``step=``).
FINDING_STEP = {finding_id: kind.step for finding_id, kind in CATALOGUE.items() if kind.step}

_VERB_STEP = {"EHLO": "ehlo", "HELO": "ehlo", "STARTTLS": "starttls", "AUTH": "auth", "QUIT": "quit",
              "MAIL": "mail", "RCPT": "mail", "DATA": "mail", ".": "mail", "RSET": "rset", "NOOP": "noop"}

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class StepTracker:
    """The step of each line: the transcript's own ``step`` or, for a capture, the last verb's."""

    def __init__(self) -> None:
        self.current = "greeting"
        self.in_sasl = False

    def step_for_command(self, given: str | None, line: str, tls: bool) -> str:
        if given:
            self.current = given
            return given
        verb = line.split(" ", 1)[0].upper()
        if self.in_sasl and verb not in _VERB_STEP:
            return "auth"
        step = _VERB_STEP.get(verb, verb.lower() or "command")
        if step == "ehlo" and tls:
            step = "ehlo-tls"
        self.in_sasl = step == "auth"
        self.current = step
        return step

    def step_for_reply(self, given: str | None, tls: bool) -> str:
        if given:
            self.current = given
        return self.current

    def step_for_note(self, given: str | None, tls: bool) -> str:
        if given:
            self.current = given
        elif tls and self.current == "starttls":
            self.current = "tls-handshake"
        return self.current


@mutable
class Pin:
    """A finding drawn in the annotation column beside the row of its step."""

    number: int
    finding: dict
    step: str
    lines: tuple[str, ...]
    y: float = 0.0

    @property
    def height(self) -> float:
        return 8 + 14 + len(self.lines) * 13 + 6


def make_pin(number: int, finding: dict, width: int) -> Pin:
    evidence = fold(display(finding.get("evidence") or ""), width, limit=5)
    lines = (*fold(display(finding["title"]), width, limit=3), *evidence,
             *fold(display(finding.get("rfc") or ""), width, limit=2))
    return Pin(number, finding, finding.get("step") or FINDING_STEP.get(finding["id"], SESSION_END),
               tuple(line for line in lines if line))


def pin_rows(items, findings, width: int) -> tuple[dict, list]:
    """{row number: [Pin]}: each finding beside the last arrow (else row) of its step, else at the end."""
    last_row: dict[str, int] = {}
    last_arrow: dict[str, int] = {}
    for number, item in enumerate(items):
        last_row[item.step] = number
        if hasattr(item, "kind"):
            last_arrow[item.step] = number
    last_row.update(last_arrow)  # beside the step's last arrow (its reply), else its last note
    by_row: dict[int, list] = {}
    pins = []
    end = len(items) - 1
    for number, finding in enumerate(findings):
        pin = make_pin(number, finding, width)
        row = last_row.get(pin.step, end)
        if pin.step not in last_row:
            pin.step = SESSION_END
        if row < 0:
            continue
        by_row.setdefault(row, []).append(pin)
        pins.append(pin)
    return by_row, pins
