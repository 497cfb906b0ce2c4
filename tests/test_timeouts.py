"""inspector.net.timeouts: the kernel timeouts a blocking socket's waits are bounded by."""

import socket
import struct
import time

import pytest

from inspector.net.timeouts import LONGEST_WAIT, set_receive_timeout, timeval


@pytest.mark.parametrize("seconds, expected", [(1.5, (1, 500_000)), (0.0000001, (0, 1)), (2, (2, 1)),
                                               (float("inf"), (int(LONGEST_WAIT), 1)),
                                               (1e300, (int(LONGEST_WAIT), 1))])
def test_timeval_is_never_zero_and_never_overflows(seconds, expected):
    assert struct.unpack("@ll", timeval(seconds)) == expected


def test_a_receive_past_its_timeout_fails_with_eagain_not_a_hang():
    left, right = socket.socketpair()
    with left, right:
        set_receive_timeout(left, 0.05)
        started = time.monotonic()
        with pytest.raises(BlockingIOError):
            left.recv(10)
        assert time.monotonic() - started < 5
        right.send(b"x")
        assert left.recv(10) == b"x"
