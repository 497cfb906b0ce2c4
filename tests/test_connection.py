"""ClientConnection: bytes in, events out; commands in, bytes out (h11 style).

RFC 5321 (dialog), RFC 2920 §3.1 (replies in command order), RFC 3207 §4.2
(STARTTLS boundary: nothing buffered before TLS may be used afterwards).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from inspector.smtp import commands
from inspector.smtp.commands import Command
from inspector.smtp.connection import ClientConnection, State
from inspector.smtp.events import (
    NEED_DATA,
    CommandReply,
    ConnectionClosed,
    EhloReply,
    Greeting,
    InjectedData,
    StartTlsReady,
    UnsolicitedReply,
)
from inspector.smtp.reply import ReplyParser

GREETING = b"220 mail.example.com ESMTP Postfix\r\n"
EHLO_PLAIN = (b"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
              b"250-STARTTLS\r\n250 8BITMIME\r\n")
EHLO_TLS = (b"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
            b"250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
TLS_READY = b"220 2.0.0 Ready to start TLS\r\n"


def drain(conn: ClientConnection) -> list:
    """Every event available now, up to (not including) NEED_DATA."""
    events = []
    while (event := conn.next_event()) is not NEED_DATA:
        events.append(event)
        if isinstance(event, ConnectionClosed):
            assert conn.next_event() is NEED_DATA
            break
    return events


def reply_of(data: bytes):
    (reply,) = ReplyParser().feed(data)
    return reply


def ready_connection() -> ClientConnection:
    conn = ClientConnection()
    conn.receive_data(GREETING)
    assert [type(e) for e in drain(conn)] == [Greeting]
    return conn


def at_tls_pending() -> ClientConnection:
    conn = ready_connection()
    conn.send(commands.ehlo("client.example"))
    conn.receive_data(EHLO_PLAIN)
    drain(conn)
    conn.send(commands.starttls())
    return conn


# ------------------------------------------------------------------ full dialog

def test_full_dialog():
    conn = ClientConnection()
    assert conn.state is State.GREETING
    assert conn.next_event() is NEED_DATA

    conn.receive_data(GREETING)
    assert drain(conn) == [Greeting(reply_of(GREETING))]
    assert conn.state is State.READY
    assert not conn.secure

    ehlo = commands.ehlo("client.example")
    assert conn.send(ehlo) == b"EHLO client.example\r\n"
    assert conn.pending_commands == (ehlo,)
    assert conn.next_event() is NEED_DATA
    conn.receive_data(EHLO_PLAIN)
    (event,) = drain(conn)
    assert isinstance(event, EhloReply)
    assert event.command == ehlo
    assert event.reply == reply_of(EHLO_PLAIN)
    assert event.capabilities.starttls
    assert event.capabilities.auth_mechanisms == ()
    assert conn.capabilities == event.capabilities
    assert conn.pending_commands == ()

    starttls = commands.starttls()
    assert conn.send(starttls) == b"STARTTLS\r\n"
    assert conn.state is State.STARTTLS_SENT
    conn.receive_data(TLS_READY)
    assert drain(conn) == [StartTlsReady(starttls, reply_of(TLS_READY))]
    assert conn.state is State.TLS_PENDING
    with pytest.raises(LocalProtocolError):
        conn.send(commands.noop())

    conn.tls_established()
    assert conn.secure
    assert conn.state is State.READY
    assert conn.capabilities is None  # RFC 3207 §4.2: forget plaintext knowledge

    conn.send(ehlo)
    conn.receive_data(EHLO_TLS)
    (event,) = drain(conn)
    assert isinstance(event, EhloReply)
    assert not event.capabilities.starttls
    assert event.capabilities.auth_mechanisms == ("PLAIN", "LOGIN")
    assert conn.capabilities == event.capabilities

    quit_ = commands.quit_()
    assert conn.send(quit_) == b"QUIT\r\n"
    conn.receive_data(b"221 2.0.0 Bye\r\n")
    (event,) = drain(conn)
    assert type(event) is CommandReply
    assert event.command == quit_
    assert event.reply.code == 221

    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed(b"")]
    assert conn.state is State.CLOSED
    assert conn.next_event() is NEED_DATA
    with pytest.raises(LocalProtocolError):
        conn.send(commands.noop())


def test_multi_line_greeting_split_at_every_offset():
    greeting = b"220-mail.example.com ESMTP\r\n220-no UCE\r\n220 third line\r\n"
    expected = Greeting(reply_of(greeting))
    for i in range(len(greeting) + 1):
        conn = ClientConnection()
        events = []
        for chunk in (greeting[:i], greeting[i:]):
            if chunk:
                conn.receive_data(chunk)
            events += drain(conn)
        assert events == [expected], f"split at {i}"
        assert conn.state is State.READY


def test_greeting_byte_by_byte_then_eof():
    conn = ClientConnection()
    for i in range(len(GREETING) - 1):
        conn.receive_data(GREETING[i:i + 1])
        assert conn.next_event() is NEED_DATA
    conn.receive_data(GREETING[-1:])
    assert drain(conn) == [Greeting(reply_of(GREETING))]


def test_non_220_greeting_still_a_greeting():
    conn = ClientConnection()
    conn.receive_data(b"554 5.7.1 go away\r\n")
    (event,) = drain(conn)
    assert isinstance(event, Greeting) and event.reply.code == 554
    # RFC 5321 §3.1: after a 554 greeting the client should send QUIT.
    assert conn.send(commands.quit_()) == b"QUIT\r\n"


# -------------------------------------------------------------------- send rules

def test_send_before_greeting_refused():
    conn = ClientConnection()
    with pytest.raises(LocalProtocolError):
        conn.send(commands.ehlo("x"))
    conn.receive_data(b"220 partial greeting")
    assert conn.next_event() is NEED_DATA
    with pytest.raises(LocalProtocolError):
        conn.send(commands.ehlo("x"))
    assert conn.pending_commands == ()


def test_send_after_starttls_before_its_reply_refused():
    conn = at_tls_pending()
    assert conn.state is State.STARTTLS_SENT
    for command in (commands.noop(), commands.ehlo("x"), commands.starttls(), commands.quit_()):
        with pytest.raises(LocalProtocolError):
            conn.send(command)
    assert [c.verb for c in conn.pending_commands] == ["STARTTLS"]


def test_pipelined_noop_only_on_request_and_only_after_starttls():
    """RFC 3207 §4.2: the normal path stays strict; the injection check is explicit."""
    conn = ready_connection()
    with pytest.raises(LocalProtocolError):
        conn.send(commands.ehlo("x"), pipelined_noop=True)
    assert conn.pending_commands == ()
    assert conn.send(commands.starttls(), pipelined_noop=True) == b"STARTTLS\r\nNOOP\r\n"
    assert [c.verb for c in conn.pending_commands] == ["STARTTLS"]
    with pytest.raises(LocalProtocolError):
        conn.send(commands.noop())


def test_pipelined_noop_reply_inside_tls_is_unsolicited():
    """CVE-2011-0411 class: a server that runs the buffered NOOP after the handshake."""
    conn = ready_connection()
    conn.send(commands.starttls(), pipelined_noop=True)
    conn.receive_data(TLS_READY)
    assert [type(e) for e in drain(conn)] == [StartTlsReady]
    conn.tls_established()
    conn.receive_data(b"250 2.0.0 Ok\r\n")
    (event,) = drain(conn)
    assert isinstance(event, UnsolicitedReply) and event.reply.code == 250
    conn.send(commands.ehlo("x"))
    conn.receive_data(EHLO_TLS)
    assert [type(e) for e in drain(conn)] == [EhloReply]


def test_pipelined_noop_after_refused_starttls_is_matched_to_the_noop():
    conn = ready_connection()
    conn.send(commands.starttls(), pipelined_noop=True)
    conn.receive_data(b"454 4.7.0 TLS not available\r\n250 2.0.0 Ok\r\n")
    first, second = drain(conn)
    assert first.command.verb == "STARTTLS" and first.reply.code == 454
    assert isinstance(second, CommandReply) and second.command.verb == "NOOP"
    assert conn.state is State.READY and conn.pending_commands == ()


def test_lower_case_starttls_is_still_starttls():
    conn = ready_connection()
    conn.send(Command("starttls"))
    assert conn.state is State.STARTTLS_SENT
    conn.receive_data(b"220 go\r\n250 injected\r\n")
    events = drain(conn)
    assert [type(e) for e in events] == [StartTlsReady, InjectedData]


def test_malformed_command_refused_and_not_pending():
    conn = ready_connection()
    with pytest.raises(LocalProtocolError):
        conn.send(Command("MAIL", ("FROM:<a>\r\nRCPT TO:<b>",)))
    assert conn.pending_commands == ()
    assert conn.state is State.READY


def test_tls_established_without_starttls_refused():
    conn = ready_connection()
    with pytest.raises(LocalProtocolError):
        conn.tls_established()
    conn = at_tls_pending()  # STARTTLS sent, no 220 yet
    with pytest.raises(LocalProtocolError):
        conn.tls_established()
    assert not conn.secure


def test_starttls_refused_with_454():
    conn = at_tls_pending()
    caps_before = conn.capabilities
    conn.receive_data(b"454 4.7.0 TLS not available due to temporary reason\r\n")
    (event,) = drain(conn)
    assert type(event) is CommandReply
    assert event.command.verb == "STARTTLS"
    assert event.reply.code == 454
    assert conn.state is State.READY
    assert not conn.secure
    assert conn.capabilities == caps_before
    # Still a plaintext session: the next reply is parsed, not injected.
    conn.send(commands.noop())
    conn.receive_data(b"250 2.0.0 Ok\r\n")
    (event,) = drain(conn)
    assert type(event) is CommandReply and event.reply.code == 250


def test_ehlo_rejected_is_not_an_ehlo_reply():
    conn = ready_connection()
    conn.send(commands.ehlo("x"))
    conn.receive_data(b"502 5.5.2 Error: command not recognized\r\n")
    (event,) = drain(conn)
    assert type(event) is CommandReply
    assert event.reply.code == 502
    assert conn.capabilities is None


def test_helo_reply_is_a_plain_command_reply():
    conn = ready_connection()
    conn.send(commands.helo("x"))
    conn.receive_data(b"250 mail.example.com\r\n")
    (event,) = drain(conn)
    assert type(event) is CommandReply
    assert conn.capabilities is None


# ---------------------------------------------------------- response injection

INJECTED = b"250-evil\r\n250 AUTH LOGIN\r\n"


def test_response_injection_in_the_220_chunk():
    conn = at_tls_pending()
    conn.receive_data(b"220 Ready\r\n" + INJECTED)
    events = drain(conn)
    assert [type(e) for e in events] == [StartTlsReady, InjectedData]
    assert events[0].reply.raw == b"220 Ready\r\n"
    assert events[1] == InjectedData(INJECTED)
    assert conn.state is State.TLS_PENDING
    conn.tls_established()
    # The injected bytes never come back as replies after TLS either.
    assert conn.next_event() is NEED_DATA
    conn.send(commands.ehlo("x"))
    conn.receive_data(EHLO_TLS)
    (event,) = drain(conn)
    assert isinstance(event, EhloReply)
    assert event.reply.raw == EHLO_TLS
    assert "AUTH LOGIN" not in event.reply.texts


def test_partial_line_after_220_is_injected_too():
    conn = at_tls_pending()
    conn.receive_data(b"220 Ready\r\n250 no line end")
    events = drain(conn)
    assert events[1:] == [InjectedData(b"250 no line end")]


def test_bytes_in_later_receive_calls_before_tls_are_injected():
    conn = at_tls_pending()
    conn.receive_data(TLS_READY)
    assert [type(e) for e in drain(conn)] == [StartTlsReady]
    conn.receive_data(b"250 late\r\n")
    assert drain(conn) == [InjectedData(b"250 late\r\n")]
    conn.receive_data(b"250-a")
    conn.receive_data(b"\r\n250 b\r\n")
    assert drain(conn) == [InjectedData(b"250-a\r\n250 b\r\n")]
    assert conn.state is State.TLS_PENDING


def test_eof_after_injection():
    conn = at_tls_pending()
    conn.receive_data(TLS_READY + b"junk")
    conn.receive_data(b"")
    events = drain(conn)
    assert [type(e) for e in events] == [StartTlsReady, InjectedData, ConnectionClosed]
    assert events[1].data == b"junk"
    assert events[2].partial == b""  # the junk is reported once, not twice


WHOLE_STREAM = GREETING + EHLO_PLAIN + TLS_READY + INJECTED


def _drive(chunks) -> list:
    """A client that answers the greeting with EHLO and the EHLO reply with STARTTLS."""
    conn = ClientConnection()
    events = []
    for chunk in chunks:
        if chunk:
            conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
            if isinstance(event, Greeting):
                conn.send(commands.ehlo("client.example"))
            elif isinstance(event, EhloReply):
                conn.send(commands.starttls())
    assert conn.state is State.TLS_PENDING
    return events


def test_injection_split_at_every_offset_of_the_whole_stream():
    whole = _drive([WHOLE_STREAM])
    assert [type(e) for e in whole] == [Greeting, EhloReply, StartTlsReady, InjectedData]
    assert whole[3].data == INJECTED
    for i in range(len(WHOLE_STREAM) + 1):
        events = _drive([WHOLE_STREAM[:i], WHOLE_STREAM[i:]])
        replies = [e for e in events if not isinstance(e, InjectedData)]
        injected = [e for e in events if isinstance(e, InjectedData)]
        assert replies == whole[:3], f"split at {i}"
        assert b"".join(e.data for e in injected) == INJECTED, f"split at {i}"
        assert all(e.data for e in injected)


def test_injection_byte_by_byte():
    stream = WHOLE_STREAM
    events = _drive([stream[i:i + 1] for i in range(len(stream))])
    replies = [e for e in events if not isinstance(e, InjectedData)]
    assert [type(e) for e in replies] == [Greeting, EhloReply, StartTlsReady]
    assert b"".join(e.data for e in events if isinstance(e, InjectedData)) == INJECTED


# -------------------------------------------------------------------- pipelining

def test_pipelined_replies_matched_in_order():
    conn = ready_connection()
    sent = [Command("MAIL", ("FROM:<a@example.org>",)), Command("RCPT", ("TO:<b@example.org>",)),
            Command("RCPT", ("TO:<c@example.org>",)), Command("DATA")]
    for command in sent:
        conn.send(command)
    assert conn.pending_commands == tuple(sent)
    conn.receive_data(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <c@example.org>: no\r\n"
                      b"354 End data with <CR><LF>.<CR><LF>\r\n")
    events = drain(conn)
    assert all(type(e) is CommandReply for e in events)
    assert [e.command for e in events] == sent
    assert [e.reply.code for e in events] == [250, 250, 550, 354]
    assert [e.reply.enhanced_code for e in events] == ["2.1.0", "2.1.5", "5.1.1", None]
    assert conn.pending_commands == ()


def test_pipelined_replies_arriving_one_by_one():
    conn = ready_connection()
    conn.send(commands.noop())
    conn.send(commands.noop())
    conn.receive_data(b"250 one\r\n")
    (first,) = drain(conn)
    assert first.reply.texts == ("one",)
    assert len(conn.pending_commands) == 1
    conn.receive_data(b"250 two\r\n")
    (second,) = drain(conn)
    assert second.reply.texts == ("two",)


def test_unsolicited_reply_in_ready():
    conn = ready_connection()
    conn.receive_data(b"421 4.4.2 mail.example.com Error: timeout exceeded\r\n")
    (event,) = drain(conn)
    assert type(event) is UnsolicitedReply
    assert event.reply.code == 421
    assert conn.state is State.READY


def test_extra_reply_after_the_last_pending_command_is_unsolicited():
    conn = ready_connection()
    conn.send(commands.noop())
    conn.receive_data(b"250 ok\r\n250 extra\r\n")
    events = drain(conn)
    assert [type(e) for e in events] == [CommandReply, UnsolicitedReply]
    assert events[1].reply.texts == ("extra",)


# --------------------------------------------------------------------------- EOF

def test_eof_in_the_middle_of_a_reply():
    conn = ready_connection()
    conn.send(commands.ehlo("x"))
    conn.receive_data(b"250-mail.example.com\r\n250-PIPELI")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed(partial=b"250-mail.example.com\r\n250-PIPELI")]
    assert conn.state is State.CLOSED


def test_eof_before_greeting():
    conn = ClientConnection()
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed(b"")]


def test_complete_reply_before_eof_is_delivered_first():
    conn = ready_connection()
    conn.send(commands.quit_())
    conn.receive_data(b"221 bye\r\n")
    conn.receive_data(b"")
    events = drain(conn)
    assert [type(e) for e in events] == [CommandReply, ConnectionClosed]
    assert events[1].partial == b""


# --------------------------------------------------------------------- hard caps

@pytest.mark.parametrize("limits, data", [
    ({"max_line_length": 100}, b"220 " + b"x" * 200),
    ({"max_line_length": 100}, b"220 " + b"x" * 200 + b"\r\n"),
    ({"max_lines": 3}, b"220-a\r\n" * 4),
])
def test_hard_cap_moves_to_error(limits, data):
    conn = ClientConnection(**limits)
    conn.receive_data(data)
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    assert conn.state is State.ERROR
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"220 ok\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"")
    with pytest.raises(ProtocolError):
        conn.send(commands.quit_())
    with pytest.raises(ProtocolError):
        conn.tls_established()


def test_limits_survive_tls_established():
    conn = ClientConnection(max_line_length=100)
    conn.receive_data(GREETING)
    drain(conn)
    conn.send(commands.starttls())
    conn.receive_data(TLS_READY)
    drain(conn)
    conn.tls_established()
    conn.receive_data(b"250 " + b"x" * 150)
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    assert conn.state is State.ERROR


# ------------------------------------------------------------------ implicit TLS

def test_implicit_tls_before_greeting():
    conn = ClientConnection()
    conn.implicit_tls_established()
    assert conn.secure
    assert conn.state is State.GREETING
    conn.receive_data(GREETING)
    assert [type(e) for e in drain(conn)] == [Greeting]
    assert conn.secure


def test_implicit_tls_after_bytes_or_greeting_refused():
    conn = ClientConnection()
    conn.receive_data(b"220 ")
    with pytest.raises(LocalProtocolError):
        conn.implicit_tls_established()
    assert not conn.secure
    conn = ready_connection()
    with pytest.raises(LocalProtocolError):
        conn.implicit_tls_established()
    assert not conn.secure


# ------------------------------------------------------------- property: any bytes

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=800), st.lists(st.integers(min_value=0), max_size=6), st.booleans())
def test_any_server_bytes_through_a_whole_dialog(data, cuts, pipelined):
    """Whatever the server sends, only RemoteProtocolError escapes, and no byte is parsed twice.

    The client walks EHLO, STARTTLS (optionally with the pipelined NOOP of the
    injection check), the TLS switch, EHLO, QUIT as the state allows.
    """
    conn = ClientConnection(max_line_length=1024, max_lines=50)
    plan = [commands.ehlo("x"), commands.starttls(), commands.ehlo("x"), commands.quit_()]
    points = sorted({c % (len(data) + 1) for c in cuts})
    try:
        for start, end in zip([0, *points, len(data)], [*points, len(data), None], strict=True):
            conn.receive_data(data[start:end] if end is not None else b"")
            while (event := conn.next_event()) is not NEED_DATA:
                if isinstance(event, ConnectionClosed):
                    assert conn.state is State.CLOSED
                    break
                if isinstance(event, StartTlsReady):
                    while isinstance(conn.next_event(), InjectedData):
                        pass
                    conn.tls_established()
                    assert conn.capabilities is None and conn.secure
            if conn.state is State.READY and plan and not conn.pending_commands:
                command = plan.pop(0)
                conn.send(command, pipelined_noop=pipelined and command.verb == "STARTTLS")
    except RemoteProtocolError:
        assert conn.state is State.ERROR
