"""``send`` against servers that lack extensions (scripted: exact EHLO replies of real servers).

The EHLO reply is qmail-smtpd 1.03's (``PIPELINING``, ``8BITMIME``; no SMTPUTF8,
no DSN, no CHUNKING), and, for 8-bit data, the one of a server that offers
nothing but ``SIZE`` (qmail with the SIZE patch and 8BITMIME removed); no
such server is packaged in Debian, so the replies are scripted.
"""

from __future__ import annotations

import socket

import pytest

from tests.scripted_server import ScriptedServer

QMAIL_EHLO = b"250-mail.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
SIZE_ONLY_EHLO = b"250-mail.example.org\r\n250 SIZE 100000\r\n"


def _server(ehlo: bytes, received: list):
    def script(sock, stop):
        sock.sendall(b"220 mail.example.org ESMTP\r\n")
        buffer = b""
        in_data = False
        while True:
            data = sock.recv(65536)
            if not data:
                return
            buffer += data
            while b"\r\n" in buffer:
                if in_data:
                    end = buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        break
                    received.append(buffer[:end + 2])
                    buffer, in_data = buffer[end + 5:], False
                    sock.sendall(b"250 ok 1700000000 qp 4242\r\n")
                    continue
                line, buffer = buffer.split(b"\r\n", 1)
                verb = line.split(b" ")[0].upper()
                received.append(line)
                if verb == b"EHLO":
                    sock.sendall(ehlo)
                elif verb == b"DATA":
                    in_data = True
                    sock.sendall(b"354 go ahead\r\n")
                elif verb == b"QUIT":
                    sock.sendall(b"221 mail.example.org\r\n")
                    return
                else:
                    sock.sendall(b"250 ok\r\n")
    return ScriptedServer(script)


def _send(run_cli, server, *args):
    return run_cli("send", f"127.0.0.1:{server.port}", "--plain", "--json", "--timeout", "3",
                   "--from", "a@example.org", *args)


def _ids(document):
    return {f["id"] for f in document["findings"]}


def test_non_ascii_address_refused_when_smtputf8_is_not_offered(run_cli):
    received: list = []
    with _server(QMAIL_EHLO, received) as server:
        done, document = _send(run_cli, server, "--to", "jörg@example.org")
    assert done.returncode == 17 and "smtputf8-not-offered" in _ids(document)
    assert "jörg@example.org" in document["error"]
    assert not any(line.startswith(b"MAIL") for line in received)


@pytest.mark.parametrize("extra, finding", [
    (("--bdat",), "chunking-not-offered"),
    (("--notify", "success,failure"), "dsn-not-offered"),
])
def test_missing_extensions_are_reported_and_the_message_still_goes(run_cli, extra, finding):
    received: list = []
    with _server(QMAIL_EHLO, received) as server:
        done, document = _send(run_cli, server, "--to", "b@example.org", *extra)
    assert done.returncode == 0, document["error"]
    assert finding in _ids(document) and document["transaction"]["method"] == "DATA"
    assert not any(b"NOTIFY" in line or line.startswith(b"BDAT") for line in received
                   if isinstance(line, bytes) and not line.startswith(b"Subject"))


def test_8bit_message_refused_without_8bitmime(run_cli):
    received: list = []
    with _server(SIZE_ONLY_EHLO, received) as server:
        done, document = _send(run_cli, server, "--to", "b@example.org", "--body", "Grüße")
    assert done.returncode == 17 and "8bitmime-not-offered" in _ids(document)
    assert not any(line.startswith(b"MAIL") for line in received)


def test_queue_id_of_another_server_and_size_declared(run_cli):
    received: list = []
    with _server(SIZE_ONLY_EHLO, received) as server:
        done, document = _send(run_cli, server, "--to", "b@example.org")
    assert done.returncode == 0
    mail = next(line for line in received if line.startswith(b"MAIL"))
    assert mail.startswith(b"MAIL FROM:<a@example.org> SIZE=")
    assert document["transaction"]["status"] == "queued"


