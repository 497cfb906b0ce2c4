"""The finding catalogue: every finding id, once, with what it means and where it applies.

One module per area (``session_findings.py``, ``tls_findings.py``, ...), each a
list of :class:`~inspector.catalogue.kind.FindingKind` entries. An entry names
the one function in :mod:`inspector.rules` that decides the id (``rule=``), the
step the HTML ladder pins it to (``step=``), the side of a live/replay
comparison that alone can see it (``one_sided=``) and the lab faults planted to
produce it (``lab_faults=``). An id is written here and in its rule, nowhere else
in the package (tests/test_rules.py). Import it from :mod:`inspector.findings`.
"""

from __future__ import annotations

from . import (
    auth_findings,
    certificate_findings,
    discovery_findings,
    interference_findings,
    packet_findings,
    session_findings,
    tls_findings,
    transaction_findings,
)
from .kind import LIVE, REPLAY, FindingKind, OneSided, Severity
from .tls_checks_findings import TLS_CHECK_KINDS

#: Every entry, in catalogue order (the certificate rules report in this order).
KINDS: tuple[FindingKind, ...] = (
    *session_findings.KINDS,
    *auth_findings.KINDS,
    *transaction_findings.KINDS,
    *tls_findings.KINDS,
    *certificate_findings.KINDS,
    *discovery_findings.KINDS,
    *interference_findings.KINDS,
    *packet_findings.KINDS,
    *(FindingKind(i, Severity(sev), title, rfc, rule=rule) for i, sev, title, rfc, rule in TLS_CHECK_KINDS),
)

CATALOGUE: dict[str, FindingKind] = {kind.id: kind for kind in KINDS}

__all__ = ["CATALOGUE", "KINDS", "LIVE", "REPLAY", "FindingKind", "OneSided", "Severity"]
