"""``send`` against servers that lack extensions (scripted: exact EHLO replies of real servers).

The EHLO reply is qmail-smtpd 1.03's (``PIPELINING``, ``8BITMIME``; no SMTPUTF8,
no DSN, no CHUNKING), and, for 8-bit data, the one of a server that offers
nothing but ``SIZE`` (qmail with the SIZE patch and 8BITMIME removed); no
such server is packaged in Debian, so the replies are scripted.
"""

from __future__ import annotations

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
