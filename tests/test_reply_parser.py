"""ReplyParser: bytes in, Reply objects out (RFC 5321 §4.2), h11 style.

Expectations are derived from the reply grammar of RFC 5321 §4.2::

    Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
                     Reply-code [ SP textstring ] CRLF
    Reply-code     = %x32-35 %x30-35 %x30-39

plus the 512-octet line limit of §4.5.3.1.5 and the RFC 3463 rule that the
class digit of an enhanced status code equals the first digit of the reply.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from inspector.errors import InspectorError, RemoteProtocolError
from inspector.render import json_output
from inspector.smtp.reply import (
    HARD_LINE_LIMIT,
    HARD_LINES_PER_REPLY,
    Reply,
    ReplyParser,
)


def parse_all(data: bytes, **limits) -> list[Reply]:
    return ReplyParser(**limits).feed(data)


def parse_chunks(chunks, **limits) -> list[Reply]:
    parser = ReplyParser(**limits)
    replies: list[Reply] = []
    for chunk in chunks:
        replies += parser.feed(chunk)
    return replies


def kinds(reply: Reply) -> list[tuple[str, int]]:
    return [(a.kind, a.line_index) for a in reply.anomalies]


# --------------------------------------------------------------- well-formed table

WELL_FORMED = [
    # raw, code, enhanced, texts, separators
    pytest.param(b"220 mail.example.com ESMTP Postfix\r\n", 220, None,
                 ("mail.example.com ESMTP Postfix",), (b" ",), id="single-line"),
    pytest.param(b"250-mail.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n", 250, None,
                 ("mail.example.com", "PIPELINING", "8BITMIME"), (b"-", b"-", b" "),
                 id="multi-line"),
    pytest.param(b"250\r\n", 250, None, ("",), (b"",), id="code-only"),
    pytest.param(b"250-first\r\n250\r\n", 250, None, ("first", ""), (b"-", b""),
                 id="multi-line-code-only-final"),
    pytest.param(b"250 \r\n", 250, None, ("",), (b" ",), id="empty-text"),
    pytest.param(b"250-\r\n250 end\r\n", 250, None, ("", "end"), (b"-", b" "),
                 id="empty-continuation-text"),
    pytest.param(b"250 2.1.0 Sender ok\r\n", 250, "2.1.0", ("2.1.0 Sender ok",), (b" ",),
                 id="enhanced"),
    pytest.param(b"550 5.7.1\r\n", 550, "5.7.1", ("5.7.1",), (b" ",),
                 id="enhanced-alone"),
    pytest.param(b"451 4.123.456 try later\r\n", 451, "4.123.456",
                 ("4.123.456 try later",), (b" ",), id="enhanced-three-digit-parts"),
    pytest.param(b"550-5.1.1 no such user\r\n550 5.1.1 see https://example.com\r\n", 550,
                 "5.1.1", ("5.1.1 no such user", "5.1.1 see https://example.com"),
                 (b"-", b" "), id="enhanced-multi-line"),
    pytest.param(b"250 5.1.1x\r\n", 250, None, ("5.1.1x",), (b" ",),
                 id="not-enhanced-no-space-after"),
    pytest.param(b"250 2.1\r\n", 250, None, ("2.1",), (b" ",), id="not-enhanced-two-parts"),
    pytest.param(b"250 2.1234.5\r\n", 250, None, ("2.1234.5",), (b" ",),
                 id="not-enhanced-four-digit-subject"),
    pytest.param("220 smtp.例え.jp Grüße ✉\r\n".encode(), 220, None,
                 ("smtp.例え.jp Grüße ✉",), (b" ",), id="utf-8-text"),
    pytest.param(b"554 no service here\r\n", 554, None, ("no service here",), (b" ",),
                 id="554"),
    pytest.param(b"354 End data with <CR><LF>.<CR><LF>\r\n", 354, None,
                 ("End data with <CR><LF>.<CR><LF>",), (b" ",), id="354"),
    pytest.param(b"250 tab\there\r\n", 250, None, ("tab\there",), (b" ",), id="tab-in-text"),
]


@pytest.mark.parametrize("raw, code, enhanced, texts, separators", WELL_FORMED)
def test_well_formed_reply(raw, code, enhanced, texts, separators):
    parser = ReplyParser()
    replies = parser.feed(raw)
    assert len(replies) == 1
    reply = replies[0]
    assert reply.code == code
    assert reply.enhanced_code == enhanced
    assert reply.texts == texts
    assert reply.text == "\n".join(texts)
    assert tuple(line.separator for line in reply.lines) == separators
    assert all(line.terminator == b"\r\n" for line in reply.lines)
    assert all(line.code == raw[:3] for line in reply.lines)
    assert reply.raw == raw
    assert b"".join(line.raw for line in reply.lines) == raw
    assert reply.anomalies == ()
    assert parser.buffered == b""
    assert reply.is_positive == (200 <= code < 400)


def test_non_utf8_text_keeps_raw_bytes():
    raw = b"220 caf\xe9 \xff\r\n"
    (reply,) = parse_all(raw)
    assert reply.raw == raw
    assert reply.code == 220
    # Undecodable bytes are shown, not dropped and not replaced by U+FFFD.
    assert "\ufffd" not in reply.text
    assert "caf" in reply.text and "xe9" in reply.text and "xff" in reply.text


def test_several_replies_in_one_chunk_come_out_in_order():
    data = b"250 2.1.0 Ok\r\n250-a\r\n250 b\r\n550 5.1.1 no\r\n354 go ahead\r\n"
    replies = parse_all(data)
    assert [r.code for r in replies] == [250, 250, 550, 354]
    assert [len(r.lines) for r in replies] == [1, 2, 1, 1]
    assert b"".join(r.raw for r in replies) == data


def test_receive_buffers_and_next_reply_parses_one_at_a_time():
    parser = ReplyParser()
    parser.receive(b"250 one\r\n251 two\r\n252-thr")
    assert parser.buffered == b"250 one\r\n251 two\r\n252-thr"
    first = parser.next_reply()
    second = parser.next_reply()
    assert (first.code, second.code) == (250, 251)
    assert parser.next_reply() is None
    assert parser.buffered == b"252-thr"
    parser.receive(b"ee\r\n252 end\r\n")
    third = parser.next_reply()
    assert third.code == 252 and third.texts == ("three", "end")
    assert parser.next_reply() is None
    assert parser.buffered == b""


def test_reply_to_json_shape():
    (reply,) = parse_all(b"550-5.7.1 a\n550 b\r\n")
    data = json_output.reply(reply)
    assert data["code"] == 550
    assert data["enhanced_code"] == "5.7.1"
    assert data["lines"] == ["550-5.7.1 a\n", "550 b\r\n"]
    assert data["anomalies"] == [{"kind": "bare-lf", "line": 1,
                                  "evidence": reply.anomalies[0].evidence}]


# ------------------------------------------------------------------- anomalies

ANOMALIES = [
    # raw, expected (kind, line_index) in any order, expected code of the reply
    pytest.param(b"250 ok\n", [("bare-lf", 0)], 250, id="bare-lf"),
    pytest.param(b"250-a\n250 b\r\n", [("bare-lf", 0)], 250, id="bare-lf-continuation"),
    pytest.param(b"250 a\rb\r\n", [("bare-cr", 0)], 250, id="bare-cr"),
    pytest.param(b"250 a\r\r\n", [("bare-cr", 0)], 250, id="cr-cr-lf"),
    pytest.param(b"250-a\r\n251 b\r\n", [("code-mismatch", 1)], 251, id="code-mismatch"),
    pytest.param(b"250-a\r\n250-b\r\n550 c\r\n", [("code-mismatch", 2)], 550,
                 id="code-mismatch-last"),
    pytest.param(b"abc hello\r\n", [("non-digit-code", 0)], None, id="non-digit-code"),
    pytest.param(b"\xff\xfe\x00\x01\x02\r\n", [("non-digit-code", 0), ("bad-separator", 0)],
                 None, id="binary-garbage"),
    pytest.param(b"25\r\n", [("non-digit-code", 0)], None, id="two-digit-code"),
    pytest.param(b"\r\n", [("non-digit-code", 0)], None, id="empty-line"),
    pytest.param(b"650 x\r\n", [("code-out-of-range", 0)], 650, id="first-digit-6"),
    pytest.param(b"150 x\r\n", [("code-out-of-range", 0)], 150, id="first-digit-1"),
    pytest.param(b"050 x\r\n", [("code-out-of-range", 0)], 50, id="first-digit-0"),
    pytest.param(b"299 x\r\n", [("code-out-of-range", 0)], 299, id="second-digit-9"),
    pytest.param(b"260 x\r\n", [("code-out-of-range", 0)], 260, id="second-digit-6"),
    pytest.param(b"250xhello\r\n", [("bad-separator", 0)], 250, id="bad-separator"),
    pytest.param(b"250\thello\r\n", [("bad-separator", 0)], 250, id="tab-separator"),
    pytest.param(b"250 5.7.1 x\r\n", [("enhanced-class-mismatch", 0)], 250,
                 id="enhanced-class-mismatch"),
    pytest.param(b"550 2.0.0 x\r\n", [("enhanced-class-mismatch", 0)], 550,
                 id="enhanced-class-mismatch-5xx"),
    pytest.param(b"250-ok\r\n250 4.0.0 x\r\n", [("enhanced-class-mismatch", 1)], 250,
                 id="enhanced-class-mismatch-line-2"),
    pytest.param(b"250-a\n251 b\rc\r\n",
                 [("bare-lf", 0), ("bare-cr", 1), ("code-mismatch", 1)], 251,
                 id="several"),
]


@pytest.mark.parametrize("raw, expected, code", ANOMALIES)
def test_anomalies_are_recorded_not_raised(raw, expected, code):
    parser = ReplyParser()
    replies = parser.feed(raw)
    assert len(replies) == 1
    reply = replies[0]
    assert sorted(kinds(reply)) == sorted(expected)
    assert reply.code == code
    assert reply.raw == raw
    assert parser.buffered == b""
    for anomaly in reply.anomalies:
        assert anomaly.evidence
        assert f"line {anomaly.line_index + 1}" in anomaly.describe()


def test_bad_separator_keeps_the_separator_byte():
    (reply,) = parse_all(b"250xhello\r\n")
    assert reply.lines[0].separator == b"x"
    assert reply.lines[0].code == b"250"


def test_bare_lf_terminator_recorded():
    (reply,) = parse_all(b"250-a\n250 b\r\n")
    assert [line.terminator for line in reply.lines] == [b"\n", b"\r\n"]
    assert reply.texts == ("a", "b")


@pytest.mark.parametrize("length, too_long", [(511, False), (512, False), (513, True),
                                              (600, True)])
def test_line_length_rfc_limit_is_an_anomaly(length, too_long):
    # 512 octets *including* CRLF are allowed (RFC 5321 §4.5.3.1.5).
    raw = b"250 " + b"a" * (length - 6) + b"\r\n"
    assert len(raw) == length
    (reply,) = parse_all(raw)
    assert (("line-too-long", 0) in kinds(reply)) == too_long
    assert reply.code == 250
    assert reply.texts == ("a" * (length - 6),)
    assert reply.raw == raw


def test_anomalies_do_not_leak_into_the_next_reply():
    replies = parse_all(b"250 a\n250 b\r\n")
    assert kinds(replies[0]) == [("bare-lf", 0)]
    assert replies[1].anomalies == ()


def test_code_of_final_line_is_the_reply_code():
    (reply,) = parse_all(b"250-a\r\n251 b\r\n")
    assert reply.code == 251
    (reply,) = parse_all(b"250-a\r\nxyz b\r\n")
    assert reply.code is None


# -------------------------------------------------------- split at every offset

GREETING = b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n"
EHLO_REPLY = (
    b"250-mail.example.com\r\n"
    b"250-PIPELINING\r\n"
    b"250-SIZE 10240000\r\n"
    b"250-VRFY\r\n"
    b"250-ETRN\r\n"
    b"250-STARTTLS\r\n"
    b"250-ENHANCEDSTATUSCODES\r\n"
    b"250-8BITMIME\r\n"
    b"250-DSN\r\n"
    b"250-SMTPUTF8\r\n"
    b"250 CHUNKING\r\n"
)
STARTTLS_READY = b"220 2.0.0 Ready to start TLS\r\n"
ANOMALOUS = b"550-5.7.1 first\n550-x\ry\r\n551 2.0.0 end\r\n"
STREAM = GREETING + EHLO_REPLY + STARTTLS_READY + ANOMALOUS


def test_stream_parsed_whole_matches_its_parts():
    replies = parse_all(STREAM)
    assert [r.raw for r in replies] == [GREETING, EHLO_REPLY, STARTTLS_READY, ANOMALOUS]
    assert [r.code for r in replies] == [220, 250, 220, 551]
    assert len(replies[1].lines) == 11
    assert replies[1].texts[2] == "SIZE 10240000"
    assert replies[2].enhanced_code == "2.0.0"
    assert [r.anomalies for r in replies[:3]] == [(), (), ()]
    assert sorted(kinds(replies[3])) == sorted([
        ("bare-lf", 0), ("bare-cr", 1), ("code-mismatch", 2), ("enhanced-class-mismatch", 2),
    ])


def test_split_at_every_offset():
    whole = parse_all(STREAM)
    for i in range(len(STREAM) + 1):
        assert parse_chunks([STREAM[:i], STREAM[i:]]) == whole, f"split at {i}"


def test_one_byte_at_a_time():
    whole = parse_all(STREAM)
    parser = ReplyParser()
    replies = []
    completed_at = []
    for i in range(len(STREAM)):
        new = parser.feed(STREAM[i:i + 1])
        replies += new
        completed_at += [i] * len(new)
    assert replies == whole
    # Each reply completes exactly on the byte that ends it, not later.
    ends = []
    offset = 0
    for reply in whole:
        offset += len(reply.raw)
        ends.append(offset - 1)
    assert completed_at == ends


def test_every_two_cut_split_of_a_short_stream():
    short = b"220-a\r\n220 b\n250 c\r\n"
    whole = parse_all(short)
    assert [r.code for r in whole] == [220, 250]
    n = len(short)
    for i in range(n + 1):
        for j in range(i, n + 1):
            got = parse_chunks([short[:i], short[i:j], short[j:]])
            assert got == whole, f"cuts at {i}, {j}"


def test_empty_feed_is_harmless():
    parser = ReplyParser()
    assert parser.feed(b"") == []
    assert parser.feed(b"250 ok") == []
    assert parser.feed(b"") == []
    assert [r.code for r in parser.feed(b"\r\n")] == [250]


# -------------------------------------------------------------------- hard caps

@pytest.mark.parametrize("cap", [100, HARD_LINE_LIMIT])
def test_line_without_lf_longer_than_cap_raises(cap):
    parser = ReplyParser(max_line_length=cap)
    # Exactly ``cap`` bytes without LF may still become a legal line.
    assert parser.feed(b"250 " + b"a" * (cap - 4)) == []
    with pytest.raises(RemoteProtocolError) as info:
        parser.feed(b"a")
    assert str(cap) in str(info.value)
    assert "line" in str(info.value)


@pytest.mark.parametrize("cap", [100, HARD_LINE_LIMIT])
def test_complete_line_longer_than_cap_raises(cap):
    ok = b"250 " + b"a" * (cap - 6) + b"\r\n"
    assert len(ok) == cap
    assert [r.raw for r in ReplyParser(max_line_length=cap).feed(ok)] == [ok]
    too_long = b"250 " + b"a" * (cap - 5) + b"\r\n"
    with pytest.raises(RemoteProtocolError) as info:
        ReplyParser(max_line_length=cap).feed(too_long)
    assert str(cap) in str(info.value)


def test_line_cap_is_per_line_not_per_buffer():
    # Many short lines in one chunk, well past the cap in total, are fine.
    data = b"".join(b"250-line %d\r\n" % i for i in range(50)) + b"250 end\r\n"
    assert len(data) > 100
    (reply,) = ReplyParser(max_line_length=100).feed(data)
    assert len(reply.lines) == 51


@pytest.mark.parametrize("cap", [5, HARD_LINES_PER_REPLY])
def test_too_many_lines_raises(cap):
    ok = b"250-x\r\n" * (cap - 1) + b"250 end\r\n"
    (reply,) = ReplyParser(max_lines=cap).feed(ok)
    assert len(reply.lines) == cap
    parser = ReplyParser(max_lines=cap)
    with pytest.raises(RemoteProtocolError) as info:
        parser.feed(b"250-x\r\n" * cap + b"250 end\r\n")
    assert str(cap) in str(info.value)
    assert "lines" in str(info.value)


def test_line_count_resets_between_replies():
    data = (b"250-x\r\n" * 4 + b"250 end\r\n") * 3
    assert len(ReplyParser(max_lines=5).feed(data)) == 3


@pytest.mark.parametrize("cap", [100, HARD_LINE_LIMIT])
def test_endless_line_raises_as_soon_as_buffer_passes_cap(cap):
    chunk = b"x" * 4096
    total = 1024 * 1024
    parser = ReplyParser(max_line_length=cap)
    fed = 0
    with pytest.raises(RemoteProtocolError):
        while fed < total:
            parser.feed(chunk)
            fed += len(chunk)
    # Raised on the first chunk that pushed the buffer past the cap...
    expected_fed = (cap // len(chunk) + 1) * len(chunk)
    assert fed + len(chunk) == expected_fed
    assert fed + len(chunk) < total
    # ...so what is held is bounded by the cap plus one chunk.
    assert len(parser.buffered) <= cap + len(chunk)


def test_endless_line_after_complete_replies_still_capped():
    parser = ReplyParser(max_line_length=100)
    assert [r.code for r in parser.feed(b"220 hi\r\n250 ok\r\n")] == [220, 250]
    with pytest.raises(RemoteProtocolError):
        for _ in range(10):
            parser.feed(b"y" * 30)


# ---------------------------------------------------------- take_buffered / eof

def test_take_buffered_returns_partial_line_and_incomplete_reply():
    parser = ReplyParser()
    tail = b"250-a\r\n250-b\n250 c"
    assert [r.code for r in parser.feed(b"220 hi\r\n" + tail)] == [220]
    assert parser.buffered == tail
    assert parser.take_buffered() == tail
    assert parser.buffered == b""
    assert parser.take_buffered() == b""
    # Nothing of the taken reply (lines, anomalies) leaks into the next one.
    (reply,) = parser.feed(b"221 bye\r\n")
    assert reply.raw == b"221 bye\r\n"
    assert reply.anomalies == ()
    assert len(reply.lines) == 1


def test_take_buffered_on_unscanned_data():
    parser = ReplyParser()
    parser.receive(b"250-a\r\n250 b")
    assert parser.take_buffered() == b"250-a\r\n250 b"
    assert parser.next_reply() is None


def test_take_buffered_after_partial_scan_resets_scan_position():
    parser = ReplyParser()
    assert parser.feed(b"220 partial") == []
    assert parser.take_buffered() == b"220 partial"
    # A short new reply must be found even though the old scan position was further on.
    assert [r.raw for r in parser.feed(b"1\r\n")] == [b"1\r\n"]


def test_feed_eof_returns_unfinished_reply():
    parser = ReplyParser()
    assert parser.feed(b"250-a\r\n250 b") == []
    assert parser.feed_eof() == b"250-a\r\n250 b"
    assert parser.buffered == b""
    assert parser.feed_eof() == b""


def test_feed_eof_after_complete_replies_is_empty():
    parser = ReplyParser()
    parser.feed(b"220 ok\r\n")
    assert parser.feed_eof() == b""


# ------------------------------------------------------------------- hypothesis

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=100,
)
_ENHANCED_RE = re.compile(r"([245])\.\d{1,3}\.\d{1,3}(?:[ \t]|$)")


@st.composite
def replies_strategy(draw):
    code = "%d%d%d" % (draw(st.integers(2, 5)), draw(st.integers(0, 5)),
                       draw(st.integers(0, 9)))
    texts = draw(st.lists(_TEXT, min_size=1, max_size=5))
    for text in texts:
        match = _ENHANCED_RE.match(text)
        assume(not match or match.group(1) == code[0])
    raw = b"".join(
        (code + ("-" if i < len(texts) - 1 else " ") + text + "\r\n").encode()
        for i, text in enumerate(texts))
    return int(code), tuple(texts), raw


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks, last = [], 0
    for p in points:
        chunks.append(data[last:p])
        last = p
    chunks.append(data[last:])
    return chunks


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(replies_strategy(), min_size=1, max_size=6),
       st.lists(st.integers(min_value=0), max_size=8))
def test_well_formed_replies_roundtrip_any_split(expected, cuts):
    data = b"".join(raw for _, _, raw in expected)
    parser = ReplyParser()
    got = []
    for chunk in _split(data, cuts):
        got += parser.feed(chunk)
    assert parser.buffered == b""
    assert len(got) == len(expected)
    for reply, (code, texts, raw) in zip(got, expected, strict=True):
        assert reply.code == code
        assert reply.texts == texts
        assert reply.raw == raw
        assert reply.anomalies == ()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=10),
       st.sampled_from([{}, {"max_line_length": 64, "max_lines": 4}]))
def test_arbitrary_bytes_never_lost_and_only_remote_errors(data, cuts, limits):
    parser = ReplyParser(**limits)
    replies: list[Reply] = []
    try:
        for chunk in _split(data, cuts):
            replies += parser.feed(chunk)
    except RemoteProtocolError:
        return
    except InspectorError as exc:  # pragma: no cover - the assertion shows it
        pytest.fail(f"unexpected {type(exc).__name__}: {exc}")
    assert b"".join(r.raw for r in replies) + parser.take_buffered() == data
    for reply in replies:
        assert reply.raw.endswith(b"\n")
        assert [line.separator == b"-" for line in reply.lines] == \
            [True] * (len(reply.lines) - 1) + [False]
        json_output.reply(reply)
        reply.summary()
        _ = (reply.enhanced_code, reply.code)
