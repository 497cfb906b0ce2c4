"""The one TLS wire reader: one direction's bytes in, TLS events out (sans I/O).

Used by replay (both directions of a captured session, through the SMTP
observer) and by the TLS audit (the server's answer to a crafted
ClientHello); a live handshake's group is read by :mod:`.handshake_facts`, with the same
framer and message parsers. Records are cut by :class:`~inspector.tls.records.RecordFramer`
(RFC 8446 §5.1); handshake records are re-cut into messages and read until
the stream turns to ciphertext: after a ChangeCipherSpec or an
application_data record, or after a TLS 1.3 ServerHello (RFC 8446 §2: all
that follows is encrypted).

Events do not depend on how the bytes were cut: a record becomes events only
when complete, and bytes that are not TLS are reported once, as
:class:`NotTls` with the offset where they began, when the stream ends or
:data:`NOT_TLS_SHOWN` of them are in (the records cut before them are never
lost: a fatal alert followed by ``421 bye`` in one segment gives the same
events as in two).
"""

from __future__ import annotations

from ..frozen import frozen
from . import messages as msg
from .handshake_facts import HandshakeFacts, read_handshake_facts  # noqa: F401  (re-exported)
from .records import ALERT, APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, NotTlsRecord, RecordFramer
from .registry import alert_name

#: How many non-TLS bytes a NotTls event shows.
NOT_TLS_SHOWN = 80


class TlsEvent:
    """Base of everything :meth:`TlsReader.feed` returns. Don't subclass these."""


@frozen
class ClientHello(TlsEvent):
    info: msg.ClientHelloInfo


@frozen
class ServerHello(TlsEvent):
    """A ServerHello or, with ``info.retry``, a HelloRetryRequest (RFC 8446 §4.1.4)."""

    info: msg.ServerHelloInfo


@frozen
class Certificates(TlsEvent):
    """The Certificate message in clear (TLS <= 1.2): DER certificates, leaf first."""

    chain: tuple[bytes, ...]


@frozen
class KeyExchangeGroup(TlsEvent):
    """The group of an ECDHE/DHE ServerKeyExchange (TLS <= 1.2)."""

    group: str | None
    #: the SignatureScheme that signed it (TLS 1.2, RFC 5246 §7.4.3); None before 1.2
    signature: int | None = None


@frozen
class CertificateStatus(TlsEvent):
    """RFC 6066 §8: the server staples an OCSP response (status_type 1) in clear (TLS <= 1.2)."""

    ocsp_response: bytes


@frozen
class ServerHelloDone(TlsEvent):
    """RFC 5246 §7.4.5: the server's TLS <= 1.2 first flight is complete."""


@frozen
class Alert(TlsEvent):
    """A plaintext alert record (RFC 8446 §6)."""

    level: int
    description: int

    @property
    def fatal(self) -> bool:
        return self.level == 2

    @property
    def name(self) -> str:
        return alert_name(self.description)


@frozen
class Encrypted(TlsEvent):
    """A ChangeCipherSpec or an application_data record: ciphertext from here on.

    ``length`` is the record body's size (a TLS 1.3 encrypted alert is 19
    bytes: 2 of alert, 1 of content type, 16 of AEAD tag; RFC 8446 §5.2).
    """

    content_type: int
    length: int


@frozen
class Malformed(TlsEvent):
    """A ClientHello or ServerHello too short or too broken to read."""

    msg_type: int


@frozen
class NotTls(TlsEvent):
    """Bytes that are not TLS records, ``offset`` bytes into the stream."""

    offset: int
    data: bytes          #: the first NOT_TLS_SHOWN of them


class TlsReader:
    """One direction of a TLS stream. ``feed`` returns events; ``feed_eof`` flushes."""

    def __init__(self) -> None:
        self._framer = RecordFramer()
        self._handshake = msg.HandshakeStream()
        self._consumed = 0                 #: bytes of complete records read so far
        self._not_tls: bytearray | None = None
        self._not_tls_at = 0
        self._reported = False
        self.encrypted = False             #: ciphertext from here on: records are only counted
        self.received = 0

    def feed(self, data: bytes) -> list[TlsEvent]:
        self.received += len(data)
        if self._not_tls is not None:
            return self._more_garbage(data)
        try:
            records = self._framer.feed(data)
            bad = False
        except NotTlsRecord as exc:
            records, bad = exc.records, True
        events: list[TlsEvent] = []
        for record in records:
            self._consumed += 5 + len(record.body)
            events += self._record(record)
        if bad:
            self._not_tls_at = self._consumed
            self._not_tls = bytearray()
            events += self._more_garbage(self._framer.take_buffered())
        return events

    @property
    def not_tls(self) -> bool:
        """True once bytes that are not TLS records were met (reported now or at the end)."""
        return self._not_tls is not None

    def feed_eof(self) -> list[TlsEvent]:
        """The stream ended: report non-TLS bytes not yet reported."""
        if self._not_tls is not None and not self._reported:
            self._reported = True
            return [NotTls(self._not_tls_at, bytes(self._not_tls))]
        return []

    def _more_garbage(self, data: bytes) -> list[TlsEvent]:
        if self._reported:
            return []
        self._not_tls += data[:NOT_TLS_SHOWN - len(self._not_tls)]
        if len(self._not_tls) >= NOT_TLS_SHOWN:
            self._reported = True
            return [NotTls(self._not_tls_at, bytes(self._not_tls))]
        return []

    def _record(self, record) -> list[TlsEvent]:
        ctype = record.content_type
        if ctype == ALERT and len(record.body) == 2:
            # Two bytes are a plaintext alert even after a TLS 1.3 ServerHello
            # (encrypted ones travel as application_data, RFC 8446 §5.2).
            return [Alert(record.body[0], record.body[1])]
        if ctype in (CHANGE_CIPHER_SPEC, APPLICATION_DATA) or self.encrypted:
            self.encrypted = True
            return [Encrypted(ctype, len(record.body))]
        if ctype != HANDSHAKE:
            return []
        events: list[TlsEvent] = []
        for msg_type, body in self._handshake.feed(record.body):
            event = _message(msg_type, body)
            if event is not None:
                events.append(event)
                if isinstance(event, ServerHello) and event.info.version >= 0x0304 \
                        and not event.info.retry:
                    self.encrypted = True  # RFC 8446 §2: everything after the ServerHello
                    break
        return events


def _message(msg_type: int, body: bytes) -> TlsEvent | None:
    if msg_type == msg.CLIENT_HELLO:
        info = msg.parse_client_hello(body)
        return ClientHello(info) if info is not None else Malformed(msg_type)
    if msg_type == msg.SERVER_HELLO:
        info = msg.parse_server_hello(body)
        return ServerHello(info) if info is not None else Malformed(msg_type)
    if msg_type == msg.CERTIFICATE:
        return Certificates(msg.parse_certificate_list(body))
    if msg_type == msg.SERVER_KEY_EXCHANGE:
        return KeyExchangeGroup(msg.group_from_server_key_exchange(body),
                                msg.server_key_exchange_signature(body))
    if msg_type == msg.CERTIFICATE_STATUS and len(body) >= 4 and body[0] == 1:
        return CertificateStatus(body[4:4 + int.from_bytes(body[1:4], "big")])
    if msg_type == msg.SERVER_HELLO_DONE:
        return ServerHelloDone()
    return None


def read_all(data: bytes) -> list[TlsEvent]:
    """Every event of a whole stream (for bytes already complete, e.g. a captured flight)."""
    reader = TlsReader()
    return reader.feed(data) + reader.feed_eof()
