"""``--check-injection`` on a server that refuses STARTTLS pipelined with NOOP (issue 13, case 6).

OpenSMTPD answers ``STARTTLS\\r\\nNOOP\\r\\n`` in one segment with ``500 5.5.1
Invalid command: Pipelining not supported`` and closes. That is the right
thing (RFC 3207 §4.2, RFC 2920 §3.1): it never starts TLS with a plaintext
command waiting, so it is not injectable. The probe says so, and exits as it
does without --check-injection (a second session sends STARTTLS alone).

Peers: the real OpenSMTPD 6.8 from Debian bookworm (unpacked, started by
``scripts/opensmtpd/start`` on 127.0.0.1:2587; with OpenSSL 3 its handshake
always ends in alert 80, so a probe exits 14 with or without the option), and a
scripted server that replays OpenSMTPD's bytes (greeting, EHLO, the 500 line
and the close, as captured from 6.8 and reported for 7.8) followed by a working
TLS handshake, the case where the exit code is 0.
"""

from __future__ import annotations

import os
import socket
import ssl

import pytest

from inspector.exitcodes import ExitCode
from inspector.lab.certs import make_lab_certificates
from inspector.probes.session import ProbeConfig, run_probe
from inspector.rules.plaintext import pipelined_starttls_refusal
from inspector.smtp.reply import ReplyParser
from tests.scripted_server import LineReader, ScriptedServer
from tests.tls_servers import HOSTNAME

OPENSMTPD_PORT = 2587   #: scripts/opensmtpd/start
OPENSMTPD_EHLO = (b"250-opensmtpd.test Hello x [127.0.0.1], pleased to meet you\r\n250-8BITMIME\r\n"
                  b"250-ENHANCEDSTATUSCODES\r\n250-SIZE 36700160\r\n250-DSN\r\n250-STARTTLS\r\n"
                  b"250 HELP\r\n")
REFUSAL = b"500 5.5.1 Invalid command: Pipelining not supported\r\n"


class OpenSmtpdLike:
    """OpenSMTPD's bytes at the STARTTLS boundary, then a real TLS handshake (Python ssl)."""

    def __init__(self, tmp_path) -> None:
        self.cafile, cert, key = make_lab_certificates(HOSTNAME).write(tmp_path)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.connections: list[list[bytes]] = []
        self.server = ScriptedServer(self._script)

    def _script(self, conn: socket.socket, stop) -> None:
        conn.settimeout(5)
        lines: list[bytes] = []
        self.connections.append(lines)
        conn.sendall(b"220 opensmtpd.test ESMTP OpenSMTPD\r\n")
        reader = LineReader(conn)
        while (line := reader.next_line()) is not None:
            lines.append(line)
            verb = line.split(b" ", 1)[0].upper()
            if verb == b"EHLO":
                conn.sendall(OPENSMTPD_EHLO)
            elif verb == b"STARTTLS" and reader.rest:
                lines.append(reader.rest)
                conn.sendall(REFUSAL)   # smtp_session.c: input left after the command line
                conn.close()
                return
            elif verb == b"STARTTLS":
                conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                tls = self.context.wrap_socket(conn, server_side=True)
                for inner in _tls_lines(tls):
                    lines.append(inner)
                    if inner.upper().startswith(b"EHLO"):
                        tls.sendall(b"250-opensmtpd.test Hello\r\n250 AUTH PLAIN LOGIN\r\n")
                    elif inner.upper() == b"QUIT":
                        tls.sendall(b"221 2.0.0 Bye\r\n")
                        return
                return
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return


def _tls_lines(tls):
    buffer = b""
    while data := tls.recv(4096):
        buffer += data
        while b"\r\n" in buffer:
            line, buffer = buffer.split(b"\r\n", 1)
            yield line


def probe(host, port, *, check, cafile=None, servername=HOSTNAME, **overrides):
    settings = dict(host=host, port=port, servername=servername, cafile=cafile, timeout=5.0,
                    deadline=20.0, check_injection=check)
    settings.update(overrides)
    return run_probe(ProbeConfig(**settings))


