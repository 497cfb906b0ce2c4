"""Files read on the user's behalf (captures, CA files, the system store, secrets): the file boundary.

OS and decoding errors become :class:`~inspector.errors.FileAccessError`
here, once, with a one-line message naming the file; callers turn it into
the error of their command (``CaptureError``, ``UsageError``). Reads are
capped so a wrong path (``/dev/zero``) cannot exhaust memory.
"""

from __future__ import annotations

import contextlib

from ..errors import FileAccessError
from .transport import os_reason

#: A file we read whole is never larger than this (trust stores, secrets).
READ_LIMIT = 16 * 1024 * 1024


def _why(exc: OSError) -> str:
    return os_reason(exc)


@contextlib.contextmanager
def opened(path: str, *, what: str = "file"):
    """A binary stream of ``path`` for streaming readers (replay)."""
    try:
        stream = open(path, "rb")  # noqa: SIM115  (closed below)
    except OSError as exc:
        raise FileAccessError(f"cannot read {what} {path}: {_why(exc)}") from None
    try:
        yield stream
    except OSError as exc:
        raise FileAccessError(f"cannot read {what} {path}: {_why(exc)}") from None
    finally:
        stream.close()


def read_bytes(path: str, *, what: str = "file", limit: int = READ_LIMIT) -> bytes:
    """The whole file, at most ``limit`` bytes (more is an error, not a silent cut)."""
    with opened(path, what=what) as stream:
        try:
            data = stream.read(limit + 1)
        except OSError as exc:
            raise FileAccessError(f"cannot read {what} {path}: {_why(exc)}") from None
    if len(data) > limit:
        raise FileAccessError(f"{what} {path} is larger than {limit} bytes")
    return data


def read_text(path: str, *, what: str = "file", limit: int = READ_LIMIT) -> str:
    """The whole file as UTF-8 text."""
    data = read_bytes(path, what=what, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileAccessError(f"{what} {path!r} is not UTF-8 text") from None
