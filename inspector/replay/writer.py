"""Writing captures: pcap/pcapng files and TCP conversations as correct frames.

Used by scripts/make-captures (the sample captures), bench/ (a generated
million-packet capture) and the tests (reordered, split and re-encapsulated
copies of a session). The frames are what a kernel would put on the wire:
link header, IPv4 or IPv6 header with checksum, TCP header with consistent
sequence and acknowledgement numbers (RFC 9293 §3.4) and, optionally, the
TCP checksum.
"""

from __future__ import annotations

import ipaddress
import struct

LINKTYPE_NULL = 0        #: BSD loopback: 4-byte address family in host byte order
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101       #: bare IPv4 or IPv6 packet
LINKTYPE_LOOP = 108      #: OpenBSD loopback: address family in network byte order
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def _checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class CaptureWriter:
    """Write frames to a pcap (µs or ns) or a pcapng file, one link type per file."""

    def __init__(self, stream, *, linktype: int = LINKTYPE_ETHERNET, pcapng: bool = False,
                 nanoseconds: bool = False, snaplen: int = 262144) -> None:
        self.stream = stream
        self.linktype = linktype
        self.pcapng = pcapng
        self.nanoseconds = nanoseconds
        self.packets = 0
        if pcapng:
            shb_body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
            stream.write(struct.pack("<II", 0x0A0D0D0A, 12 + len(shb_body)) + shb_body
                         + struct.pack("<I", 12 + len(shb_body)))
            options = b""
            if nanoseconds:
                options = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)
            idb_body = struct.pack("<HHI", linktype, 0, snaplen) + options
            stream.write(struct.pack("<II", 1, 12 + len(idb_body)) + idb_body
                         + struct.pack("<I", 12 + len(idb_body)))
        else:
            magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
            stream.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))

    def write(self, ts: float, frame: bytes) -> None:
        self.packets += 1
        if self.pcapng:
            ticks = round(ts * (1e9 if self.nanoseconds else 1e6))
            pad = -len(frame) % 4
            total = 32 + len(frame) + pad
            self.stream.write(struct.pack("<IIIIIII", 6, total, 0, ticks >> 32, ticks & 0xFFFFFFFF,
                                          len(frame), len(frame)) + frame + b"\0" * pad
                              + struct.pack("<I", total))
            return
        sec = int(ts)
        frac = round((ts - sec) * (1e9 if self.nanoseconds else 1e6))
        self.stream.write(struct.pack("<IIII", sec, frac, len(frame), len(frame)) + frame)


def link_header(linktype: int, ipv6: bool, from_client: bool) -> bytes:
    """The link-layer header for one frame (tcpdump's conventions)."""
    ethertype = 0x86DD if ipv6 else 0x0800
    if linktype == LINKTYPE_ETHERNET:
        client, server = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
        src, dst = (client, server) if from_client else (server, client)
        return dst + src + struct.pack("!H", ethertype)
    if linktype == LINKTYPE_LINUX_SLL:
        return struct.pack("!HHH8sH", 4 if from_client else 0, 1, 6, b"\x02\0\0\0\0\x01\0\0", ethertype)
    if linktype == LINKTYPE_LINUX_SLL2:
        return struct.pack("!HHIHBB8s", ethertype, 0, 1, 1, 4 if from_client else 0, 6,
                           b"\x02\0\0\0\0\x01\0\0")
    if linktype == LINKTYPE_NULL:
        return struct.pack("<I", 30 if ipv6 else 2)
    if linktype == LINKTYPE_LOOP:
        return struct.pack("!I", 24 if ipv6 else 2)
    if linktype == LINKTYPE_RAW:
        return b""
    raise ValueError(f"no writer for link type {linktype}")