def test_a_final_reply_that_never_comes_is_reported_within_the_timeout(run_cli):
    """Postfix's EHLO, but the server goes silent after the end-of-data dot (a hung content filter)."""
    postfix_ehlo = (b"250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                    b"250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n")

    def script(sock, stop):
        sock.sendall(b"220 mail.example.org ESMTP Postfix\r\n")
        seen = b""
        while not stop.is_set():
            data = sock.recv(65536)
            if not data:
                return
            seen += data
            if seen.endswith(b"EHLO [127.0.0.1]\r\n"):
                sock.sendall(postfix_ehlo)
            elif seen.endswith(b"DATA\r\n"):
                sock.sendall(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n")
            # after the dot: silence

    import time
    with ScriptedServer(script) as server:
        started = time.monotonic()
        done, document = run_cli("send", f"127.0.0.1:{server.port}", "--plain", "--json", "--timeout",
                                 "1.5", "--from", "a@example.org", "--to", "b@example.org")
        elapsed = time.monotonic() - started
    assert done.returncode == 19, document["error"]
    assert "pipelining-reply-missing" in _ids(document)
    assert "no answer within the step timeout" in document["error"] and elapsed < 10


def test_submission_without_auth_rule():
    from inspector.rules.transaction import submission_without_auth
    assert submission_without_auth(587, False, 1).id == "submission-without-auth"
    assert submission_without_auth(587, True, 1) is None
    assert submission_without_auth(25, False, 1) is None
    assert submission_without_auth(465, False, 0) is None


def test_recipient_bounced_in_data_rule():
    from inspector.rules.transaction import recipient_bounced_in_data
    finding = recipient_bounced_in_data(("a@example.org",), 554, "5.6.0")
    assert finding.id == "recipient-bounced-in-data" and "<a@example.org>" in finding.evidence
    assert recipient_bounced_in_data(("a@example.org",), 250, "2.0.0") is None
    assert recipient_bounced_in_data((), 554, None) is None


def test_a_refused_mail_in_a_pipelined_group_leaves_quit_its_own_reply(run_cli):
    """Postfix's order of replies when MAIL is refused: 553 to MAIL, 503 to each RCPT and DATA."""
    def script(sock, stop):
        sock.sendall(b"220 mail.example.org ESMTP Postfix\r\n")
        seen = b""
        while not stop.is_set():
            data = sock.recv(65536)
            if not data:
                return
            seen += data
            if seen.endswith(b"EHLO [127.0.0.1]\r\n"):
                sock.sendall(b"250-mail.example.org\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n")
            elif seen.endswith(b"DATA\r\n"):
                sock.sendall(b"553 5.1.8 <a@bad.invalid>: Sender address rejected: Domain not found\r\n"
                             b"503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n")
            elif seen.endswith(b"QUIT\r\n"):
                sock.sendall(b"221 2.0.0 Bye\r\n")
                return

    with ScriptedServer(script) as server:
        done, document = run_cli("send", f"127.0.0.1:{server.port}", "--plain", "--json", "--timeout", "3",
                                 "--from", "a@bad.invalid", "--to", "b@example.org")
    assert done.returncode == 17
    assert [r["reply"]["code"] for r in document["transaction"]["replies"]] == [553, 503, 503]
    assert document["transaction"]["replies"][0]["kind"] == "sender-domain-bad"
    quit_step = document["steps"][-1]
    assert quit_step["name"] == "quit" and quit_step["status"] == "ok"
    assert quit_step["reply"]["code"] == 221


def test_requiretls_rule():
    """RFC 8689 §4.1: REQUIRETLS needs both the extension and a TLS session."""
    from inspector.rules.transaction import requiretls_not_offered
    assert requiretls_not_offered(True, True, True) is None
    assert "no TLS" in requiretls_not_offered(True, True, False).evidence
    assert "does not offer" in requiretls_not_offered(True, False, True).evidence
    assert requiretls_not_offered(False, False, False) is None


def test_reply_out_of_order_rule():
    from inspector.rules.transaction import reply_out_of_order
    assert reply_out_of_order("RCPT", 354, None).id == "pipelining-reply-mismatch"
    assert reply_out_of_order("MAIL", 250, "2.1.5") is not None
    assert reply_out_of_order("RCPT", 250, "2.1.0") is not None
    assert reply_out_of_order("DATA", 250, "2.0.0") is not None
    # Delayed sender refusals come at RCPT (Postfix smtpd_delay_reject): not a mismatch.
    assert reply_out_of_order("RCPT", 553, "5.1.8") is None
    assert reply_out_of_order("RCPT", 553, "5.7.1") is None
    assert reply_out_of_order("DATA", 354, None) is None


def test_a_server_that_closes_mid_group_is_reported(run_cli):
    """A server that answers MAIL, then says 421 and hangs up (Postfix under anvil rate limits)."""
    def script(sock, stop):
        sock.sendall(b"220 mail.example.org ESMTP\r\n")
        seen = b""
        while not stop.is_set():
            data = sock.recv(65536)
            if not data:
                return
            seen += data
            if seen.endswith(b"EHLO [127.0.0.1]\r\n"):
                sock.sendall(b"250-mail.example.org\r\n250 PIPELINING\r\n")
            elif seen.endswith(b"DATA\r\n"):
                sock.sendall(b"250 2.1.0 Ok\r\n421 4.7.0 mail.example.org Error: too many connections\r\n")
                sock.shutdown(socket.SHUT_RDWR)
                return

    with ScriptedServer(script) as server:
        done, document = run_cli("send", f"127.0.0.1:{server.port}", "--plain", "--json", "--timeout", "3",
                                 "--from", "a@example.org", "--to", "b@example.org", "--to", "c@example.org")
    rcpt = document["transaction"]["replies"][1]
    assert (rcpt["reply"]["code"], rcpt["kind"]) == (421, "rate-limited")
    assert done.returncode == 18
    missing = next(f for f in document["findings"] if f["id"] == "pipelining-reply-missing")
    assert "RCPT DATA" in missing["evidence"] and "closed the connection" in missing["evidence"]
