"""The kernel's receive and send timeouts on a blocking socket (SO_RCVTIMEO, SO_SNDTIMEO; socket(7)).

``settimeout()`` makes every call a poll() and then the call, each a release of
the GIL that a scan's other threads contend for; a blocking socket whose
kernel timeout is set to the time left waits in the call itself. A call that
runs out of time fails with EAGAIN (``BlockingIOError``).
"""

from __future__ import annotations

import socket
import struct

_TIMEVAL = struct.Struct("@ll")


#: The longest wait given to the kernel (about 31 years): a longer one, or no deadline at all
#: (infinity), is "no limit" in practice and would not fit a struct timeval.
LONGEST_WAIT = 1e9


def timeval(seconds: float) -> bytes:
    """A ``struct timeval`` of ``seconds``; at least 1 µs (zero would mean: no limit)."""
    seconds = min(seconds, LONGEST_WAIT)
    whole = int(seconds)
    return _TIMEVAL.pack(whole, max(1, int((seconds - whole) * 1_000_000)))


def set_receive_timeout(sock: socket.socket, seconds: float) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval(seconds))


def set_send_timeout(sock: socket.socket, seconds: float) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval(seconds))
