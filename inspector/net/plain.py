"""Plain TCP connects and IPv4 resolution for ``ports`` and ``interference`` (connect() mode).

The I/O boundary for this kind: OS errors become outcomes (data) or
:class:`~inspector.errors.UsageError` here, once; every wait is bounded by
the caller's timeout.
"""

from __future__ import annotations

import socket
import time

from ..errors import UsageError
from .transport import os_reason


def resolve_ipv4(host: str) -> str:
    """The target's IPv4 address (packet probes speak IPv4); UsageError when there is none."""
    if ":" in host:
        raise UsageError(f"{host!r} is an IPv6 address; packet probes speak IPv4 only (use a name "
                         "or address with IPv4)")
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot resolve {host!r} to an IPv4 address: {why}") from None
    return infos[0][4][0]


def connect_state(address: str, port: int, timeout: float) -> tuple[str | None, float | None]:
    """connect() outcome: (None, ms) when open, else ("refused" | "timeout" | "unreachable: why", None)."""
    started = time.monotonic()
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(max(0.001, timeout))
    try:
        sock.connect((address, port))
        return None, round((time.monotonic() - started) * 1000, 3)
    except ConnectionRefusedError:
        return "refused", None
    except (TimeoutError, socket.timeout):
        return "timeout", None
    except OSError as exc:
        return f"unreachable: {os_reason(exc)}", None
    finally:
        sock.close()
