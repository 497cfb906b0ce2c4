"""Captures as a mail host writes them: offloaded super-frames, VLAN tags, Linux cooked headers.

A capture taken on the sending host sees the frames before TCP segmentation
offload cuts them (TSO: one frame of many kilobytes; Linux puts 0 in the IPv4
total length when it exceeds 65535 or leaves the real length); one taken on
the receiving host sees segments the NIC coalesced (GRO). The dialog is
Postfix 3.7's (greeting, EHLO reply, the queue id reply to DATA's end).
"""

from __future__ import annotations

import io
import struct

from inspector.replay.writer import (
    LINKTYPE_ETHERNET,
    CaptureWriter,
    TcpConversation,
)

BODY = b"Subject: offload\r\n\r\n" + b"x" * 4000 + b"\r\n"
DIALOG = [
    (False, b"220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n"),
    (True, b"EHLO client.example.org\r\n"),
    (False, b"250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
            b"250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n"),
    (True, b"MAIL FROM:<alice@example.org> SIZE=4022 BODY=8BITMIME\r\n"),
    (False, b"250 2.1.0 Ok\r\n"),
    (True, b"RCPT TO:<bob@example.org>\r\n"),
    (False, b"250 2.1.5 Ok\r\n"),
    (True, b"RCPT TO:<nobody@example.org>\r\n"),
    (False, b"550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\r\n"),
    (True, b"DATA\r\n"),
    (False, b"354 End data with <CR><LF>.<CR><LF>\r\n"),
    (True, BODY + b".\r\n"),
    (False, b"250 2.0.0 Ok: queued as 4ABC123DEF\r\n"),
    (True, b"QUIT\r\n"),
    (False, b"221 2.0.0 Bye\r\n"),
]


def client_bytes() -> bytes:
    return b"".join(d for c, d in DIALOG if c)


def server_bytes() -> bytes:
    return b"".join(d for c, d in DIALOG if not c)


def write_session(emit, *, client=("192.0.2.10", 41000), server=("192.0.2.25", 25),
                  linktype=LINKTYPE_ETHERNET, mss=65000, ts=1700000000.0) -> None:
    """One whole session; data goes out in frames of up to ``mss`` bytes (a super-frame)."""
    conv = TcpConversation(emit, client, server, linktype=linktype, mss=mss)
    ts = conv.handshake(ts)
    for from_client, data in DIALOG:
        ts = conv.send(ts + 0.001, from_client, data)
    conv.close(ts + 0.001)


def vlan(frame: bytes, tags=(0x8100,)) -> bytes:
    """802.1Q tag(s) after the MAC addresses (QinQ: 0x88A8 outer, 0x8100 inner)."""
    inserted = b"".join(struct.pack("!HH", tpid, 100 + i) for i, tpid in enumerate(tags))
    return frame[:12] + inserted + frame[12:]


def zero_ip_length(frame: bytes, ip: int = 14, mtu: int = 1500) -> bytes:
    """What Linux writes for a TSO frame taken before segmentation: IPv4 total length 0."""
    if len(frame) - ip <= mtu:
        return frame
    return frame[:ip + 2] + b"\0\0" + frame[ip + 4:]


def capture(transform=None, *, linktype=LINKTYPE_ETHERNET, pcapng=False, **session) -> bytes:
    stream = io.BytesIO()
    writer = CaptureWriter(stream, linktype=linktype, pcapng=pcapng)
    emit = writer.write if transform is None else (lambda ts, f: writer.write(ts, transform(f)))
    write_session(emit, linktype=linktype, **session)
    return stream.getvalue()


def pcapng_two_interfaces() -> bytes:
    """A pcapng file with an Ethernet and a Linux cooked (SLL2) interface, one session on each."""
    from inspector.replay.writer import LINKTYPE_LINUX_SLL2

    out = io.BytesIO()
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    out.write(struct.pack("<II", 0x0A0D0D0A, 12 + len(shb)) + shb + struct.pack("<I", 12 + len(shb)))
    for linktype in (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2):
        idb = struct.pack("<HHI", linktype, 0, 262144)
        out.write(struct.pack("<II", 1, 12 + len(idb)) + idb + struct.pack("<I", 12 + len(idb)))
    frames = []
    write_session(lambda ts, f: frames.append((ts, 0, f)), client=("192.0.2.10", 41000))
    write_session(lambda ts, f: frames.append((ts, 1, f)), client=("192.0.2.11", 41001),
                  linktype=LINKTYPE_LINUX_SLL2, ts=1700000000.0005)
    for ts, iface, frame in sorted(frames, key=lambda x: x[0]):
        ticks = round(ts * 1e6)
        pad = -len(frame) % 4
        total = 32 + len(frame) + pad
        out.write(struct.pack("<IIIIIII", 6, total, iface, ticks >> 32, ticks & 0xFFFFFFFF,
                              len(frame), len(frame)) + frame + b"\0" * pad + struct.pack("<I", total))
    return out.getvalue()


def snapped(data: bytes, snap: int = 96) -> bytes:
    """A pcap whose frames were cut at ``snap`` bytes (captured length below the original)."""
    head, pos, out = data[:24], 24, io.BytesIO()
    out.write(head[:16] + struct.pack("<I", snap) + head[20:])
    while pos < len(data):
        sec, frac, caplen, orig = struct.unpack_from("<IIII", data, pos)
        frame = data[pos + 16:pos + 16 + caplen]
        cut = frame[:snap]
        out.write(struct.pack("<IIII", sec, frac, len(cut), orig) + cut)
        pos += 16 + caplen
    return out.getvalue()
