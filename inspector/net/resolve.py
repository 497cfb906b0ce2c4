"""The system resolver (getaddrinfo) for ``scan``: a name's addresses, IPv4 first, or why there are none."""

from __future__ import annotations

import socket


def system_addresses(name: str) -> tuple[tuple[str, ...], str | None]:
    """Addresses for a TCP connection to ``name`` (``/etc/hosts``, then DNS, as the system is set up)."""
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return (), f"{name}: {getattr(exc, 'strerror', None) or exc}"
    found = list(dict.fromkeys(info[4][0] for info in infos))
    found.sort(key=lambda address: ":" in address)   # IPv4 first, as discover's DnsClient orders them
    return tuple(found), None
