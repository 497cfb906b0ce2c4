"""What a live handshake's server bytes tell beyond the ssl module: the negotiated group.

The transport hands over the server's bytes of a completed handshake (ssl
names the version and suite, not the key exchange group). They are cut by the
same :class:`~inspector.tls.records.RecordFramer` and read by the same message
parsers (:mod:`inspector.tls.messages`) as :class:`~inspector.tls.reader.TlsReader`
uses, and read the same way: up to the first ciphertext (a ChangeCipherSpec or
application_data record, or what follows a TLS 1.3 ServerHello, RFC 8446 §2).
Only the reader's event classes are skipped: building a dozen frozen dataclasses
at start-up costs a probe more than its loopback handshake.
"""

from __future__ import annotations

from ..frozen import frozen
from .messages import (
    SERVER_HELLO,
    SERVER_KEY_EXCHANGE,
    HandshakeStream,
    group_from_server_key_exchange,
    parse_server_hello,
)
from .records import ALERT, APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, NotTlsRecord, RecordFramer


@frozen
class HandshakeFacts:
    """What the server's first flight showed."""

    group: str | None = None


def read_handshake_facts(server_bytes: bytes) -> HandshakeFacts:
    """The negotiated group from the server's first flight (never raises).

    The ServerHello ``key_share`` (RFC 8446 §4.2.8) wins over the ECDHE or
    DHE ServerKeyExchange (RFC 8422 §5.4, RFC 5246 §7.4.3).
    """
    try:
        records = RecordFramer().feed(server_bytes)
    except NotTlsRecord as exc:  # the records before the bytes that are not TLS still count
        records = exc.records
    messages = HandshakeStream()
    group = None
    for record in records:
        if record.content_type == ALERT and len(record.body) == 2:
            continue  # a plaintext alert, even after a TLS 1.3 ServerHello (RFC 8446 §5.2)
        if record.content_type in (CHANGE_CIPHER_SPEC, APPLICATION_DATA):
            break  # ciphertext from here on
        if record.content_type != HANDSHAKE:
            continue
        for msg_type, body in messages.feed(record.body):
            if msg_type == SERVER_HELLO:
                info = parse_server_hello(body)
                if info is None:
                    continue
                if info.group is not None:
                    group = info.group_name
                if info.version >= 0x0304 and not info.retry:
                    return HandshakeFacts(group=group)  # RFC 8446 §2: all that follows is encrypted
            elif msg_type == SERVER_KEY_EXCHANGE and group is None:
                group = group_from_server_key_exchange(body)
    return HandshakeFacts(group=group)
