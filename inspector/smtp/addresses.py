"""How addresses are written: ``host:port`` for people, address literals for EHLO (RFC 5321 §4.1.3)."""

from __future__ import annotations


def address(addr) -> str:
    """``host:port``, with IPv6 hosts in brackets."""
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def address_literal(addr) -> str:
    """RFC 5321 §4.1.3 address literal for our own address, the EHLO name of last resort."""
    host = addr[0]
    return f"[IPv6:{host}]" if ":" in host else f"[{host}]"
