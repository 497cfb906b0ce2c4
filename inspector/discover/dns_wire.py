"""A and AAAA questions and their answers as bytes, without dnspython's message objects (RFC 1035 §4).

``scan`` asks one address question per target; building and reading it with
dnspython's ``Message`` costs five times the UDP round trip on loopback. The
question is the one :class:`inspector.discover.dns.DnsClient` sends (RD, AD
(RFC 6840 §5.7), EDNS0 with DO (RFC 3225), 1232-byte payload); the answer is
read for its header (id, QR, TC, AD, RCODE) and its answer records of the asked
type, whatever their owner (a CNAME chain's end, as ``DnsClient`` reads it).
Pure: bytes in, values out. Anything this reader does not handle (truncation,
an extended RCODE, a name that is not ASCII) is ``None``: ask dnspython.
"""

from __future__ import annotations

import ipaddress
import struct

from ..frozen import frozen

TYPES = {"A": (1, 4), "AAAA": (28, 16)}
RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
          "NXRRSET", "NOTAUTH", "NOTZONE")
_QR, _TC, _RD, _AD = 0x8000, 0x0200, 0x0100, 0x0020
_OPT = 41
_PAYLOAD = 1232
_DO = 0x8000


class NotOurs(ValueError):
    """A datagram that is not the reply to our question (another id, or not a response)."""


@frozen
class AddressRecord:
    """One A or AAAA record's address, read as dnspython's rdata is (``.address``, ``to_text()``)."""

    address: str

    def to_text(self) -> str:
        return self.address


@frozen
class AddressReply:
    rcode: str
    authenticated: bool                   #: the AD flag (RFC 4035 §3.2.3)
    records: tuple[AddressRecord, ...]


def encode_question(name: str, rdtype: str, query_id: int) -> bytes | None:
    """The query's wire form; None when ``name`` is not a plain ASCII host name."""
    labels = name.rstrip(".").encode("ascii", "replace").split(b".") if name.isascii() else None
    if not labels or rdtype not in TYPES or any(not 0 < len(label) < 64 for label in labels):
        return None
    qname = b"".join(bytes((len(label),)) + label for label in labels) + b"\0"
    if len(qname) > 255:
        return None
    header = struct.pack("!HHHHHH", query_id, _RD | _AD, 1, 0, 0, 1)
    opt = b"\0" + struct.pack("!HHIH", _OPT, _PAYLOAD, _DO, 0)
    return header + qname + struct.pack("!HH", TYPES[rdtype][0], 1) + opt


def _skip_name(data: bytes, pos: int) -> int:
    """The offset after the (possibly compressed, RFC 1035 §4.1.4) name at ``pos``."""
    while True:
        if pos >= len(data):
            raise ValueError("name runs past the end of the message")
        length = data[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:
            if pos + 2 > len(data):
                raise ValueError("compression pointer cut short")
            return pos + 2
        if length & 0xC0:
            raise ValueError("unknown label type")
        pos += 1 + length


def decode_reply(data: bytes, query_id: int, rdtype: str) -> AddressReply | None:
    """The reply to ``encode_question(…, query_id)``; None to leave to dnspython. ValueError: malformed.

    A datagram with another id, or that is not a response, is not ours: :class:`NotOurs`
    (the caller keeps waiting, as dnspython's ``ignore_unexpected`` does).
    """
    if len(data) < 12:
        raise ValueError("shorter than a DNS header")
    rid, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHHH", data)
    if rid != query_id or not flags & _QR:
        raise NotOurs("not the reply to this question")
    if flags & _TC:
        return None                       # truncated: dnspython retries over TCP (RFC 7766 §5)
    pos = 12
    for _ in range(qdcount):
        pos = _skip_name(data, pos) + 4
    wanted, size = TYPES[rdtype]
    records = []
    for index in range(ancount + nscount + arcount):
        pos = _skip_name(data, pos)
        if pos + 10 > len(data):
            raise ValueError("record header cut short")
        kind, _klass, ttl, length = struct.unpack_from("!HHIH", data, pos)
        pos += 10
        if pos + length > len(data):
            raise ValueError("record data cut short")
        if index < ancount and kind == wanted:
            if length != size:
                raise ValueError(f"{rdtype} record of {length} bytes")
            raw = data[pos:pos + length]
            records.append(AddressRecord(".".join(map(str, raw)) if size == 4 else
                                         ipaddress.IPv6Address(raw).compressed))
        elif index >= ancount + nscount and kind == _OPT and ttl >> 24:
            return None                   # an extended RCODE (RFC 6891 §6.1.3): dnspython names it
        pos += length
    if pos != len(data):
        raise ValueError("bytes after the last record")
    rcode = flags & 0x000F
    if rcode >= len(RCODES):
        return None
    return AddressReply(RCODES[rcode], bool(flags & _AD), tuple(records))
