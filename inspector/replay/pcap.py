"""Streaming reader for pcap and pcapng files: bytes in, (time, link type, frame, length) out.

pcap: the libpcap format (draft-ietf-opsawg-pcap §4-5): a 24-byte file header
whose magic gives the byte order and the time unit (µs or ns), then records
of a 16-byte header and the captured bytes.

pcapng: draft-ietf-opsawg-pcapng §3-4: blocks of ``type(4) length(4) body
length(4)``. Section Header Blocks set the byte order and reset interfaces;
Interface Description Blocks give each interface its link type and time
resolution (``if_tsresol``); Enhanced, Simple and (obsolete) Packet Blocks
carry frames. Every other block is skipped.

The file is read in large blocks and frames are handed out as ``(buffer,
start, end)`` views into the current block, so no per-packet copy is made.
Anything that breaks the format raises :class:`CaptureError`, which says how
many packets were read before it; nothing else escapes.
"""

from __future__ import annotations

import struct

from ..errors import InspectorError

#: Read this much at a time.
BLOCK_SIZE = 1 << 20
#: No real frame is larger (Wireshark's own cap is 256 KiB); beyond it the file is corrupt.
MAX_FRAME = 1 << 18
#: pcapng blocks other than packets (name resolution, statistics) are small; cap them too.
MAX_BLOCK = 1 << 24

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D


class CaptureError(InspectorError):
    """The capture file cannot be read (not a capture, corrupt, or truncated).

    ``packets`` says how many packets were read before the problem;
    ``truncated`` is True when the file simply ended inside a record.
    """

    def __init__(self, message: str, *, packets: int = 0, truncated: bool = False) -> None:
        super().__init__(message)
        self.packets = packets
        self.truncated = truncated


class _Blocks:
    """A file read in large blocks, with a cursor; ``need(n)`` keeps n bytes available."""

    __slots__ = ("stream", "buf", "pos", "consumed", "eof")

    def __init__(self, stream, initial: bytes = b"") -> None:
        self.stream = stream
        self.buf = initial
        self.pos = 0
        self.consumed = 0  #: file offset of buf[0]
        self.eof = False

    def need(self, count: int) -> bool:
        """Make ``count`` bytes from ``pos`` available; False if the file ends first."""
        if self.pos + count <= len(self.buf):
            return True
        if self.eof:
            return False
        parts = [self.buf[self.pos:]]
        have = len(parts[0])
        while have < count:
            try:
                chunk = self.stream.read(max(BLOCK_SIZE, count - have))
            except OSError as exc:
                raise CaptureError(f"cannot read the capture: {exc.strerror or exc}") from None
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self.consumed += self.pos
        self.buf = b"".join(parts)
        self.pos = 0
        return have >= count

    @property
    def offset(self) -> int:
        return self.consumed + self.pos


def open_capture(stream):
    """Read the file header; return ``(format name, packet iterator)`` for pcap or pcapng.

    Raises:
        CaptureError: the stream is empty or is neither pcap nor pcapng.
    """
    blocks = _Blocks(stream)
    if not blocks.need(4):
        size = len(blocks.buf) - blocks.pos
        raise CaptureError("empty file: not a pcap or pcapng capture" if size == 0
                           else f"only {size} bytes: not a pcap or pcapng capture")
    head = blocks.buf[blocks.pos:blocks.pos + 4]
    magic_le = int.from_bytes(head, "little")
    if magic_le == PCAPNG_SHB:
        return "pcapng", _pcapng_packets(blocks)
    if magic_le in (PCAP_MAGIC_US, PCAP_MAGIC_NS) or int.from_bytes(head, "big") in (
            PCAP_MAGIC_US, PCAP_MAGIC_NS):
        return "pcap", _pcap_packets(blocks, *_pcap_header(blocks))
    raise CaptureError(f"not a pcap or pcapng capture (file starts with {bytes(head).hex()})")


