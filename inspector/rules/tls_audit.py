"""Rules for ``smtp-inspector tls``: what the enumeration and the complete handshakes mean.

Facts in (per version: whether the server picks suites, whether a complete
handshake finished, which key exchanges made it close), findings out.
"""

from __future__ import annotations

from ..findings import Finding, make_finding


def offer_closed(closed_on: dict[str, dict[str, str]], supported: dict[str, bool]) -> Finding | None:
    """``tls-offer-closed``: suites first in an offer make the server close instead of answering.

    RFC 5246 §7.4.1.3 / RFC 8446 §4.1.1: the server picks a suite it can use or
    refuses with a handshake_failure alert. A server that closes when offered
    a family first (Dovecot without ``ssl_dh`` picks DHE from a client-order
    offer and has no parameters) fails every client that prefers it, even
    though the client offered suites that work. ``closed_on``: version ->
    key exchange -> what happened; only versions that work otherwise count.
    """
    parts = [f"{version}: offers that put {', '.join(sorted(families))} suites first end in "
             f"{'; '.join(sorted(set(families.values())))}, although the offer held a suite the "
             "server accepts"
             for version, families in closed_on.items() if families and supported.get(version)]
    if not parts:
        return None
    return make_finding("tls-offer-closed", "; ".join(parts) + " (a client that prefers them cannot "
                        "connect; for DHE: no DH parameters, e.g. Dovecot without ssl_dh)")


def no_handshake_completes(picked: dict[str, str], completed: dict[str, bool | None],
                           details: dict[str, str]) -> Finding | None:
    """``tls-no-handshake-completes``: the server picks suites at a version, but no handshake finishes.

    A suite the server picks but never completes is not usable (RFC 8446 §4,
    RFC 5246 §7.3: the handshake ends with both Finished messages). ``picked``:
    version -> what the first flight showed (e.g. "ServerHello, then alert
    internal_error"); ``completed``: version -> result of a complete handshake
    pinned to it (None: could not be tried); ``details``: why it failed.
    """
    failed = [v for v in picked if completed.get(v) is False]
    if not failed:
        return None
    return make_finding("tls-no-handshake-completes", "; ".join(
        f"{v}: {picked[v]}, but a complete handshake fails ({details.get(v, 'no detail')})"
        for v in failed))
