"""The signature scheme of a TLS 1.3 server's CertificateVerify (RFC 8446 §4.4.3), sans I/O.

In TLS 1.3 everything after the ServerHello is encrypted, CertificateVerify
included, so the scheme the server signs with is not on the wire in clear.
:class:`CertificateVerifyReader` reads it the only honest way: it holds the
private key of the key share the ClientHello offered (x25519, RFC 7748, or
secp256r1, RFC 8446 §4.2.8.2),
derives the server's handshake traffic secret (RFC 8446 §7.1), decrypts the
server's flight (§5.2) up to CertificateVerify and stops. Nothing is sent
after the ClientHello; the handshake is never finished and the server's
signature is not checked (only its scheme is reported).

Use: ``reader = CertificateVerifyReader(hello_record, private_key)``;
``feed(server bytes)`` until ``done``; then ``scheme`` (the SignatureScheme),
or ``alert`` / ``error``.
"""

from __future__ import annotations

import hashlib
import hmac

from ..messages import HandshakeStream, parse_server_hello
from ..records import ALERT, APPLICATION_DATA, HANDSHAKE, NotTlsRecord, RecordFramer
from ..registry import alert_name, group_name

#: TLS 1.3 suites this reader can decrypt (RFC 8446 §B.4): AEAD, key length, transcript hash.
SUITES = {0x1301: ("AES-GCM", 16, hashlib.sha256), 0x1302: ("AES-GCM", 32, hashlib.sha384),
          0x1303: ("CHACHA20", 32, hashlib.sha256)}
X25519, SECP256R1 = 0x001D, 0x0017
_KEY_SHARE, _CERTIFICATE_VERIFY, _SERVER_HELLO = 0x0033, 15, 2
#: Stop after this much: a server flight up to CertificateVerify is a few certificates long.
MAX_FLIGHT = 256 * 1024


def hkdf_expand_label(secret: bytes, label: bytes, context: bytes, length: int, hash_function) -> bytes:
    """RFC 8446 §7.1: HKDF-Expand (RFC 5869 §2.3) with the HkdfLabel structure."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([counter]), hash_function).digest()
        out += block
        counter += 1
    return out[:length]


def server_handshake_secret(shared: bytes, transcript_hash: bytes, hash_function) -> bytes:
    """RFC 8446 §7.1: Early Secret (no PSK) -> Handshake Secret -> server_handshake_traffic_secret."""
    size = hash_function().digest_size
    early = hmac.new(b"\0" * size, b"\0" * size, hash_function).digest()
    derived = hkdf_expand_label(early, b"derived", hash_function(b"").digest(), size, hash_function)
    handshake = hmac.new(derived, shared, hash_function).digest()
    return hkdf_expand_label(handshake, b"s hs traffic", transcript_hash, size, hash_function)


def key_share(group: int):
    """(private key, public key_exchange bytes) for ``group`` (RFC 8446 §4.2.8.2)."""
    from cryptography.hazmat.primitives.asymmetric import ec, x25519
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if group == X25519:
        key = x25519.X25519PrivateKey.generate()
        return key, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    if group == SECP256R1:
        key = ec.generate_private_key(ec.SECP256R1())
        return key, key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    raise ValueError(f"no key share for group 0x{group:04x}")


def _exchange(key, share: bytes) -> bytes:
    """The (EC)DHE shared secret with the server's KeyShareEntry (RFC 8446 §7.4); ValueError if unusable."""
    from cryptography.hazmat.primitives.asymmetric import ec, x25519

    if len(share) < 4:
        raise ValueError("no key_share")
    group, value = int.from_bytes(share[0:2], "big"), share[4:4 + int.from_bytes(share[2:4], "big")]
    if group == X25519 and isinstance(key, x25519.X25519PrivateKey):
        return key.exchange(x25519.X25519PublicKey.from_public_bytes(value))
    if group == SECP256R1 and isinstance(key, ec.EllipticCurvePrivateKey):
        return key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), value))
    raise ValueError(f"the server's share is for {group_name(group)}, not ours")


