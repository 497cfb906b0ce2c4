"""A minimal TLS 1.2 client, sans I/O: just enough to finish one handshake and renegotiate (RFC 5246).

Python's ssl cannot renegotiate, so the client-initiated renegotiation check
(:mod:`inspector.probes.tls_renegotiation`) finishes its own handshake:
ECDHE (x25519 or secp256r1, RFC 8422) with AES-GCM (RFC 5288: 0xC02F,
0xC02B, 0xC030, 0xC02C), the extended master secret when the server
negotiates it (RFC 7627 §4), and nothing else. The server's signature and
certificate are not checked: no secret is ever sent over this connection.

Use: ``hello_record()`` -> send; ``feed(server bytes)`` until ``flight_done``;
``finish_records()`` -> send; ``feed`` until ``established``; then
``protect(type, bytes)`` wraps a record and ``feed`` decrypts what follows
into ``records`` (content type, plaintext).
"""

from __future__ import annotations

import hashlib
import hmac

from ..messages import HandshakeStream, parse_server_hello
from ..records import ALERT, CHANGE_CIPHER_SPEC, HANDSHAKE, RecordFramer

SUITES = {0xC02F: hashlib.sha256, 0xC02B: hashlib.sha256, 0xC030: hashlib.sha384, 0xC02C: hashlib.sha384}
KEY_LENGTH = {0xC02F: 16, 0xC02B: 16, 0xC030: 32, 0xC02C: 32}
X25519, SECP256R1 = 0x001D, 0x0017
TLS12 = 0x0303


class HandshakeFailed(Exception):
    """The server's answer does not let this client finish (one line)."""


def prf(secret: bytes, label: bytes, seed: bytes, length: int, hash_function) -> bytes:
    """RFC 5246 §5: P_hash(secret, label + seed)."""
    seed = label + seed
    out, a = b"", seed
    while len(out) < length:
        a = hmac.new(secret, a, hash_function).digest()
        out += hmac.new(secret, a + seed, hash_function).digest()
    return out[:length]


def _record(content_type: int, body: bytes) -> bytes:
    return bytes([content_type]) + TLS12.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


