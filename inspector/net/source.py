"""The local address connections leave from (``--source-address``): checked once, bound before connect.

A scanner that says who it is gives an EHLO name and connects from an address
whose reverse DNS names it; binding before ``connect()`` makes the server see
that address. An address this machine does not have (EADDRNOTAVAIL) is a
usage error, found before anything is sent.
"""

from __future__ import annotations

import contextlib
import socket
import sys

from ..errors import ConnectFailed, UsageError, os_reason
from .address import is_ip_address


def source_family(address: str) -> str:
    """"IPv6" or "IPv4": the only family a connection from ``address`` can reach."""
    return "IPv6" if ":" in address else "IPv4"


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def bind_source(sock: socket.socket, source_address: str) -> None:
    """Bind ``sock`` to ``source_address``; ConnectFailed with the OS's words if it cannot.

    The port is left to ``connect()`` (Linux IP_BIND_ADDRESS_NO_PORT), which picks it per
    destination: a bind to port 0 alone takes a port for good and a scan of more targets
    than ephemeral ports would run out of them.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24), 1)
    try:
        sock.bind((source_address, 0))
    except OSError as exc:
        raise ConnectFailed(f"cannot connect from source address {source_address}: "
                            f"{os_reason(exc)}") from None


def check_source_address(source_address: str) -> str:
    """``--source-address``: an IP address of this machine (a socket is bound to it once); UsageError else."""
    if not is_ip_address(source_address):
        raise UsageError(f"--source-address wants an IP address of this machine, not {source_address!r}")
    with socket.socket(_family(source_address), socket.SOCK_STREAM) as sock:
        try:
            sock.bind((source_address, 0))
        except OSError as exc:
            raise UsageError(f"--source-address {source_address}: {os_reason(exc)} "
                             "(not an address of this machine)") from None
    return source_address


def reachable_from(source_address: str | None, addresses: tuple[str, ...]) -> tuple[str, ...]:
    """The addresses a connection from ``source_address`` can reach (its family); all without one."""
    if source_address is None:
        return addresses
    return tuple(a for a in addresses if (":" in a) == (":" in source_address))
