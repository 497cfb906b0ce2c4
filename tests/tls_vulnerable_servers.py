"""Scripted TLS servers that reproduce, byte for byte, vulnerable behaviours no packaged build has any more.

One :class:`VulnerableTls` script per connection (implicit TLS, on a
:class:`~tests.scripted_server.ScriptedServer`): it reads the ClientHello,
answers with a TLS 1.2 ServerHello (the configured suite, extensions and
compression method), the Certificate of an RSA 2048 key and
ServerHelloDone, exactly as OpenSSL 1.0.1 writes them, and then behaves like
the build the flag names:

- ``heartbleed``: OpenSSL 1.0.1-1.0.1f (CVE-2014-0160): ``tls1_process_heartbeat``
  copies ``payload_length`` bytes whatever arrived and sends them back in a
  heartbeat response (type 2, 16 bytes of padding). Patched: the request is
  dropped (RFC 6520 §4) and the next record answered.
- ``ccs``: OpenSSL before 0.9.8za/1.0.0m/1.0.1h (CVE-2014-0224): an early
  ChangeCipherSpec is accepted, the next record fails to decrypt:
  bad_record_mac. Patched: unexpected_message at once.
- ``robot``: a Bleichenbacher oracle (Böck, Somorovsky, Young 2018, the F5
  and Cisco ACE cases): the premaster secret is decrypted with raw RSA
  (``cryptography``'s private numbers: m = c^d mod n) and a block that is not
  ``00 02 PS 00 <48 bytes with the client version>`` gets alert decrypt_error
  at once, a well-formed one bad_record_mac (its Finished cannot decrypt).
  Not an oracle: bad_record_mac for all (RFC 5246 §7.4.7.1).
- ``secure_renegotiation=False``: no renegotiation_info (pre-RFC 5746 servers).
- ``compression=1``: DEFLATE picked (OpenSSL built with zlib, before 1.1.0's default off; CRIME).
- ``honour_fallback=False``: TLS_FALLBACK_SCSV ignored (OpenSSL before 1.0.1j).
- ``accepts`` ({version: suites}): instead of one fixed answer, negotiate like OpenSSL
  1.0.1 configured with ``SSLv3`` and ``EXPORT`` suites (no Debian 12 build can: OpenSSL 3
  has no SSLv3 method and no export suites, GnuTLS dropped both): the highest version both
  have (RFC 5246 Appendix E.1), alert protocol_version below the lowest, the first offered
  suite it accepts (client order) or handshake_failure. An SSLv3 ServerHello carries only
  renegotiation_info (OpenSSL 1.0.1's ``ssl_add_serverhello_tlsext``); an RSA_EXPORT suite
  is followed by a ServerKeyExchange with a 512-bit temporary RSA key signed with the
  certificate's key over MD5 || SHA-1 (RFC 2246 §7.4.3; the key FREAK, CVE-2015-0204,
  lets a man in the middle factor).
"""

from __future__ import annotations

import os
import socket

from inspector.tls.messages import HandshakeStream, parse_client_hello
from inspector.tls.records import RecordFramer
from tests.scripted_server import ScriptedServer
from tests.tls_servers import _rsa_key

HANDSHAKE, CCS, ALERT, HEARTBEAT = 22, 20, 21, 24