class Tls12Client:
    def __init__(self, hello_record: bytes) -> None:
        """``hello_record``: one ClientHello record offering :data:`SUITES` (built by tls/client_hello.py)."""
        self._hello_record = hello_record
        self._transcript = bytearray(hello_record[5:])
        self._client_random = hello_record[11:43]
        self._framer = RecordFramer()
        self._stream = HandshakeStream()
        self._server_random = b""
        self.suite: int | None = None
        self._ems = False
        self._curve: int | None = None
        self._server_point = b""
        self.flight_done = False
        self.established = False
        self._server_ccs = False
        self._keys = None
        self._write_seq = self._read_seq = 0
        self.client_verify_data = b""
        self.records: list[tuple[int, bytes]] = []   #: decrypted records after the handshake

    # -- the server's bytes ------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        for rec in self._framer.feed(data):
            if self._server_ccs:
                self._protected(rec)
            elif rec.content_type == HANDSHAKE:
                for msg_type, body in self._stream.feed(rec.body):
                    self._handshake(msg_type, body)
            elif rec.content_type == CHANGE_CIPHER_SPEC:
                self._server_ccs = True
            elif rec.content_type == ALERT and len(rec.body) == 2:
                raise HandshakeFailed(f"alert {rec.body[1]} during the handshake")

    def _handshake(self, msg_type: int, body: bytes) -> None:
        self._transcript += bytes([msg_type]) + len(body).to_bytes(3, "big") + body
        if msg_type == 2:
            info = parse_server_hello(body)
            if info is None or info.version != TLS12 or info.suite not in SUITES:
                raise HandshakeFailed("no TLS 1.2 ECDHE AES-GCM ServerHello")
            self.suite, self._server_random = info.suite, body[2:34]
            self._ems = any(kind == 0x0017 for kind, _ in info.extensions)
            if info.compression:
                raise HandshakeFailed("the server picked compression")
        elif msg_type == 12:
            if len(body) < 4 or body[0] != 3:
                raise HandshakeFailed("ServerKeyExchange without a named curve")
            self._curve = int.from_bytes(body[1:3], "big")
            self._server_point = body[4:4 + body[3]]
        elif msg_type == 14:
            self.flight_done = True

    # -- our second flight -----------------------------------------------------------
    def finish_records(self) -> bytes:
        """ClientKeyExchange, ChangeCipherSpec, Finished (RFC 5246 §7.4.7, §7.4.9)."""
        if self.suite is None or self._curve not in (X25519, SECP256R1):
            raise HandshakeFailed("the server picked no ECDHE group this client has")
        public, shared = _ecdh(self._curve, self._server_point)
        cke_body = bytes([len(public)]) + public
        cke = bytes([16]) + len(cke_body).to_bytes(3, "big") + cke_body
        self._transcript += cke
        digest = SUITES[self.suite]
        if self._ems:
            master = prf(shared, b"extended master secret", digest(self._transcript).digest(), 48, digest)
        else:
            master = prf(shared, b"master secret", self._client_random + self._server_random, 48, digest)
        size = KEY_LENGTH[self.suite]
        block = prf(master, b"key expansion", self._server_random + self._client_random, 2 * size + 8,
                    digest)
        self._keys = (block[:size], block[size:2 * size], block[2 * size:2 * size + 4],
                      block[2 * size + 4:2 * size + 8])
        self._master = master
        self.client_verify_data = prf(master, b"client finished", digest(self._transcript).digest(), 12,
                                      digest)
        finished = bytes([20, 0, 0, 12]) + self.client_verify_data
        self._transcript += finished
        return (_record(HANDSHAKE, cke) + _record(CHANGE_CIPHER_SPEC, b"\x01")
                + self.protect(HANDSHAKE, finished))

    def protect(self, content_type: int, plaintext: bytes) -> bytes:
        """One AES-GCM record (RFC 5288 §3: explicit nonce = the sequence number)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        explicit = self._write_seq.to_bytes(8, "big")
        aad = explicit + bytes([content_type]) + TLS12.to_bytes(2, "big") + len(plaintext).to_bytes(2, "big")
        body = explicit + AESGCM(self._keys[0]).encrypt(self._keys[2] + explicit, plaintext, aad)
        self._write_seq += 1
        return _record(content_type, body)

    def _protected(self, rec) -> None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if self._keys is None or len(rec.body) < 24:
            raise HandshakeFailed("an encrypted record before our keys")
        explicit, ciphertext = rec.body[:8], rec.body[8:]
        aad = (self._read_seq.to_bytes(8, "big") + bytes([rec.content_type]) + TLS12.to_bytes(2, "big")
               + (len(ciphertext) - 16).to_bytes(2, "big"))
        try:
            plaintext = AESGCM(self._keys[1]).decrypt(self._keys[3] + explicit, ciphertext, aad)
        except InvalidTag:
            raise HandshakeFailed("a server record does not decrypt") from None
        self._read_seq += 1
        if not self.established:
            if rec.content_type != HANDSHAKE or plaintext[:1] != b"\x14":
                raise HandshakeFailed("no Finished after the server's ChangeCipherSpec")
            digest = SUITES[self.suite]
            expected = prf(self._master, b"server finished", digest(self._transcript).digest(), 12, digest)
            if plaintext[4:16] != expected:
                raise HandshakeFailed("the server's Finished does not verify")
            self.established = True
            return
        self.records.append((rec.content_type, plaintext))


def _ecdh(curve: int, server_point: bytes) -> tuple[bytes, bytes]:
    """(our public value, the shared secret) for the server's point (RFC 8422 §5.10)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, x25519

    try:
        if curve == X25519:
            key = x25519.X25519PrivateKey.generate()
            shared = key.exchange(x25519.X25519PublicKey.from_public_bytes(server_point))
            return key.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw), shared
        key = ec.generate_private_key(ec.SECP256R1())
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_point)
        return key.public_key().public_bytes(serialization.Encoding.X962,
                                             serialization.PublicFormat.UncompressedPoint), \
            key.exchange(ec.ECDH(), peer)
    except ValueError as exc:
        raise HandshakeFailed(f"the server's ECDHE point does not read: {exc}") from None


