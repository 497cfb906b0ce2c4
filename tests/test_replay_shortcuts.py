"""The replay's shortcuts for repeated work give what the long way gives.

* ReplyParser remembers a reply that arrived whole in one chunk at a reply
  boundary and hands out the same frozen Reply for the same bytes later;
  it must equal a fresh parse (anomalies included), keep the bytes'
  order, count as buffered at the STARTTLS boundary (RFC 3207 §4.2), and
  not apply under other caps.
* Sessions past the kept ones (only their findings are counted) do not
  build their envelope; the kept ones still do, and the counts of the
  others' findings do not change.
* The garbage collector's settings are put back after a replay.
"""

from __future__ import annotations

import gc
import io

import pytest

from inspector.errors import RemoteProtocolError
from inspector.replay import replay as replay_module
from inspector.replay import session as session_module
from inspector.replay.replay import replay_stream
from inspector.replay.writer import CaptureWriter, TcpConversation
from inspector.smtp.reply import ReplyParser

EHLO = b"250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
BROKEN = b"250-mx.example.org\n251 5.1.1 class mismatch\r\n"   # bare LF, code and class mismatch


def _fresh(data: bytes):
    """The replies of ``data`` fed one byte at a time (never remembered: no chunk is whole)."""
    parser = ReplyParser()
    replies = []
    for byte in data:
        replies += parser.feed(bytes([byte]))
    return replies


@pytest.mark.parametrize("data", [EHLO, BROKEN, b"221 2.0.0 Bye\r\n"])
def test_a_remembered_reply_equals_a_fresh_parse(data):
    first = ReplyParser().feed(data)
    again = ReplyParser().feed(data)
    assert first == again == _fresh(data)
    assert again[0] is first[0]            # handed out from memory, not parsed again
    assert again[0].anomalies == _fresh(data)[0].anomalies


def test_two_replies_in_one_chunk_are_not_remembered_as_one():
    data = b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
    assert [r.text for r in ReplyParser().feed(data)] == ["2.1.0 Ok", "2.1.5 Ok"]
    assert [r.text for r in ReplyParser().feed(data)] == ["2.1.0 Ok", "2.1.5 Ok"]


def test_a_remembered_reply_keeps_its_place_before_later_bytes():
    ReplyParser().feed(b"354 go ahead\r\n")
    parser = ReplyParser()
    parser.receive(b"354 go ahead\r\n")
    parser.receive(b"250 2.0.0 queued\r\n")
    assert [r.code for r in (parser.next_reply(), parser.next_reply())] == [354, 250]
    assert parser.next_reply() is None


def test_a_remembered_reply_not_yet_read_is_buffered_at_the_starttls_boundary():
    ReplyParser().feed(b"250 2.0.0 Ok\r\n")
    parser = ReplyParser()
    parser.receive(b"250 2.0.0 Ok\r\n")
    assert parser.buffered == b"250 2.0.0 Ok\r\n"
    assert parser.take_buffered() == b"250 2.0.0 Ok\r\n"
    assert parser.next_reply() is None and parser.buffered == b""


def test_replies_remembered_under_the_default_caps_are_not_used_under_others():
    long_line = b"250 " + b"x" * 300 + b"\r\n"
    assert ReplyParser().feed(long_line)
    with pytest.raises(RemoteProtocolError):
        ReplyParser(max_line_length=100).feed(long_line)


def _capture(sessions: int) -> bytes:
    """``sessions`` short SMTP sessions, one after the other, each with one transaction."""
    stream = io.BytesIO()
    writer = CaptureWriter(stream)
    ts = 1_790_000_000.0
    for number in range(sessions):
        conv = TcpConversation(writer.write, (f"127.0.1.{number + 1}", 40000 + number),
                               ("127.0.0.25", 25), checksums=False)
        ts = conv.handshake(ts)
        for from_client, data in [
                (False, b"220 mx.example.org ESMTP\r\n"), (True, b"EHLO c%d.example.org\r\n" % number),
                (False, EHLO), (True, b"MAIL FROM:<s%d@example.org>\r\n" % number),
                (False, b"250 2.1.0 Ok\r\n"), (True, b"RCPT TO:<r@example.org>\r\n"),
                (False, b"550 5.1.1 no such user\r\n" if number % 2 else b"250 2.1.5 Ok\r\n"),
                (True, b"QUIT\r\n"), (False, b"221 2.0.0 Bye\r\n")]:
            ts = conv.send(ts, from_client, data)
        ts = conv.close(ts) + 1.0
    return stream.getvalue()


def test_sessions_past_the_kept_ones_count_the_same_findings(monkeypatch):
    capture = _capture(9)
    everything = replay_stream(io.BytesIO(capture))
    monkeypatch.setattr(replay_module, "MAX_SESSIONS_KEPT", 3)
    built = []

    class CountedEnvelope(session_module.EnvelopeTracker):
        __slots__ = ()

        def __init__(self) -> None:
            super().__init__()
            built.append(self)
    monkeypatch.setattr(session_module, "EnvelopeTracker", CountedEnvelope)
    capped = replay_stream(io.BytesIO(capture))
    assert len(built) == 3                              # the six others built none
    assert capped.sessions_total == everything.sessions_total == 9
    assert capped.sessions == everything.sessions[:3]   # envelopes and all
    assert all(s.transactions and s.transactions[0].recipients for s in capped.sessions)
    counts: dict = {}
    for session in everything.sessions[3:]:
        for finding in session.findings:
            counts[(finding.id, finding.severity)] = counts.get((finding.id, finding.severity), 0) + 1
    assert counts and {(i, s): n for i, s, n in capped.omitted_findings} == counts


def test_the_collector_settings_are_restored_after_a_replay():
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    replay_stream(io.BytesIO(_capture(2)))
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == frozen