def _record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def _message(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def certificate_der() -> bytes:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = _rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.lab.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


#: RSA_EXPORT suites (RFC 2246 §A.5): the key exchange uses a temporary 512-bit RSA key.
RSA_EXPORT = frozenset({0x0003, 0x0006, 0x0008})


#: The modulus of a 512-bit RSA key (``openssl genrsa 512``; cryptography refuses to make one).
EXPORT_MODULUS = bytes.fromhex(
    "C740652659343E9502C416BD4379D76B8BB14CBD2E5D1AA983A5C348AF112E5B"
    "4F61936784878D74B3A15547892D6A08005615F09BA999ECBF8AFDE1A4245523")


def _vector(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def export_key_exchange(randoms: bytes) -> bytes:
    """ServerKeyExchange of an RSA_EXPORT suite (RFC 2246 §7.4.3): ServerRSAParams, then the
    signature with the certificate's key, PKCS#1 v1.5 type 1 over MD5(randoms + params) ||
    SHA-1(randoms + params), without DigestInfo (RFC 2246 §4.7), as OpenSSL 1.0.1 writes it."""
    import hashlib

    params = _vector(EXPORT_MODULUS) + _vector((65537).to_bytes(3, "big"))
    digest = hashlib.md5(randoms + params).digest() + hashlib.sha1(randoms + params).digest()
    numbers = _rsa_key().private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    k = (n.bit_length() + 7) // 8
    block = b"\x00\x01" + b"\xff" * (k - 3 - len(digest)) + b"\x00" + digest
    signature = pow(int.from_bytes(block, "big"), d, n).to_bytes(k, "big")
    return params + _vector(signature)


class VulnerableTls:
    def __init__(self, *, heartbleed: bool = False, heartbeat_extension: bool = True, ccs: bool = False,
                 robot: bool = False, secure_renegotiation: bool = True, compression: int = 0,
                 honour_fallback: bool = True, suite: int = 0x002F,
                 accepts: dict[int, tuple[int, ...]] | None = None) -> None:
        self.heartbleed, self.heartbeat_extension = heartbleed, heartbeat_extension
        self.ccs, self.robot = ccs, robot
        self.secure_renegotiation, self.compression = secure_renegotiation, compression
        self.honour_fallback, self.suite = honour_fallback, suite
        self.accepts = accepts
        self.cert = certificate_der()
        self.heartbeat_responses = 0

    def serve(self):
        return ScriptedServer(self)

    def __call__(self, conn: socket.socket, stop) -> None:
        conn.settimeout(5)
        framer, stream = RecordFramer(), HandshakeStream()
        hello = None
        while hello is None:
            data = conn.recv(65536)
            if not data:
                return
            for rec in framer.feed(data):
                for msg_type, body in stream.feed(rec.body):
                    if msg_type == 1:
                        hello, client_random = parse_client_hello(body), body[2:34]
        best = max(self.accepts) if self.accepts else 0x0303
        version = min(hello.version, best)
        if 0x5600 in hello.suites and version < best and self.honour_fallback:
            conn.sendall(_record(ALERT, bytes([2, 86]), version))       # inappropriate_fallback
            return
        suite = self.suite
        if self.accepts is not None:
            if version not in self.accepts:
                conn.sendall(_record(ALERT, bytes([2, 70]), version))   # protocol_version
                return
            suite = next((code for code in hello.suites if code in self.accepts[version]), None)
            if suite is None:
                conn.sendall(_record(ALERT, bytes([2, 40]), version))   # handshake_failure
                return
        extensions = b""
        if self.secure_renegotiation:
            extensions += bytes.fromhex("ff01000100")
        if self.heartbeat_extension and version > 0x0300:
            extensions += bytes.fromhex("000f000101")
        server_random = os.urandom(32)
        server_hello = (version.to_bytes(2, "big") + server_random + b"\x00" + suite.to_bytes(2, "big")
                        + bytes([self.compression]) + len(extensions).to_bytes(2, "big") + extensions)
        cert_list = len(self.cert).to_bytes(3, "big") + self.cert
        flight = _message(2, server_hello) + _message(11, len(cert_list).to_bytes(3, "big") + cert_list)
        if suite in RSA_EXPORT:
            flight += _message(12, export_key_exchange(client_random + server_random))
        conn.sendall(_record(HANDSHAKE, flight + _message(14, b""), version))
        self._after(conn, framer, version, hello.version)

    def _after(self, conn, framer, version: int, client_version: int) -> None:
        ccs_seen = False
        while True:
            data = conn.recv(65536)
            if not data:
                return
            for rec in framer.feed(data):
                if rec.content_type == HEARTBEAT:
                    if self.heartbleed and rec.body[:1] == b"\x01":
                        claimed = int.from_bytes(rec.body[1:3], "big")
                        leak = rec.body[3:3 + claimed].ljust(claimed, b"M")   # "memory" after the payload
                        self.heartbeat_responses += 1
                        conn.sendall(_record(HEARTBEAT, b"\x02" + claimed.to_bytes(2, "big") + leak
                                             + os.urandom(16), version))
                    continue                                           # patched: dropped silently
                if rec.content_type == CCS:
                    if self.ccs and not ccs_seen:
                        ccs_seen = True
                        continue
                    alert = 20 if ccs_seen else 10                     # bad_record_mac / unexpected_message
                    conn.sendall(_record(ALERT, bytes([2, alert]), version))
                    return
                if rec.content_type == HANDSHAKE and rec.body[:1] == b"\x10":
                    body = rec.body[4:]
                    if not body:
                        conn.sendall(_record(ALERT, bytes([2, 50]), version))   # decode_error
                        return
                    conn.sendall(_record(ALERT, bytes([2, self._premaster_alert(body[2:], client_version)]),
                                         version))
                    return

    def _premaster_alert(self, ciphertext: bytes, client_version: int) -> int:
        numbers = _rsa_key().private_numbers()
        n, d = numbers.public_numbers.n, numbers.d
        k = (n.bit_length() + 7) // 8
        block = pow(int.from_bytes(ciphertext, "big"), d, n).to_bytes(k, "big")
        well_formed = (block[:2] == b"\x00\x02" and b"\x00" not in block[2:k - 49] and block[k - 49] == 0
                       and block[k - 48:k - 46] == client_version.to_bytes(2, "big"))
        if self.robot and not well_formed:
            return 51                                                  # decrypt_error: the oracle
        return 20                                                      # bad_record_mac
