"""``probe`` against small scripted servers for behaviours no real server shows on demand.

Hostile servers (one per behaviour, with deadline and memory bounds) are in test_hostile.py.
"""

from __future__ import annotations

import ssl
import time
import warnings

import pytest

from inspector.exitcodes import ExitCode
from inspector.findings import Severity
from inspector.lab import make_lab_certificates
from inspector.probes.session import STARTTLS, ProbeConfig, run_probe
from tests.scripted_server import ScriptedServer
from tests.scripted_server import command_lines as lines

HOSTNAME = "scripted.smtp-inspector.test"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    certs = make_lab_certificates(HOSTNAME)
    return certs.write(tmp_path_factory.mktemp("certs"))


def server_context(certificates, *, legacy: bool = False) -> ssl.SSLContext:
    _ca, cert, key = certificates
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if legacy:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


def smtp_server(replies, *, after_starttls=None):
    """A script answering each verb from ``replies``; ``after_starttls(conn)`` takes over on STARTTLS."""
    def script(conn, stop):
        conn.sendall(b"220 scripted ESMTP\r\n")
        for line in lines(conn):
            verb = line.split(b" ")[0].upper().decode()
            if verb == "STARTTLS" and after_starttls is not None:
                after_starttls(conn)
                return
            conn.sendall(replies.get(verb, b"500 5.5.1 unknown\r\n"))
            if verb == "QUIT":
                return
    return script


def tls_continuation(context, replies):
    def go(conn):
        conn.sendall(b"220 2.0.0 go ahead\r\n")
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return
        for line in lines(tls):
            verb = line.split(b" ")[0].upper().decode()
            tls.sendall(replies.get(verb, b"500 5.5.1 unknown\r\n"))
            if verb == "QUIT":
                return
    return go


def probe(server, certificates, **overrides):
    settings = dict(host=server.host, port=server.port, mode=STARTTLS, require_tls=True,
                    servername=HOSTNAME, cafile=certificates[0], timeout=3.0, deadline=10.0)
    settings.update(overrides)
    return run_probe(ProbeConfig(**settings))


QUIT = {"QUIT": b"221 2.0.0 bye\r\n"}
EHLO_STARTTLS = {"EHLO": b"250-scripted\r\n250 STARTTLS\r\n", **QUIT}


def test_ehlo_refused_falls_back_to_helo(certificates):
    replies = {"EHLO": b"502 5.5.2 Error: command not recognized\r\n",
               "HELO": b"250 scripted\r\n", **QUIT}
    with ScriptedServer(smtp_server(replies)) as server:
        result = probe(server, certificates, require_tls=False)

    assert result.step("ehlo").status == "ok"
    assert result.step("ehlo").detail.startswith("HELO fallback")
    assert result.step("ehlo").reply.code == 250
    assert result.finding_ids == {"ehlo-rejected", "starttls-not-offered"}
    assert result.capabilities_before.keywords == ()
    assert result.exit_code is ExitCode.OK
    sent = b"".join(e.data for e in result.transcript if e.direction == "send")
    assert sent.startswith(b"EHLO ") and b"\r\nHELO " in sent


def test_ehlo_and_helo_refused_is_an_ehlo_failure(certificates):
    replies = {"EHLO": b"550 go away\r\n", "HELO": b"550 go away\r\n", **QUIT}
    with ScriptedServer(smtp_server(replies)) as server:
        result = probe(server, certificates)

    assert result.exit_code is ExitCode.EHLO
    assert result.step("ehlo").status == "failed"


def test_starttls_readvertised_inside_tls(certificates):
    after = tls_continuation(server_context(certificates), EHLO_STARTTLS)
    with ScriptedServer(smtp_server(EHLO_STARTTLS, after_starttls=after)) as server:
        result = probe(server, certificates)

    assert result.finding_ids == {"starttls-readvertised"}
    assert result.capabilities_after.starttls
    assert result.exit_code is ExitCode.OK


