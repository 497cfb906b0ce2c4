"""One DNS question over UDP, bounded by a timeout (RFC 1035 §4.2.1): the I/O under ``discover/dns_wire.py``.

The socket is connected to the server, so the kernel drops datagrams from
anyone else; a datagram from the server that is not the reply (another id) is
skipped while the time lasts, as dnspython's ``ignore_unexpected`` does. OS
errors become an outcome here, once.
"""

from __future__ import annotations

import socket
import time

from .timeouts import set_receive_timeout


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
                set_receive_timeout(sock, left)   # one recv(), not poll() then recv() (timeouts.py)
                data = sock.recv(65535)
                try:
                    return "reply", read(data)
                except skip:
                    continue
    except (TimeoutError, BlockingIOError):   # SO_RCVTIMEO ran out: EAGAIN
        return "timeout", None
    except OSError as exc:
        return "error", exc.strerror or str(exc) or type(exc).__name__
