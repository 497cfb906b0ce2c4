"""What one catalogue entry says about a finding id: severity, title, RFC, rule, and where it applies."""

from __future__ import annotations

import enum
from typing import NamedTuple

from ..frozen import frozen


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


LIVE, REPLAY = "live", "replay"


class OneSided(NamedTuple):
    """The only side of a live ``probe --sniff --pcap F`` / ``replay F`` comparison that can decide an id."""

    side: str  #: LIVE or REPLAY
    reason: str  #: why the other side cannot


@frozen
class FindingKind:
    id: str
    severity: Severity
    title: str
    rfc: str
    #: the one function that decides this id, as ``module.function`` under ``inspector.rules``
    rule: str = ""
    #: the step of the session where the HTML ladder pins it (presentation only; "" = the end)
    step: str = ""
    #: set where only one side of the probe/replay parity (tests/test_parity.py) can decide it
    one_sided: OneSided | None = None
    #: the lab server's faults (inspector/lab/faults.py) planted to produce it
    lab_faults: tuple[str, ...] = ()