def _pcap_header(blocks: _Blocks):
    """(record struct, time scale, link type, size limit, snap length) from the file header."""
    if not blocks.need(24):
        raise CaptureError("truncated pcap file header", truncated=True)
    buf, pos = blocks.buf, blocks.pos
    if int.from_bytes(buf[pos:pos + 4], "little") in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        endian = "<"
    else:
        endian = ">"
    magic, major, _minor, _zone, _sigfigs, snaplen, network = struct.unpack_from(endian + "IHHiIII", buf, pos)
    if major != 2:
        raise CaptureError(f"unsupported pcap version {major}")
    scale = 1e-9 if magic == PCAP_MAGIC_NS else 1e-6
    linktype = network & 0x0FFFFFFF
    limit = max(MAX_FRAME, snaplen if snaplen <= MAX_BLOCK else 0)
    blocks.pos += 24
    return struct.Struct(endian + "IIII").unpack_from, scale, linktype, limit, snaplen


def _pcap_packets(blocks: _Blocks, record, scale: float, linktype: int, limit: int, snaplen: int):
    """Frames of a libpcap file as ``(time, linktype, buffer, start, end, original length)``.

    The original length is what the frame had on the wire; more than ``end - start`` when the
    capture cut it at the snap length."""
    count = 0
    while True:
        buf, pos = blocks.buf, blocks.pos
        size = len(buf)
        # The whole records of this block, handed out without touching ``blocks``; the one that
        # reaches past it (or is too long) goes the careful way below.
        while pos + 16 <= size:
            sec, frac, caplen, origlen = record(buf, pos)
            end = pos + 16 + caplen
            if caplen > limit or end > size:
                break
            count += 1
            yield sec + frac * scale, linktype, buf, pos + 16, end, origlen
            pos = end
        blocks.pos = pos
        if pos + 16 > len(buf):
            if not blocks.need(16):
                left = len(blocks.buf) - blocks.pos
                if left:
                    raise CaptureError(f"truncated: the file ends inside the header of record "
                                       f"{count + 1} ({left} of 16 bytes)", packets=count,
                                       truncated=True)
                return
            buf, pos = blocks.buf, blocks.pos
        sec, frac, caplen, origlen = record(buf, pos)
        if caplen > limit:
            raise CaptureError(f"corrupt: record {count + 1} at offset {blocks.offset} claims "
                               f"{caplen} bytes (snap length {snaplen})", packets=count)
        start = pos + 16
        end = start + caplen
        if end > len(buf):
            if not blocks.need(16 + caplen):
                raise CaptureError(f"truncated: record {count + 1} ends after "
                                   f"{len(blocks.buf) - blocks.pos - 16} of {caplen} bytes",
                                   packets=count, truncated=True)
            buf, pos = blocks.buf, blocks.pos
            start = pos + 16
            end = start + caplen
        blocks.pos = end
        count += 1
        yield sec + frac * scale, linktype, buf, start, end, origlen


#: Packet times must fall between 1970 and 9999 (what a report can print); an interface whose
#: if_tsresol/if_tsoffset put a packet outside is corrupt (pcapng §4.2).
MAX_TIMESTAMP = 253402300799.0
#: |if_tsoffset| beyond this (about 3,000 years) cannot describe a real capture.
MAX_TSOFFSET = 1 << 36


def _tsresol(value: int) -> float:
    """if_tsresol option (pcapng §4.2): power of 10, or of 2 when the high bit is set.

    0 (seconds) is allowed; :func:`_packet_time` then checks each time's range.
    """
    if value & 0x80:
        return 2.0 ** -(value & 0x7F)
    return 10.0 ** -value


def _packet_time(ticks: int, resolution: float, offset: int, count: int) -> float:
    """Seconds since 1970 of a packet, or CaptureError when no date can hold it."""
    when = ticks * resolution + offset
    if not 0.0 <= when <= MAX_TIMESTAMP:
        raise CaptureError(f"corrupt: packet {count} has a timestamp out of range ({when:.4g} s; "
                           "if_tsresol or if_tsoffset of its interface is wrong)", packets=count - 1)
    return when


def _idb(body: bytes, endian: str) -> tuple[int, float, int]:
    """(linktype, seconds per tick, offset seconds) of an Interface Description Block."""
    if len(body) < 8:
        raise ValueError("interface description block shorter than 8 bytes")
    linktype, _reserved, _snaplen = struct.unpack_from(endian + "HHI", body, 0)
    resolution, offset = 1e-6, 0
    pos = 8
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(endian + "HH", body, pos)
        value = body[pos + 4:pos + 4 + length]
        if code == 0:
            break
        if code == 9:
            if length != 1 or len(value) != 1:
                raise ValueError(f"if_tsresol has length {length}, not 1")
            resolution = _tsresol(value[0])
        elif code == 14:
            if length != 8 or len(value) != 8:
                raise ValueError(f"if_tsoffset has length {length}, not 8")
            offset = struct.unpack_from(endian + "q", value, 0)[0]
            if abs(offset) > MAX_TSOFFSET:
                raise ValueError(f"if_tsoffset {offset} s is out of range")
        pos += 4 + length + (-length % 4)
    return linktype, resolution, offset