def test_refused_pipelined_starttls_is_not_injectable_and_exits_like_without_the_option(tmp_path):
    server = OpenSmtpdLike(tmp_path)
    with server.server:
        checked = probe("127.0.0.1", server.server.port, check=True, cafile=server.cafile)
        plain = probe("127.0.0.1", server.server.port, check=False, cafile=server.cafile)

    assert plain.exit_code is ExitCode.OK, plain.error
    assert checked.exit_code is plain.exit_code, checked.error
    assert "starttls-failed" not in checked.finding_ids
    assert checked.finding_ids == plain.finding_ids == set()
    verdict = checked.step("injection-check")
    assert verdict.status == "ok"
    assert verdict.detail.startswith("not injectable")
    assert "Pipelining not supported" in verdict.detail and "closed" in verdict.detail
    # The first connection got the pipelined pair and was refused; the second sent STARTTLS alone.
    assert server.connections[0][-2:] == [b"STARTTLS", b"NOOP\r\n"]
    assert b"STARTTLS" in server.connections[1] and b"NOOP" not in server.connections[1]
    assert checked.tls is not None and checked.step("ehlo-tls").status == "ok"
    sent = [e.data for e in checked.transcript if e.direction == "send"]
    assert b"STARTTLS\r\nNOOP\r\n" in sent and b"STARTTLS\r\n" in sent


def test_refusal_on_the_command_line(tmp_path, run_cli):
    server = OpenSmtpdLike(tmp_path)
    target = (f"127.0.0.1:{server.server.port}", "--servername", HOSTNAME, "--cafile", server.cafile,
              "--check-injection")
    with server.server:
        completed, document = run_cli("probe", *target, "--json")
        text, _ = run_cli("probe", *target)

    from tests.test_cli import validate
    validate(document)
    assert completed.returncode == 0 == document["exit_code"], completed.stdout[-1500:]
    names = [s["name"] for s in document["steps"]]
    assert names.count("connect") == 2 and "injection-check" in names
    assert text.returncode == 0
    assert "not injectable" in text.stdout and "Pipelining not supported" in text.stdout


def _opensmtpd_running() -> None:
    try:
        with socket.create_connection(("127.0.0.1", OPENSMTPD_PORT), timeout=3) as sock:
            sock.settimeout(3)
            if b"OpenSMTPD" in sock.recv(512):
                return
    except OSError:
        pass
    reason = f"OpenSMTPD not running on 127.0.0.1:{OPENSMTPD_PORT}: run 'bash scripts/opensmtpd/start'"
    if os.environ.get("SMTP_INSPECTOR_REQUIRE_MAIL_LAB") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def test_real_opensmtpd_is_not_injectable_and_exits_like_without_the_option():
    _opensmtpd_running()
    checked = probe("127.0.0.1", OPENSMTPD_PORT, check=True, insecure=True)
    plain = probe("127.0.0.1", OPENSMTPD_PORT, check=False, insecure=True)

    steps = [(s.name, s.status, s.detail) for s in checked.steps]
    refused = [s for s in checked.steps if s.name == "starttls"][0]
    assert refused.reply is not None, steps
    assert refused.reply.code == 500 and refused.reply.enhanced_code == "5.5.1"
    assert "Pipelining not supported" in refused.reply.text
    verdict = checked.step("injection-check")
    assert verdict.status == "ok" and verdict.detail.startswith("not injectable"), steps
    assert "starttls-failed" not in checked.finding_ids
    # 6.8 with OpenSSL 3 never completes a handshake: 14 either way (case 4 of the issue).
    assert plain.exit_code is ExitCode.TLS
    assert checked.exit_code is plain.exit_code
    assert checked.finding_ids == plain.finding_ids


def test_temporary_refusal_of_the_pipelined_starttls_decides_nothing(lab_server):
    """454 to the pipelined pair: not a pipelining verdict; STARTTLS alone gets 454 too: exit 13."""
    lab = lab_server(fault="starttls-454")
    checked = probe(lab.host, lab.port, check=True, cafile=lab.ca_path, servername=lab.hostname)
    plain = probe(lab.host, lab.port, check=False, cafile=lab.ca_path, servername=lab.hostname)

    assert checked.exit_code is plain.exit_code is ExitCode.STARTTLS
    assert checked.step("injection-check").status == "skipped"
    assert checked.finding_ids == plain.finding_ids == {"starttls-failed"}


@pytest.mark.parametrize("raw, closed, injectable", [
    (REFUSAL, True, False),
    (b"503 5.5.1 Invalid command: pipelined STARTTLS\r\n", False, False),
    (b"454 4.7.0 TLS not available due to temporary reason\r\n", False, None),
    (None, True, None),
])
def test_pipelined_starttls_refusal_rule(raw, closed, injectable):
    reply = ReplyParser().feed(raw)[0] if raw else None
    verdict = pipelined_starttls_refusal(reply, closed)

    assert verdict.injectable is injectable
    assert ("closed" in verdict.detail) is closed
