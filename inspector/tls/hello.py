"""The server's answer to one crafted ClientHello, read with the one TLS reader (pure).

:class:`FlightReader` takes the server's first flight as it arrives and says
what it was: a ServerHello (or HelloRetryRequest, RFC 8446 §4.1.4), an
alert, or nothing usable. The ClientHellos themselves are built by
:mod:`inspector.tls.client_hello`.
"""

from __future__ import annotations

from ..frozen import frozen
from . import reader as tls
from .messages import HRR_RANDOM
from .registry import VERSION_NAMES, VERSIONS, version_name
from .suites import BY_CODE

#: Every group worth asking about when enumerating groups (RFC 8446 §4.2.7, RFC 8422 §5.1.1).
CANDIDATE_GROUPS = (0x001D, 0x0017, 0x0018, 0x0019, 0x001E, 0x001A, 0x001B, 0x001C,
                    0x0100, 0x0101, 0x0102, 0x0103, 0x0104, 0x11EC, 0x11EB, 0x11ED)
EC_GROUPS = tuple(g for g in CANDIDATE_GROUPS if g < 0x0100)

#: Stop reading a first flight after this many bytes (a hostile server may never end it).
MAX_FLIGHT = 256 * 1024

__all__ = ["CANDIDATE_GROUPS", "EC_GROUPS", "HRR_RANDOM", "MAX_FLIGHT", "VERSIONS", "VERSION_NAMES",
           "FlightReader", "ServerAnswer"]


@frozen
class ServerAnswer:
    """What the server's first flight says about one ClientHello."""

    kind: str                         #: "hello", "retry" (HelloRetryRequest), "alert", "none"
    version: str | None = None        #: negotiated version (supported_versions wins, RFC 8446 §4.2.1)
    suite: int | None = None
    group: str | None = None          #: key_share / HRR selected_group / ServerKeyExchange curve
    alert: str | None = None
    chain_der: tuple[bytes, ...] = ()  #: TLS <= 1.2 Certificate message, leaf first
    detail: str = ""
    #: an alert after the ServerHello: the server picked, then aborted (OpenSMTPD 6.8 + OpenSSL 3)
    late_alert: str | None = None
    #: what inspector.tls.checks reads: the ServerHello itself (extensions, compression,
    #: session id), the stapled OCSP response, the ServerKeyExchange's SignatureScheme
    server_hello: object | None = None
    ocsp_response: bytes | None = None
    signature: int | None = None

    @property
    def complete(self) -> bool:
        return self.kind in ("retry", "alert")


def _kx(code: int) -> str | None:
    suite = BY_CODE.get(code)
    return suite.kx if suite is not None else None


class FlightReader:
    """Feed the server's bytes; ``answer()`` once ``done`` or the stream ends."""

    def __init__(self) -> None:
        self._reader = tls.TlsReader()
        self._hello: tls.ServerHello | None = None
        self._alert: str | None = None
        self._late_alert: str | None = None
        self._chain: tuple[bytes, ...] = ()
        self._ske_group: str | None = None
        self._ske_signature: int | None = None
        self._ocsp: bytes | None = None
        self._hello_done = False
        self._malformed = False
        self.garbage: bytes = b""

    @property
    def received(self) -> int:
        return self._reader.received

    def feed(self, data: bytes) -> None:
        for event in self._reader.feed(data):
            self._event(event)
        if self._reader.not_tls and not self.garbage:
            for event in self._reader.feed_eof():
                self._event(event)

    def _event(self, event: tls.TlsEvent) -> None:
        if isinstance(event, tls.Alert):
            if self._hello is None:
                self._alert = event.name
            elif self._late_alert is None:
                self._late_alert = event.name
        elif isinstance(event, tls.ServerHello) and self._hello is None:
            self._hello = event
        elif isinstance(event, tls.Malformed) and self._hello is None:
            self._malformed = True
            self.garbage = b"malformed ServerHello"
        elif isinstance(event, tls.Certificates) and self._hello is not None:
            self._chain = event.chain
        elif isinstance(event, tls.KeyExchangeGroup):
            self._ske_group, self._ske_signature = event.group, event.signature
        elif isinstance(event, tls.CertificateStatus):
            self._ocsp = event.ocsp_response
        elif isinstance(event, tls.ServerHelloDone):
            self._hello_done = True
        elif isinstance(event, tls.NotTls):
            self.garbage = event.data or b"non-TLS bytes"

    @property
    def done(self) -> bool:
        """Enough read: an alert, a TLS 1.3 ServerHello/HRR, or ServerHelloDone (RFC 5246 §7.3)."""
        if self._alert is not None or self._late_alert is not None or self.garbage \
                or self.received > MAX_FLIGHT:
            return True
        if self._hello is None:
            return False
        info = self._hello.info
        return info.version == 0x0304 or info.retry or self._hello_done

    def answer(self) -> ServerAnswer:
        if self._hello is not None:
            info = self._hello.info
            group = info.group_name or self._ske_group
            if not info.group_name and _kx(info.suite) == "RSA":
                group = None  # an RSA_EXPORT ServerKeyExchange holds a temporary RSA key (RFC 2246 §7.4.3)
            return ServerAnswer("retry" if info.retry else "hello", version_name(info.version),
                                info.suite, group, None, self._chain, late_alert=self._late_alert,
                                server_hello=info, ocsp_response=self._ocsp, signature=self._ske_signature)
        if self._alert is not None:
            return ServerAnswer("alert", alert=self._alert)
        if self.garbage:
            return ServerAnswer("none", detail=f"unusable answer: {self.garbage!r}")
        return ServerAnswer("none", detail="no ServerHello")
