"""The system resolver for ``scan``, through the resolve-once helper of ``probe`` and ``tls``.

:func:`inspector.net.transport.resolve_once` bounds getaddrinfo by a timeout,
answers ``.invalid`` names without asking (RFC 6761 §6.4) and words a failure
as ``cannot resolve NAME: why``: the line ``probe`` and ``tls`` end with (exit
10), which a scan stores as the target's reason.
"""

from __future__ import annotations

from ..errors import ConnectFailed


def system_addresses(name: str, timeout: float) -> tuple[tuple[str, ...], str | None]:
    """Addresses for a TCP connection to ``name``, IPv4 first, or the one line saying why there are none."""
    from .transport import resolve_once

    try:
        found = list(resolve_once(name, min(timeout, 30.0)))
    except ConnectFailed as exc:
        return (), str(exc)
    found.sort(key=lambda address: ":" in address)   # IPv4 first, as discover's DnsClient orders them
    return tuple(found), None
