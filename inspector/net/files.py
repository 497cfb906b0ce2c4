"""Reading the files a user names (CA file, password and token files, captures) within bounds.

A path may name a FIFO with no writer, a terminal or a device that never
ends (``/dev/zero``): every open here is non-blocking, every read has a byte
limit and a time limit, and breaking either is a :class:`UsageError` (exit 2)
with one clear line, never a hang or a MemoryError.
"""

from __future__ import annotations

import os
import stat
import time

from ..errors import UsageError, os_reason

#: What a --cafile may hold: the whole Mozilla bundle is about 220 KB.
MAX_CA_FILE = 8 * 1024 * 1024
#: What a --password-file or --token-file may hold (an OAuth token is a few KB).
MAX_SECRET_FILE = 64 * 1024
#: How long a FIFO or device may take to reach its end (at most; a command's deadline may be less).
DEFAULT_TIMEOUT = 5.0
_limit = [DEFAULT_TIMEOUT]


def limit_reads(seconds: float | None) -> None:
    """Bound every later read by the command's deadline too (``--deadline``), if shorter."""
    if seconds:
        _limit[0] = min(DEFAULT_TIMEOUT, seconds)


def read_limited(path: str, *, what: str, limit: int, timeout: float | None = None) -> bytes:
    """The whole content of ``path``: at most ``limit`` bytes, read within ``timeout`` seconds
    (default: 5 s, or the command's deadline when shorter)."""
    timeout = _limit[0] if timeout is None else timeout
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"cannot read {what} {path!r}: it is a directory")
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise UsageError(f"{what} {path!r} is {info.st_size:,} bytes; at most {limit:,} are read")
        return _read_all(fd, path, what, limit, time.monotonic() + timeout)
    finally:
        os.close(fd)


def _read_all(fd: int, path: str, what: str, limit: int, until: float) -> bytes:
    import select

    parts, size = [], 0
    while True:
        try:
            chunk = os.read(fd, min(65536, limit + 1 - size))
        except BlockingIOError:
            left = until - time.monotonic()
            if left <= 0:
                raise UsageError(f"{what} {path!r} did not end within the time allowed "
                                 "(a FIFO or device with nothing to send?)") from None
            select.select([fd], [], [], min(left, 0.5))
            continue
        except OSError as exc:
            raise UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise UsageError(f"{what} {path!r} holds more than {limit:,} bytes")
        if time.monotonic() > until:
            raise UsageError(f"{what} {path!r} did not end within the time allowed")


def open_stream(path: str):
    """A binary file object for a capture: the open never blocks (a FIFO with no writer reads as
    empty), and the reads then block as usual (``tcpdump -w - | ... replay /dev/stdin``)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise IsADirectoryError(21, "Is a directory")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def write_text(path, text: str, *, what: str) -> None:
    """Write a file the user named (``--save``, ``--html``); an OS error is one UsageError line."""
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {what} {str(path)!r}: {os_reason(exc)}") from None
