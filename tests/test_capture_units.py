"""Pure parts of replay: TCP reassembly, the client-side command parser, flow classification."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.replay.classify import classify
from inspector.replay.pcap import CaptureError, open_capture
from inspector.replay.tcp import Reassembler
from inspector.replay.writer import CaptureWriter
from inspector.smtp.command_parser import CommandLine, CommandParser, MessageData, SaslLine

STREAM = bytes(range(256)) * 4


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 64), min_size=1, max_size=40), st.randoms(use_true_random=False),
       st.integers(0, 2**32 - 1))
def test_reassembly_any_order_any_duplicates(cuts, rnd, isn):
    """Segments in any order, some twice, across the sequence wrap, give the stream once, in order."""
    segments, offset = [], 0
    for size in cuts:
        if offset >= len(STREAM):
            break
        segments.append((offset, STREAM[offset:offset + size]))
        offset += size
    data = STREAM[:offset]
    shuffled = segments + rnd.sample(segments, k=len(segments) // 3)
    rnd.shuffle(shuffled)
    r = Reassembler()
    r.syn(isn - 1)
    out = b"".join(r.segment((isn + off) & 0xFFFFFFFF, piece) for off, piece in shuffled)
    assert out == data
    assert r.conflicts == 0 and r.gaps == 0 and not r.has_pending


def test_conflicting_retransmission_and_gap_are_counted():
    r = Reassembler()
    r.syn(999)
    assert r.segment(1000, b"hello ") == b"hello "
    assert r.segment(1000, b"HELLO ") == b""
    assert r.conflicts == 1 and "HELLO" in r.conflict_evidence
    assert r.segment(1010, b"world") == b""           # 4 bytes missing before it
    assert r.skip_gap() == b"world"
    assert (r.gaps, r.gap_bytes) == (1, 4)
    assert r.segment(1015, b"!") == b"!"


@pytest.mark.parametrize("sizes", [(1,) * 5000, (700,) * 8, (4096, 10, 3000), (5000, 1, 1), (4095, 1, 1)])
def test_retransmissions_are_compared_with_exactly_the_last_4096_bytes(sizes):
    """A changed retransmission counts as a conflict inside the last TAIL_BYTES delivered, and is
    not compared (not counted) just before them, however the stream was segmented."""
    from inspector.replay.tcp import TAIL_BYTES

    r = Reassembler()
    r.syn(0)
    offset = 0
    for size in sizes:
        assert r.segment(1 + offset, bytes([offset % 251]) * size) == bytes([offset % 251]) * size
        offset += size
    assert r.segment(1 + offset - TAIL_BYTES, b"\xff") == b""             # first byte of the tail
    assert r.conflicts == 1
    assert r.segment(1 + offset - TAIL_BYTES - 1, b"\xff") == b""         # just before it
    assert (r.conflicts, r.retransmissions) == (1, 2)


def test_overlapping_segment_delivers_only_new_bytes():
    r = Reassembler()
    r.syn(0)
    assert r.segment(1, b"abcd") == b"abcd"
    assert r.segment(3, b"cdef") == b"ef"
    assert r.overlaps == 1 and r.conflicts == 0


def _items(parser, chunks):
    items = []
    for chunk in chunks:
        parser.receive(chunk)
        while (item := parser.next_item()) is not None:
            items.append(item)
    return items


CLIENT = (b"EHLO me\r\nMAIL FROM:<a@b>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\nbody\r\n.\r\n"
          b"BDAT 5 LAST\r\nabcdeQUIT\r\n")


def _drive(chunks):
    parser = CommandParser()
    out = []
    for chunk in chunks:
        parser.receive(chunk)
        while (item := parser.next_item()) is not None:
            out.append(item)
            if isinstance(item, CommandLine) and item.verb == "DATA":
                parser.expect_data()  # what the 354 reply does in a session
    verbs = [i.verb for i in out if isinstance(i, CommandLine)]
    body = sum(i.size for i in out if isinstance(i, MessageData))
    ends = sum(1 for i in out if isinstance(i, MessageData) and i.complete)
    return verbs, body, ends


@pytest.mark.parametrize("cut", range(len(CLIENT) + 1))
def test_command_parser_split_at_every_offset(cut):
    whole = _drive([CLIENT])
    assert whole == (["EHLO", "MAIL", "DATA", "BDAT", "QUIT"], 27 + 5, 2)
    assert _drive([CLIENT[:cut], CLIENT[cut:]]) == whole


def test_command_parser_bytewise_and_sasl():
    assert _drive([bytes([b]) for b in CLIENT]) == _drive([CLIENT])
    parser = CommandParser()
    items = _items(parser, [b"AUTH LOGIN\r\n"])
    parser.expect_sasl_response()
    items += _items(parser, [b"dXNlcg==\r\n"])
    assert isinstance(items[-1], SaslLine) and items[-1].raw == b"dXNlcg==\r\n"
    assert isinstance(_items(parser, [b"QUIT\r\n"])[0], CommandLine)


@pytest.mark.parametrize("a, b, ports, verdict, a_is_client", [
    (b"", b"220 mx ESMTP\r\n", (40000, 25), None, True),
    (b"EHLO x\r\n", b"220 mx ESMTP\r\n", (40000, 2525), "smtp", True),
    (b"USER bob\r\n", b"220 ftp ready\r\n", (40000, 21), "other", True),
    (b"GET / HTTP/1.1\r\n", b"", (40000, 80), "other", True),
    (b"\x16\x03\x01\x00\x10", b"", (40000, 465), "smtp", True),
    (b"\x16\x03\x01\x00\x10", b"", (40000, 443), "other", True),
    (b"220 mx ESMTP\r\n", b"HELO x\r\n", (25, 40000), "smtp", False),
    (b"EH", b"", (40000, 25), None, True),
])
def test_classify(a, b, ports, verdict, a_is_client):
    got = classify(a, b, ports[0], ports[1], False)
    assert got[0] == verdict
    if verdict == "smtp":
        assert got[1] == a_is_client


def test_pcapng_truncated_and_corrupt_blocks():
    stream = io.BytesIO()
    writer = CaptureWriter(stream, pcapng=True)
    writer.write(1.5, b"\x00" * 60)
    data = stream.getvalue()
    _, packets = open_capture(io.BytesIO(data))
    assert [round(p[0], 6) for p in packets] == [1.5]
    with pytest.raises(CaptureError, match="truncated"):
        list(open_capture(io.BytesIO(data[:-10]))[1])
    broken = bytearray(data)
    broken[-4] ^= 0xFF  # the trailing length no longer matches
    with pytest.raises(CaptureError, match="mismatched"):
        list(open_capture(io.BytesIO(bytes(broken)))[1])