class TcpConversation:
    """Frames of one TCP connection, handed to ``emit(ts, frame)`` in the order made.

    Sequence numbers follow RFC 9293 §3.4: SYN and FIN take one number each.
    ``send`` cuts data into ``mss``-sized segments and, unless ``ack=False``,
    lets the other side acknowledge them.
    """

    def __init__(self, emit, client: tuple[str, int], server: tuple[str, int], *,
                 linktype: int = LINKTYPE_ETHERNET, client_ttl: int = 64, server_ttl: int = 64,
                 client_isn: int = 0x10000000, server_isn: int = 0x20000000, mss: int = 1460,
                 checksums: bool = True) -> None:
        self.emit = emit
        self.linktype = linktype
        c_ip, s_ip = ipaddress.ip_address(client[0]), ipaddress.ip_address(server[0])
        self.ipv6 = c_ip.version == 6
        self.addr = {True: (c_ip.packed, s_ip.packed, client[1], server[1]),
                     False: (s_ip.packed, c_ip.packed, server[1], client[1])}
        self.ttl = {True: client_ttl, False: server_ttl}
        self.seq = {True: client_isn, False: server_isn}
        self.acked = {True: 0, False: 0}
        self.mss = mss
        self.checksums = checksums
        self.ip_id = {True: 1, False: 1}
        self.links = {True: link_header(linktype, self.ipv6, True),
                      False: link_header(linktype, self.ipv6, False)}

    def frame(self, from_client: bool, flags: int, payload: bytes = b"", *, seq: int | None = None,
              ack: int | None = None, ttl: int | None = None, window: int = 65535) -> bytes:
        src, dst, sport, dport = self.addr[from_client]
        seq = self.seq[from_client] if seq is None else seq
        ack = self.seq[not from_client] if ack is None else ack
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                          ack & 0xFFFFFFFF if flags & ACK else 0, 5 << 4, flags, window, 0, 0)
        if self.checksums:
            proto_len = len(tcp) + len(payload)
            if self.ipv6:
                pseudo = src + dst + struct.pack("!IxxxB", proto_len, 6)
            else:
                pseudo = src + dst + struct.pack("!xBH", 6, proto_len)
            tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp + payload)) + tcp[18:]
        ttl = self.ttl[from_client] if ttl is None else ttl
        length = len(tcp) + len(payload)
        if self.ipv6:
            ip = struct.pack("!IHBB", 6 << 28, length, 6, ttl) + src + dst
        else:
            ident = self.ip_id[from_client]
            self.ip_id[from_client] = (ident + 1) & 0xFFFF
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, ident, 0x4000, ttl, 6, 0, src, dst)
            if self.checksums:
                ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        return self.links[from_client] + ip + tcp + payload

    def handshake(self, ts: float, rtt: float = 0.0001) -> float:
        self.emit(ts, self.frame(True, SYN))
        self.seq[True] += 1
        self.emit(ts + rtt, self.frame(False, SYN | ACK))
        self.seq[False] += 1
        self.emit(ts + 2 * rtt, self.frame(True, ACK))
        return ts + 2 * rtt

    def send(self, ts: float, from_client: bool, data: bytes, *, ack: bool = True,
             step: float = 0.00001) -> float:
        """Data from one side, cut at ``mss``; returns the time of the last frame."""
        for offset in range(0, len(data), self.mss):
            piece = data[offset:offset + self.mss]
            self.emit(ts, self.frame(from_client, PSH | ACK, piece))
            self.seq[from_client] += len(piece)
            ts += step
        if ack and data:
            self.emit(ts, self.frame(not from_client, ACK))
        return ts

    def close(self, ts: float, from_client: bool = True, step: float = 0.0001) -> float:
        """FIN from one side, FIN-ACK from the other, final ACK (RFC 9293 §3.6)."""
        self.emit(ts, self.frame(from_client, FIN | ACK))
        self.seq[from_client] += 1
        self.emit(ts + step, self.frame(not from_client, FIN | ACK))
        self.seq[not from_client] += 1
        self.emit(ts + 2 * step, self.frame(from_client, ACK))
        return ts + 2 * step

    def reset(self, ts: float, from_client: bool, *, ttl: int | None = None) -> None:
        """A RST in window (what an injecting middlebox sends, RFC 9293 §3.5.3)."""
        self.emit(ts, self.frame(from_client, RST | ACK, ttl=ttl))
