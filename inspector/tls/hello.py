"""Crafted ClientHellos (built with scapy's TLS layer) and the server's answer to them.

Pure: bytes out, bytes in. :func:`client_hello` builds the records of one
ClientHello for SSL 3.0 to TLS 1.2 (RFC 6101, RFC 5246 §7.4.1.2) or TLS 1.3
(RFC 8446 §4.1.2: legacy_version 1.2 plus supported_versions, key_share,
supported_groups, signature_algorithms). :class:`ServerAnswer` reads what
came back, framed by :class:`inspector.tls.records.RecordFramer` (scapy alone
returns ``Padding`` for partial records): a ServerHello (or HelloRetryRequest,
RFC 8446 §4.1.4), an alert, or nothing usable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..packets import scapy_tls
from .handshake import parse_certificate_list
from .records import ALERT, ALERT_NAMES, GROUP_NAMES, HANDSHAKE, RecordFramer, group_from_server_key_exchange

VERSIONS: dict[str, int] = {"SSLv3": 0x0300, "TLSv1": 0x0301, "TLSv1.1": 0x0302,
                            "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
VERSION_NAMES = {code: name for name, code in VERSIONS.items()}

#: RFC 8446 §4.1.3: the Random of a HelloRetryRequest.
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")

#: Groups offered in supported_groups while enumerating suites (as OpenSSL 3 offers them, plus more).
OFFERED_GROUPS = (0x001D, 0x0017, 0x001E, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104,
                  0x001A, 0x001B, 0x001C)
#: Every group worth asking about when enumerating groups (RFC 8446 §4.2.7, RFC 8422 §5.1.1).
CANDIDATE_GROUPS = (0x001D, 0x0017, 0x0018, 0x0019, 0x001E, 0x001A, 0x001B, 0x001C,
                    0x0100, 0x0101, 0x0102, 0x0103, 0x0104, 0x11EC, 0x11EB, 0x11ED)
EC_GROUPS = tuple(g for g in CANDIDATE_GROUPS if g < 0x0100)

#: signature_algorithms (RFC 8446 §4.2.3, RFC 5246 §7.4.1.4.1), legacy SHA-1/MD5 last.
SIGNATURE_ALGORITHMS = (0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806,
                        0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301,
                        0x0302, 0x0402, 0x0502, 0x0602, 0x0203, 0x0201, 0x0202, 0x0101)

#: Stop reading a first flight after this many bytes (a hostile server may never end it).
MAX_FLIGHT = 256 * 1024

_SERVER_HELLO, _CERTIFICATE, _SERVER_KEY_EXCHANGE, _SERVER_HELLO_DONE = 2, 11, 12, 14
_EXT_SUPPORTED_VERSIONS, _EXT_KEY_SHARE = 0x002B, 0x0033
_RENEGOTIATION_INFO_SCSV = 0x00FF


def client_hello(version: str, suites, *, servername: str | None = None,
                 groups=OFFERED_GROUPS, key_share_group: int | None = 0x001D) -> bytes:
    """The record(s) of one ClientHello offering ``suites`` (code points) at ``version``.

    For TLS 1.3, ``key_share_group=None`` sends an empty key_share, so a
    server that shares a group must answer with a HelloRetryRequest naming it.
    """
    tls = scapy_tls()
    code = VERSIONS[version]
    ciphers = list(suites)
    extensions = []
    if servername:
        extensions.append(tls.TLS_Ext_ServerName(
            servernames=[tls.ServerName(servername=servername.encode("idna"))]))
    if groups:
        extensions.append(tls.TLS_Ext_SupportedGroups(groups=list(groups)))
        extensions.append(tls.TLS_Ext_SupportedPointFormat(ecpl=[0]))
    if code >= 0x0303:
        extensions.append(tls.TLS_Ext_SignatureAlgorithms(sig_algs=list(SIGNATURE_ALGORITHMS)))
    if code == 0x0304:
        extensions.append(tls.TLS_Ext_SupportedVersion_CH(versions=[0x0304]))
        shares = []
        if key_share_group is not None:
            shares.append(tls.KeyShareEntry(group=key_share_group,
                                            key_exchange=_key_share(key_share_group)))
        extensions.append(tls.TLS_Ext_KeyShare_CH(client_shares=shares))
        legacy = 0x0303
    else:
        if _RENEGOTIATION_INFO_SCSV not in ciphers:
            ciphers.append(_RENEGOTIATION_INFO_SCSV)  # RFC 5746 §3.3
        extensions.append(tls.TLS_Ext_ExtendedMasterSecret())
        legacy = code
    hello = tls.TLSClientHello(version=legacy, ciphers=ciphers, comp=[0], ext=extensions or None,
                               gmt_unix_time=int.from_bytes(os.urandom(4), "big"),
                               random_bytes=os.urandom(28), sid=os.urandom(32) if code == 0x0304 else b"")
    record = tls.TLS(version=min(code, 0x0301), type=HANDSHAKE, msg=[hello])
    return bytes(record)


def _key_share(group: int) -> bytes:
    """A syntactically valid public value for the group (RFC 8446 §4.2.8.2); never used to finish."""
    if group == 0x001D:
        return os.urandom(32)
    if group == 0x001E:
        return os.urandom(56)
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    curve = {0x0017: ec.SECP256R1, 0x0018: ec.SECP384R1, 0x0019: ec.SECP521R1}[group]()
    return ec.generate_private_key(curve).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)


# ----------------------------------------------------------------------------- answers



@dataclass(frozen=True)
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

    @property
    def complete(self) -> bool:
        return self.kind in ("retry", "alert")


class FlightReader:
    """Feed the server's bytes; ``answer()`` once ``done`` or the stream ends."""

    def __init__(self) -> None:
        self._framer = RecordFramer()
        self._handshake = bytearray()
        self._hello: dict | None = None
        self._alert: str | None = None
        self._late_alert: str | None = None
        self._chain: tuple[bytes, ...] = ()
        self._ske_group: str | None = None
        self._hello_done = False
        self.garbage: bytes = b""
        self.received = 0

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        try:
            records = self._framer.feed(data)
        except ValueError:
            self.garbage = data[:80]
            return
        for record in records:
            if record.content_type == ALERT and len(record.body) >= 2:
                name = ALERT_NAMES.get(record.body[1], f"alert {record.body[1]}")
                if self._hello is None:
                    self._alert = name
                elif self._late_alert is None:
                    self._late_alert = name
            elif record.content_type == HANDSHAKE:
                self._handshake += record.body
                self._read_messages()

    @property
    def done(self) -> bool:
        """Enough read: an alert, a TLS 1.3 ServerHello/HRR, or ServerHelloDone (RFC 5246 §7.3)."""
        if self._alert is not None or self._late_alert is not None or self.garbage \
                or self.received > MAX_FLIGHT:
            return True
        if self._hello is None:
            return False
        return self._hello["version"] == 0x0304 or self._hello["retry"] or self._hello_done

    def _read_messages(self) -> None:
        while len(self._handshake) >= 4:
            length = int.from_bytes(self._handshake[1:4], "big")
            if len(self._handshake) < 4 + length:
                return
            msg_type, body = self._handshake[0], bytes(self._handshake[4:4 + length])
            message = bytes(self._handshake[:4 + length])
            del self._handshake[:4 + length]
            if msg_type == _SERVER_HELLO and self._hello is None:
                try:
                    self._hello = _parse_server_hello(message)
                except Exception as exc:  # scapy on hostile bytes: any error is a malformed hello
                    self.garbage = f"malformed ServerHello ({type(exc).__name__})".encode()
                    return
            elif msg_type == _CERTIFICATE and self._hello is not None:
                self._chain = parse_certificate_list(body)
            elif msg_type == _SERVER_KEY_EXCHANGE:
                self._ske_group = group_from_server_key_exchange(body)
            elif msg_type == _SERVER_HELLO_DONE:
                self._hello_done = True

    def answer(self) -> ServerAnswer:
        if self._hello is not None and isinstance(self._hello.get("suite"), int) \
                and isinstance(self._hello.get("version"), int):
            hello = self._hello
            group = hello["group"] or self._ske_group
            return ServerAnswer("retry" if hello["retry"] else "hello",
                                VERSION_NAMES.get(hello["version"], f"0x{hello['version']:04x}"),
                                hello["suite"], group, None, self._chain,
                                late_alert=self._late_alert)
        if self._alert is not None:
            return ServerAnswer("alert", alert=self._alert)
        if self.garbage or self._hello is not None:
            what = self.garbage or b"truncated ServerHello"
            return ServerAnswer("none", detail=f"unusable answer: {what!r}")
        return ServerAnswer("none", detail="no ServerHello")


def _parse_server_hello(message: bytes) -> dict:
    """ServerHello via scapy (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3); HRR is told by its Random."""
    tls = scapy_tls()
    session = tls.tlsSession(connection_end="client")
    session.frozen = True  # dissect only: no key schedule from a crafted handshake
    hello = tls.TLSServerHello(message, tls_session=session)
    version = hello.version
    random = (hello.gmt_unix_time or 0).to_bytes(4, "big") + bytes(hello.random_bytes or b"")
    group = None
    for ext in hello.ext or []:
        ext_type = getattr(ext, "type", None)
        raw = bytes(ext)
        if ext_type == _EXT_SUPPORTED_VERSIONS and len(raw) >= 6:
            version = int.from_bytes(raw[4:6], "big")
        elif ext_type == _EXT_KEY_SHARE and len(raw) >= 6:
            code = int.from_bytes(raw[4:6], "big")
            group = GROUP_NAMES.get(code, f"0x{code:04x}")
    return {"version": version, "suite": hello.cipher, "group": group, "retry": random == HRR_RANDOM}


