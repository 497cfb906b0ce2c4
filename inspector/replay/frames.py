"""One captured frame's link, IP and TCP headers, located (RFC 791 §3.1, RFC 8200 §3-4, RFC 9293 §3.1).

:func:`locate` handles every link type and IP form the replay reads; the flow
table's loop decodes the commonest frame (Ethernet, IPv4 without options,
TCP) inline with one ``unpack_from`` (:data:`ETHERNET_IPV4_TCP`) and calls
:func:`locate` for the rest, which gives the same answer for that frame too.
"""

from __future__ import annotations

import struct

#: Ethernet type, IPv4 version/IHL, total length, flags/fragment offset, TTL, protocol, then the
#: addresses and ports (the flow key), the TCP sequence number, data offset and flags: 48 bytes
#: of a 54-byte header.
ETHERNET_IPV4_TCP = struct.Struct("!12xHBxH2xHBB2x12sI4xBB").unpack_from


def locate(buf, s: int, e: int, wire: int, linktype: int, skipped: dict):
    """``(key, address length, ttl, tcp offset, ip end)`` of a TCP frame ``buf[s:e]``, or None
    after counting in ``skipped`` why it is not one (``wire``: its length on the wire)."""
    # Headers missing: "short" if the capture cut the frame (snap length), else "malformed".
    if linktype == 1:
        ip = s + 14
        if ip > e:
            skipped["short" if e - s < wire else "malformed"] += 1
            return None
        etype = (buf[s + 12] << 8) | buf[s + 13]
        while etype == 0x8100 or etype == 0x88A8 or etype == 0x9100:  # 802.1Q, QinQ
            if ip + 4 > e:
                break
            etype = (buf[ip + 2] << 8) | buf[ip + 3]
            ip += 4
        if etype != 0x0800 and etype != 0x86DD:
            skipped["not IP/TCP"] += 1
            return None
    elif linktype == 113 or linktype == 276:  # Linux cooked SLL, SLL2: protocol field
        ip, proto = (s + 16, s + 14) if linktype == 113 else (s + 20, s)
        if ip > e:
            skipped["short" if e - s < wire else "malformed"] += 1
            return None
        if buf[proto:proto + 2] not in (b"\x08\x00", b"\x86\xdd"):
            skipped["not IP/TCP"] += 1
            return None
    elif linktype == 0 or linktype == 108:
        ip = s + 4
    elif linktype in (101, 12, 14, 228, 229):
        ip = s
    else:
        skipped["link type"] += 1
        return None
    if ip + 20 > e:
        skipped["short" if e - s < wire else "malformed"] += 1
        return None
    # -- IP
    version = buf[ip] >> 4
    if version == 4:
        ihl = (buf[ip] & 15) << 2
        if buf[ip + 9] != 6 or ihl < 20:
            skipped["not IP/TCP"] += 1
            return None
        if buf[ip + 6] & 0x3F or buf[ip + 7]:    # MF flag or a fragment offset
            skipped["fragment"] += 1
            return None
        ttl = buf[ip + 8]
        # Offloaded super-frames (TSO on send, GRO on receive) may exceed the MTU, and
        # TSO frames taken before segmentation say 0: the captured bytes decide then.
        total = (buf[ip + 2] << 8) | buf[ip + 3]
        ip_end = ip + total
        if ip_end > e or total == 0:
            ip_end = e
        tcp = ip + ihl
        if tcp + 20 > ip_end:
            skipped["short" if e - s < wire else "malformed"] += 1
            return None
        if ihl == 20:
            key = buf[ip + 12:ip + 24]
        else:
            key = buf[ip + 12:ip + 20] + buf[tcp:tcp + 4]
        alen = 4
    elif version == 6:
        if ip + 40 > e:
            skipped["short" if e - s < wire else "malformed"] += 1
            return None
        nxt = buf[ip + 6]
        ttl = buf[ip + 7]
        total = (buf[ip + 4] << 8) | buf[ip + 5]
        ip_end = ip + 40 + total
        if ip_end > e or total == 0:     # 0: a jumbogram or a GSO super-frame
            ip_end = e
        tcp = ip + 40
        while nxt in (0, 43, 60) and tcp + 8 <= ip_end:
            nxt = buf[tcp]
            tcp += (buf[tcp + 1] + 1) << 3
        if nxt != 6:
            skipped["fragment" if nxt == 44 else "not IP/TCP"] += 1
            return None
        if tcp + 20 > ip_end:
            skipped["short" if e - s < wire else "malformed"] += 1
            return None
        key = buf[ip + 8:ip + 40] + buf[tcp:tcp + 4]
        alen = 16
    else:
        skipped["not IP/TCP"] += 1
        return None
    return key, alen, ttl, tcp, ip_end
