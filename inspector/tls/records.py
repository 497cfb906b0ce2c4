"""TLS record framing (RFC 8446 §5.1 / RFC 5246 §6.2).

A record is ``type(1) version(2) length(2)`` followed by ``length`` bytes.
:class:`RecordFramer` cuts complete records; what they mean is read by
:mod:`inspector.tls.reader`.
"""

from __future__ import annotations

from ..frozen import frozen

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
_CONTENT_TYPES = {CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, 24}
#: RFC 8446 §5.1: a record body never exceeds 2^14 + 256 (2^14 + 2048 for TLS 1.2 ciphertext).
MAX_RECORD_BODY = 2**14 + 2048


@frozen
class Record:
    content_type: int
    version: int
    body: bytes


def looks_like_tls(data: bytes) -> bool:
    """True if ``data`` starts like a TLS record (type 20-24, major version 3)."""
    if not data:
        return False
    if data[0] not in _CONTENT_TYPES:
        return False
    return len(data) < 2 or data[1] == 3


def _cut_record(data, offset: int) -> Record | None:
    """The complete record starting at ``offset``, or None if it is not all there yet.

    Raises:
        ValueError: the five bytes at ``offset`` are not a TLS record header.
    """
    if offset + 5 > len(data):
        return None
    length = int.from_bytes(data[offset + 3:offset + 5], "big")
    if data[offset] not in _CONTENT_TYPES or length > MAX_RECORD_BODY:
        raise ValueError(f"not a TLS record header: {bytes(data[offset:offset + 5]).hex()}")
    if offset + 5 + length > len(data):
        return None
    return Record(data[offset], int.from_bytes(data[offset + 1:offset + 3], "big"),
                  bytes(data[offset + 5:offset + 5 + length]))


class NotTlsRecord(ValueError):
    """Bytes that are not a TLS record header.

    ``records`` holds the complete records cut before them in the same
    ``feed`` call, so nothing is lost; the framer's buffer still starts at the
    bad header (found by the fuzzer: those records used to vanish).
    """

    def __init__(self, message: str, records: list[Record]) -> None:
        super().__init__(message)
        self.records = records


class RecordFramer:
    """Buffer bytes and cut complete records; never returns a partial record."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Record]:
        """Buffer ``data`` and return every record it completes.

        Raises:
            NotTlsRecord: the buffer reached bytes that are not a record header.
        """
        self._buffer += data
        records = []
        try:
            while (record := _cut_record(self._buffer, 0)) is not None:
                records.append(record)
                del self._buffer[:5 + len(record.body)]
        except ValueError as exc:
            raise NotTlsRecord(str(exc), records) from None
        return records

    def take_buffered(self) -> bytes:
        """Remove and return the bytes not cut into records."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    @property
    def buffered(self) -> int:
        return len(self._buffer)
