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


def cipher_weak(accepted) -> Finding | None:
    """RFC 7465 §2, RFC 9325 §4.1: export, RC4, DES/3DES, NULL or anonymous suites accepted.

    ``accepted``: (version, IANA name, weakness or None) of every accepted suite.
    """
    weak = [f"{version} {name} ({weakness})" for version, name, weakness in accepted if weakness]
    return make_finding("cipher-weak", "; ".join(weak)) if weak else None


def cipher_no_forward_secrecy(accepted) -> Finding | None:
    """RFC 9325 §4.1: suites with static RSA/DH key exchange accepted.

    ``accepted``: (IANA name, forward secret) of every accepted suite.
    """
    names = sorted({name for name, forward_secret in accepted if not forward_secret})
    return make_finding("cipher-no-forward-secrecy", ", ".join(names)) if names else None


def tls13_not_supported(asked: bool, supported: bool, error: str | None) -> Finding | None:
    """RFC 9325 §3.1.1: no TLS 1.3 ServerHello to a ClientHello offering every TLS 1.3 suite."""
    if not asked or supported or error is not None:
        return None
    return make_finding("tls13-not-supported", "no TLS 1.3 ServerHello to a TLS 1.3 ClientHello "
                        "offering every TLS 1.3 suite")


def no_server_cipher_order(client_order_versions) -> Finding | None:
    """RFC 9325 §4.2: the client's suite order decides at these versions."""
    if not client_order_versions:
        return None
    return make_finding("no-server-cipher-order",
                        "the client's order decides for " + ", ".join(client_order_versions))