class CertificateVerifyReader:
    """Feed the server's bytes after our TLS 1.3 ClientHello; ``done`` at CertificateVerify or failure."""

    def __init__(self, hello_record: bytes, private_key) -> None:
        """``private_key``: cryptography's X25519PrivateKey or SECP256R1 EllipticCurvePrivateKey
        whose public key the hello's key_share holds (see :func:`key_share`)."""
        self._hello = hello_record[5:]
        self._key = private_key
        self._framer = RecordFramer()
        self._plain = HandshakeStream()
        self._encrypted = HandshakeStream()
        self._aead = None
        self._iv = b""
        self._seq = 0
        self._received = 0
        self.scheme: int | None = None
        self.alert: str | None = None
        self.error: str | None = None

    @property
    def done(self) -> bool:
        return self.scheme is not None or self.alert is not None or self.error is not None

    def feed(self, data: bytes) -> None:
        self._received += len(data)
        if self._received > MAX_FLIGHT and not self.done:
            self.error = f"no CertificateVerify in the first {MAX_FLIGHT} bytes"
        try:
            records = self._framer.feed(data)
        except NotTlsRecord as exc:
            records = exc.records
            self.error = self.error or "the server's answer is not TLS"
        for record in records:
            if self.done:
                return
            if record.content_type == ALERT and len(record.body) >= 2:
                self.alert = alert_name(record.body[1])
            elif record.content_type == HANDSHAKE and self._aead is None:
                for msg_type, body in self._plain.feed(record.body):
                    if msg_type == _SERVER_HELLO:
                        self._server_hello(body)
            elif record.content_type == APPLICATION_DATA and self._aead is not None:
                self._protected(record)
            # ChangeCipherSpec (middlebox compatibility, RFC 8446 §D.4) says nothing

    def _server_hello(self, body: bytes) -> None:
        info = parse_server_hello(body)
        if info is None:
            self.error = "malformed ServerHello"
            return
        if info.retry:
            self.error = (f"HelloRetryRequest for {group_name(info.group)}: our key share's group is "
                          "not accepted (RFC 8446 §4.1.4)")
            return
        if info.version != 0x0304 or info.suite not in SUITES:
            self.error = f"not a TLS 1.3 ServerHello this reader decrypts (suite 0x{info.suite:04x})"
            return
        share = dict(info.extensions).get(_KEY_SHARE, b"")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

        cipher, key_length, hash_function = SUITES[info.suite]
        try:
            shared = _exchange(self._key, share)
        except ValueError as exc:
            self.error = f"unusable key_share in the ServerHello: {exc}"
            return
        transcript = hash_function(self._hello + bytes([_SERVER_HELLO]) + len(body).to_bytes(3, "big")
                                   + body).digest()
        secret = server_handshake_secret(shared, transcript, hash_function)
        key = hkdf_expand_label(secret, b"key", b"", key_length, hash_function)
        self._iv = hkdf_expand_label(secret, b"iv", b"", 12, hash_function)
        self._aead = AESGCM(key) if cipher == "AES-GCM" else ChaCha20Poly1305(key)

    def _protected(self, record) -> None:
        """RFC 8446 §5.3 nonce, §5.2 additional data (the record header) and inner content type."""
        from cryptography.exceptions import InvalidTag

        nonce = (int.from_bytes(self._iv, "big") ^ self._seq).to_bytes(12, "big")
        self._seq += 1
        header = bytes([APPLICATION_DATA]) + b"\x03\x03" + len(record.body).to_bytes(2, "big")
        try:
            inner = self._aead.decrypt(nonce, record.body, header).rstrip(b"\0")
        except InvalidTag:
            self.error = "a handshake record did not decrypt (RFC 8446 §5.2)"
            return
        if not inner:
            self.error = "an empty inner plaintext (RFC 8446 §5.4)"
        elif inner[-1] == ALERT and len(inner) >= 3:
            self.alert = alert_name(inner[1])
        elif inner[-1] == HANDSHAKE:
            for msg_type, body in self._encrypted.feed(inner[:-1]):
                if msg_type == _CERTIFICATE_VERIFY and len(body) >= 2:
                    self.scheme = int.from_bytes(body[0:2], "big")
                    return
