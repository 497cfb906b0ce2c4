"""One DNS question over UDP, bounded by a timeout (RFC 1035 §4.2.1): the I/O under ``discover/dns_wire.py``.

The socket is connected to the server, so the kernel drops datagrams from
anyone else; a datagram from the server that is not the reply (another id) is
skipped while the time lasts, as dnspython's ``ignore_unexpected`` does. OS
errors become an outcome here, once.
"""

from __future__ import annotations

import socket
import struct
import time


def udp_exchange(server: tuple[str, int], wire: bytes, timeout: float, read, skip: type[Exception]):
    """Send ``wire``; ``("reply", read(datagram))`` for the first datagram ``read`` does not answer
    with ``skip``, ``("timeout", None)`` when none came in ``timeout`` s, else ``("error", why)``."""
    until = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect(server)
            sock.send(wire)
            while True:
                left = until - time.monotonic()
                if left <= 0:
                    return "timeout", None
                # The kernel's receive timeout on a blocking socket, not settimeout(): one
                # recv() call instead of poll() then recv(), each a release of the GIL that
                # a scan's other threads contend for.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(left))
                data = sock.recv(65535)
                try:
                    return "reply", read(data)
                except skip:
                    continue
    except (TimeoutError, BlockingIOError):   # SO_RCVTIMEO ran out: EAGAIN
        return "timeout", None
    except OSError as exc:
        return "error", exc.strerror or str(exc) or type(exc).__name__


def _timeval(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("@ll", whole, max(1, int((seconds - whole) * 1_000_000)))
