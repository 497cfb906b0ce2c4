"""How an address and port are written in every message: ``host:port``, IPv6 in brackets (RFC 3986 §3.2.2).

And whether a text is an IP literal (``inet_pton``: no DNS, no I/O).
"""

import socket


def host_port(host: str, port: int) -> str:
    """``127.0.0.1:587``, ``mail.example.org:587``, ``[::1]:587``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_ip_address(name: str) -> bool:
    """True for an IPv4 or IPv6 literal (RFC 6066 §3: no SNI for those)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, name)
            return True
        except OSError:
            continue
    return False


def is_ipv6(text: str) -> bool:
    """True for an IPv6 literal."""
    try:
        socket.inet_pton(socket.AF_INET6, text)
        return True
    except (OSError, ValueError):
        return False
