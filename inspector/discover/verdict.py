"""The one line that says why there is no recommendation, counting only what was really tried."""

from __future__ import annotations


def headline(domain: str, server: str, ranked, sources, not_tried: tuple[str, ...]) -> str:
    """"tried" means a session was attempted; a name that never resolved was not contacted.

    A DNS server that answered nothing at all (every lookup unknown) is named as
    the cause instead of the candidates, which then were not tried.
    """
    total, tried = len(ranked), sum(1 for c in ranked if c.tried)
    lookups = [s.status for s in sources] + [c.lookup.state for c in ranked if c.lookup is not None]
    if tried == 0 and lookups and all(state in ("no-answer", "error") for state in lookups):
        return (f"no submission server found for {domain}: the DNS server {server} gave no answer "
                f"(unknown), so nothing was contacted; {total} candidates not tried")
    if tried == 0:
        text = f"no submission server found for {domain}: nothing was contacted" + (
            "" if not_tried else ", no candidate name resolves")
    else:
        text = f"no submission server for {domain} answered with TLS; {tried} of {total} candidates tried"
    if not_tried:
        shown = ", ".join(not_tried[:6]) + (f" and {len(not_tried) - 6} more" if len(not_tried) > 6 else "")
        text += f"; {len(not_tried)} not tried ({shown})"
    return text + ", see the table for each reason"
