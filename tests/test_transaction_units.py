"""The mail transaction in the sans-I/O core: dot-stuffing, the DATA state, BDAT, the reply table."""

from __future__ import annotations

import pytest

from inspector.errors import LocalProtocolError
from inspector.smtp import commands
from inspector.smtp.connection import ClientConnection, State
from inspector.smtp.events import NEED_DATA, CommandReply
from inspector.smtp.transaction import (
    BdatChunk,
    MessageContent,
    dot_stuff,
    line_endings,
    mail_from,
    rcpt_to,
    stuffed_lines,
    to_crlf,
)
from inspector.smtp.transaction_replies import explain


def _ready() -> ClientConnection:
    conn = ClientConnection()
    conn.receive_data(b"220 mx ESMTP\r\n")
    assert conn.next_event() is not NEED_DATA
    return conn


def _drain(conn):
    out = []
    while (event := conn.next_event()) is not NEED_DATA:
        out.append(event)
    return out


@pytest.mark.parametrize("message, wire", [
    (b".one\r\n", b"..one\r\n"),
    (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n"),
    (b"a\r\n..b\r\n", b"a\r\n...b\r\n"),
    (b"no final crlf", b"no final crlf\r\n"),
    (b"", b""),
    (b"x.y\r\n", b"x.y\r\n"),
])
def test_dot_stuffing(message, wire):
    """RFC 5321 §4.5.2: one more dot at the start of every line that begins with one."""
    assert dot_stuff(message) == wire
    unstuffed = b"\r\n".join(line[1:] if line.startswith(b".") else line for line in wire.split(b"\r\n"))
    assert unstuffed == (message if message.endswith(b"\r\n") or not message else message + b"\r\n")


def test_stuffed_lines_and_line_endings():
    assert stuffed_lines(b".a\r\nb\r\n.c\r\n") == 2
    endings = line_endings(b"a\nb\r\nc\rd" + b"x" * 1000)
    assert (endings.bare_lf, endings.bare_cr, endings.longest) == (1, 1, 1001)
    assert to_crlf(b"a\nb\r\nc\r") == b"a\r\nb\r\nc\r\n"


def test_body_only_after_354_to_data():
    conn = _ready()
    with pytest.raises(LocalProtocolError):
        conn.send(MessageContent(message=b"x\r\n"))
    conn.send(mail_from("a@example.org"))
    conn.send(rcpt_to("b@example.org"))
    conn.send(commands.Command("DATA"))
    conn.receive_data(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n")
    events = _drain(conn)
    assert [type(e) for e in events] == [CommandReply] * 3
    assert conn.state is State.MESSAGE_BODY
    with pytest.raises(LocalProtocolError):
        conn.send(commands.quit_())       # the server would read QUIT as message text
    assert conn.send(MessageContent(message=b".x\r\n")) == b"..x\r\n.\r\n"
    conn.receive_data(b"250 2.0.0 queued as ABC\r\n")
    [final] = _drain(conn)
    assert final.reply.code == 250 and isinstance(final.command, MessageContent)
    assert conn.state is State.READY


def test_354_to_another_command_changes_nothing():
    """A missing reply shifts DATA's 354 onto a RCPT: no body may follow (the rules report it)."""
    conn = _ready()
    conn.send(mail_from("a@example.org"))
    conn.send(rcpt_to("b@example.org"))
    conn.receive_data(b"250 ok\r\n354 go\r\n")
    _drain(conn)
    assert conn.state is State.READY


def test_bdat_is_not_stuffed():
    assert BdatChunk(chunk=b".x\r\n").encode() == b"BDAT 4 LAST\r\n.x\r\n"
    assert BdatChunk(chunk=b"ab", last=False).encode() == b"BDAT 2\r\nab"


def test_addresses_are_checked():
    with pytest.raises(LocalProtocolError):
        mail_from("a@b> RCPT TO:<c@d")
    assert mail_from("", ("SIZE=10",)).encode() == b"MAIL FROM:<> SIZE=10\r\n"
    assert rcpt_to("jörg@example.org").encode() == "RCPT TO:<jörg@example.org>\r\n".encode()


@pytest.mark.parametrize("code, enhanced, text, kind", [
    (554, "5.7.1", "Relay access denied", "relay-refused"),
    (553, "5.7.1", "Sender address rejected: not owned by user", "sender-not-owned"),
    (530, "5.7.0", "Authentication required", "auth-needed"),
    (450, "4.7.1", "try later", "greylisting"),
    (451, "4.7.1", "try later", "greylisting"),
    (450, "4.2.0", "Recipient address rejected: Greylisted, see http://postgrey", "greylisting"),
    (452, "4.5.3", "Too many recipients", "too-many-recipients"),
    (552, "5.3.4", "Message size exceeds fixed limit", "message-too-big"),
    (550, "5.1.1", "User unknown", "unknown-recipient"),
    (421, "4.7.0", "Too many connections", "rate-limited"),
    (550, "5.7.26", "DMARC", "dmarc-policy"),
    (550, "5.7.23", "SPF", "spf-policy"),
    (554, "5.6.0", "content rejected", "content-refused"),
    (551, "5.1.1", "odd code, known enhanced", "unknown-recipient"),
    (599, None, "unknown", "permanent"),
    (450, None, "unknown", "temporary"),
])
def test_transaction_reply_table(code, enhanced, text, kind):
    meaning = explain(code, enhanced, text)
    assert meaning.kind == kind
    if code // 100 in (4, 5):
        assert meaning.advice   # every refusal says what to do


@pytest.mark.parametrize("body, attachments", [(None, ()), ("Grüße\n", ()), ("x\n", (("a.txt", b"hi"),))])
def test_generated_message_is_valid_rfc5322(body, attachments):
    """The hand-written ASCII message and the email-package ones parse the same way."""
    import email
    import email.policy
    import email.utils

    from inspector.probes.message import generated_message
    from inspector.smtp.transaction import line_endings

    data = generated_message("a@example.org", ("b@example.org",), ("c@example.org",), body=body,
                             headers=(("X-Test", "1"),), attachments=attachments)
    assert line_endings(data).clean and data.endswith(b"\r\n")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["From"] == "a@example.org" and parsed["Cc"] == "c@example.org"
    assert parsed["X-Test"] == "1" and parsed["Subject"].startswith("smtp-inspector test message")
    assert email.utils.parsedate_to_datetime(parsed["Date"]) is not None
    assert str(parsed["Message-ID"]).strip().startswith("<") and "Bcc" not in parsed
    content = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert content == body if body else "smtp-inspector send" in content


GROUP_REPLIES = (b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <c@example.org>: unknown\r\n"
                 b"354 End data with <CR><LF>.<CR><LF>\r\n")


@pytest.mark.parametrize("cut", range(1, len(GROUP_REPLIES)))
def test_pipelined_group_replies_split_at_every_offset(cut):
    """The same replies, in the same order, and the DATA state, however TCP cut the bytes."""
    conn = _ready()
    group = [mail_from("a@example.org"), rcpt_to("b@example.org"), rcpt_to("c@example.org"),
             commands.Command("DATA")]
    for command in group:
        conn.send(command)
    events = []
    for piece in (GROUP_REPLIES[:cut], GROUP_REPLIES[cut:]):
        conn.receive_data(piece)
        events += _drain(conn)
    assert [(e.command.verb, e.reply.code, e.reply.enhanced_code) for e in events] == [
        ("MAIL", 250, "2.1.0"), ("RCPT", 250, "2.1.5"), ("RCPT", 550, "5.1.1"), ("DATA", 354, None)]
    assert conn.state is State.MESSAGE_BODY