def _pcapng_packets(blocks: _Blocks):
    """Frames of a pcapng file as ``(time, linktype, buffer, start, end, original length)``."""
    endian = "<"
    interfaces: list[tuple[int, float, int]] = []
    count = 0
    while True:
        if not blocks.need(12):
            left = len(blocks.buf) - blocks.pos
            if left:
                raise CaptureError(f"truncated: the file ends inside a block header after packet "
                                   f"{count} ({left} bytes)", packets=count, truncated=True)
            return
        buf, pos = blocks.buf, blocks.pos
        if int.from_bytes(buf[pos:pos + 4], "little") == PCAPNG_SHB:
            bom = buf[pos + 8:pos + 12]
            if int.from_bytes(bom, "little") == PCAPNG_BOM:
                endian = "<"
            elif int.from_bytes(bom, "big") == PCAPNG_BOM:
                endian = ">"
            else:
                raise CaptureError(f"corrupt: section header at offset {blocks.offset} has no valid "
                                   "byte-order magic", packets=count)
            interfaces = []
        block_type, length = struct.unpack_from(endian + "II", buf, pos)
        if length < 12 or length % 4 or length > MAX_BLOCK:
            raise CaptureError(f"corrupt: block at offset {blocks.offset} has length {length}",
                               packets=count)
        if not blocks.need(length):
            raise CaptureError(f"truncated: block at offset {blocks.offset} ends after "
                               f"{len(blocks.buf) - blocks.pos} of {length} bytes",
                               packets=count, truncated=True)
        buf, pos = blocks.buf, blocks.pos
        if struct.unpack_from(endian + "I", buf, pos + length - 4)[0] != length:
            raise CaptureError(f"corrupt: block at offset {blocks.offset} has mismatched lengths",
                               packets=count)
        blocks.pos = pos + length
        body = pos + 8
        body_end = pos + length - 4
        if block_type == 6:  # Enhanced Packet Block
            if body_end - body < 20:
                raise CaptureError(f"corrupt: enhanced packet block at offset {blocks.offset - length} "
                                   "too short", packets=count)
            iface, high, low, caplen, orig = struct.unpack_from(endian + "IIIII", buf, body)
            if iface >= len(interfaces) or body + 20 + caplen > body_end:
                raise CaptureError(f"corrupt: packet {count + 1} names interface {iface} or overruns "
                                   "its block", packets=count)
            linktype, resolution, offset = interfaces[iface]
            count += 1
            yield (_packet_time((high << 32) | low, resolution, offset, count), linktype, buf,
                   body + 20, body + 20 + caplen, orig)
        elif block_type == 3:  # Simple Packet Block: interface 0, no time
            if not interfaces:
                raise CaptureError("corrupt: simple packet block before any interface", packets=count)
            linktype = interfaces[0][0]
            orig = struct.unpack_from(endian + "I", buf, body)[0]
            count += 1
            yield 0.0, linktype, buf, body + 4, min(body + 4 + orig, body_end), orig
        elif block_type == 2:  # obsolete Packet Block
            if body_end - body < 20:
                raise CaptureError("corrupt: packet block too short", packets=count)
            iface, _drops, high, low, caplen, orig = struct.unpack_from(endian + "HHIIII", buf, body)
            if iface >= len(interfaces) or body + 20 + caplen > body_end:
                raise CaptureError(f"corrupt: packet {count + 1} names interface {iface} or overruns "
                                   "its block", packets=count)
            linktype, resolution, offset = interfaces[iface]
            count += 1
            yield (_packet_time((high << 32) | low, resolution, offset, count), linktype, buf,
                   body + 20, body + 20 + caplen, orig)
        elif block_type == 1:  # Interface Description Block
            try:
                interfaces.append(_idb(bytes(buf[body:body_end]), endian))
            except (ValueError, struct.error) as exc:
                raise CaptureError(f"corrupt: interface description block: {exc}", packets=count) from None