def test_legacy_tls_version_is_reported(certificates):
    context = server_context(certificates, legacy=True)
    after = tls_continuation(context, {"EHLO": b"250 scripted\r\n", **QUIT})
    with ScriptedServer(smtp_server(EHLO_STARTTLS, after_starttls=after)) as server:
        result = probe(server, certificates)

    assert result.tls.version in ("TLSv1", "TLSv1.1")
    assert "tls-legacy-version" in result.finding_ids
    assert result.exit_code is ExitCode.OK


def test_cleartext_after_starttls_220_in_a_later_segment(certificates):
    def late_cleartext(conn):
        conn.sendall(b"220 2.0.0 go ahead\r\n")
        time.sleep(0.1)
        conn.sendall(b"250-injected\r\n250 AUTH PLAIN\r\n")
        time.sleep(2)

    with ScriptedServer(smtp_server(EHLO_STARTTLS, after_starttls=late_cleartext)) as server:
        result = probe(server, certificates)

    assert result.exit_code is ExitCode.TLS
    assert {"response-injection", "tls-handshake-failed"} <= result.finding_ids
    injection = [f for f in result.findings if f.id == "response-injection"][0]
    assert "250-injected" in injection.evidence
    assert injection.severity is Severity.ERROR


def test_ipv6_loopback(lab_server):
    server = lab_server(host="::1")
    result = run_probe(ProbeConfig(host="::1", port=server.port, servername=server.hostname,
                                   cafile=server.ca_path, timeout=5.0))

    assert result.exit_code is ExitCode.OK, result.error
    assert result.peer_address.startswith("[::1]:")
    assert result.step("ehlo").reply is not None
    sent = [e.data for e in result.transcript if e.direction == "send"]
    assert sent[0] == b"EHLO [IPv6:::1]\r\n"


def test_replies_split_into_many_segments_parse_like_one(certificates):
    """Each greeting byte and each EHLO line in its own TCP segment, with pauses.

    nmap reads one line per recv() and sslyze 5 one recv() per step; both lose
    step here. The transcript must also hold exactly the bytes the server sent.
    """
    sent_by_server = bytearray()
    ehlo = [b"250-split.example\r\n", b"250-PIPELINING\r\n", b"250-SIZE 1000\r\n",
            b"250-AUTH=LOGIN\r\n", b"250-AUTH PLAIN LOGIN\r\n", b"250 8BITMIME\r\n"]

    def script(conn, stop):
        for byte in b"220 split.example ESMTP\r\n":
            conn.sendall(bytes([byte]))
            sent_by_server.append(byte)
            time.sleep(0.002)
        for line in lines(conn):
            if line.startswith(b"EHLO"):
                for part in ehlo:
                    conn.sendall(part)
                    sent_by_server.extend(part)
                    time.sleep(0.02)
            elif line == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                sent_by_server.extend(b"221 bye\r\n")
                return

    with ScriptedServer(script) as server:
        result = probe(server, certificates, require_tls=False)

    caps = result.capabilities_before
    assert result.step("greeting").reply.texts == ("split.example ESMTP",)
    assert caps.keywords == ("PIPELINING", "SIZE", "AUTH=", "AUTH", "8BITMIME")
    assert caps.auth_mechanisms == ("LOGIN", "PLAIN") and caps.legacy_auth
    assert caps.size_limit == 1000
    # No STARTTLS but PLAIN/LOGIN offered: a password can only cross in clear (issue 13 case 8).
    assert result.finding_ids == {"starttls-not-offered", "auth-before-tls", "auth-without-tls-possible"}
    received = b"".join(e.data for e in result.transcript if e.direction == "recv")
    assert received == bytes(sent_by_server)
    assert len([e for e in result.transcript if e.direction == "recv"]) > 10


@pytest.mark.parametrize("greeting", [b"554 5.7.1 no service for you\r\n",
                                      b"421 4.3.2 busy, try later\r\n"])
def test_rejecting_greeting(certificates, greeting):
    def script(conn, stop):
        conn.sendall(greeting)
        for line in lines(conn):
            if line == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return

    with ScriptedServer(script) as server:
        result = probe(server, certificates)

    assert result.exit_code is ExitCode.GREETING
    assert result.finding_ids == {"greeting-rejected"}
    # RFC 5321 §3.1: after a 554 greeting the client should still send QUIT.
    assert result.step("quit").reply.code == 221
