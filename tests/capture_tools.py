"""Helpers for the replay tests: read a sample capture's segments back, write variants of it."""

from __future__ import annotations

import io
import pathlib
import struct

from inspector.replay.pcap import open_capture
from inspector.replay.writer import ACK, PSH, CaptureWriter, TcpConversation

CAPTURES = pathlib.Path(__file__).resolve().parent.parent / "captures"


def server_port(path) -> int:
    """The destination port of the capture's first frame (the client's SYN)."""
    data = pathlib.Path(path).read_bytes()
    _, packets = open_capture(io.BytesIO(data))
    for _ts, _linktype, buf, start, _end, _orig in packets:
        return struct.unpack("!H", bytes(buf[start + 36:start + 38]))[0]
    raise ValueError("empty capture")


def segments(path) -> list[tuple[float, bool, int, int, bytes]]:
    """(ts, from_client, flags, ttl, payload) of each frame of an Ethernet/IPv4 capture.

    The client is the side that sent the first SYN. Written with the reader
    under test, checked against the writer's fixed layout (no options).
    """
    data = pathlib.Path(path).read_bytes()
    _, packets = open_capture(io.BytesIO(data))
    out, client = [], None
    for ts, _linktype, buf, start, end, _orig in packets:
        frame = bytes(buf[start:end])
        ip = frame[14:]
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[20:total]
        sport = struct.unpack("!H", tcp[0:2])[0]
        flags = tcp[13]
        if client is None:
            client = sport
        if flags & 0x02 and not flags & 0x10:
            client = sport
        out.append((ts, sport == client, flags, ip[8], tcp[(tcp[12] >> 4) * 4:]))
    return out


def rewrite(path, *, linktype: int = 1, pcapng: bool = False, nanoseconds: bool = False,
            ipv6: bool = False, split: int | None = None, reverse: bool = False,
            duplicate: bool = False) -> bytes:
    """The capture's session written again, optionally cut, reordered and retransmitted.

    Every data frame's payload is cut into pieces of ``split`` bytes; with
    ``reverse`` the pieces of one frame go out last first (out of order);
    with ``duplicate`` each piece is sent twice (retransmissions). Frames of
    the two directions keep their order, so the dialog stays causal.
    """
    stream = io.BytesIO()
    writer = CaptureWriter(stream, linktype=linktype, pcapng=pcapng, nanoseconds=nanoseconds)
    port = server_port(path)
    client, server = (("2001:db8::1", 40000), ("2001:db8::25", port)) if ipv6 else \
        (("127.0.0.1", 40000), ("127.0.0.1", port))
    conv = None
    connections = 0
    for ts, from_client, flags, ttl, payload in segments(path):
        if flags & 0x02 and not flags & 0x10:  # a new connection: a new client port
            conv = TcpConversation(writer.write, (client[0], client[1] + connections), server,
                                   linktype=linktype)
            connections += 1
        if flags & 0x02:  # SYN, SYN-ACK
            conv.emit(ts, conv.frame(from_client, flags))
            conv.seq[from_client] += 1
            continue
        if flags & 0x04:
            conv.emit(ts, conv.frame(from_client, flags, ttl=ttl))
            continue
        if not payload:
            conv.emit(ts, conv.frame(from_client, flags))
            if flags & 0x01:
                conv.seq[from_client] += 1
            continue
        base = conv.seq[from_client]
        size = split or len(payload)
        pieces = [(base + i, payload[i:i + size]) for i in range(0, len(payload), size)]
        if reverse:
            pieces.reverse()
        for seq, piece in pieces:
            for _ in range(2 if duplicate else 1):
                conv.emit(ts, conv.frame(from_client, PSH | ACK, piece, seq=seq))
        conv.seq[from_client] = base + len(payload)
        if flags & 0x01:
            conv.emit(ts, conv.frame(from_client, 0x11))
            conv.seq[from_client] += 1
    return stream.getvalue()
