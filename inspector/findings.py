"""Findings: stable kebab-case ids with a severity, evidence and the rule they rest on.

:data:`CATALOGUE` (kept in :mod:`inspector.catalogue`, one module per area) is
the single list of ids; renderers and the JSON schemas take ids from it. An id
never changes meaning once published. Each entry names (``rule=``) the one
function in :mod:`inspector.rules` that decides it, and where it applies
(``step=``, ``one_sided=``). This module is the public import for the
catalogue and for the findings the rules make from it.
"""

from __future__ import annotations

from .catalogue import CATALOGUE, FindingKind, Severity
from .frozen import frozen

__all__ = ["CATALOGUE", "Finding", "FindingKind", "FindingList", "Severity", "make_finding", "worst_severity"]


@frozen
class Finding:
    """One observation that deserves a person's attention."""

    id: str
    severity: Severity
    title: str
    rfc: str
    evidence: str


def make_finding(finding_id: str, evidence: str, *, severity: Severity | None = None) -> Finding:
    """Build a finding from the catalogue; ``severity`` overrides the default."""
    kind = CATALOGUE[finding_id]
    return Finding(
        id=kind.id,
        severity=severity or kind.severity,
        title=kind.title,
        rfc=kind.rfc,
        evidence=evidence,
    )


def worst_severity(findings) -> Severity | None:
    order = [Severity.INFO, Severity.WARNING, Severity.ERROR]
    worst = None
    for f in findings:
        if worst is None or order.index(f.severity) > order.index(worst):
            worst = f.severity
    return worst


class FindingList:
    """The one de-duplication policy, used by every engine that gathers findings.

    A finding equal in id and evidence to one already kept is dropped; at most
    :attr:`PER_ID` findings of one id are kept (a hostile stream must not grow
    the list without bound). Order of first appearance is kept.
    """

    PER_ID = 5

    def __init__(self, findings=()) -> None:
        self._items: list[Finding] = []
        self.extend(findings)

    def add(self, finding: Finding | None) -> None:
        if finding is None:
            return
        if any(f.id == finding.id and f.evidence == finding.evidence for f in self._items):
            return
        if sum(1 for f in self._items if f.id == finding.id) >= self.PER_ID:
            return
        self._items.append(finding)

    def extend(self, findings) -> None:
        for finding in findings:
            self.add(finding)

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def freeze(self) -> tuple[Finding, ...]:
        return tuple(self._items)
