"""A scripted SMTP server that runs the server side of each SASL mechanism and echoes secrets.

No real server echoes a client's AUTH line; some broken ones and every
hostile one may (the echo behaviour is the attack of issue 21). The exchanges
follow RFC 4954 §4 and each mechanism's RFC exactly (PLAIN RFC 4616, LOGIN
draft-murchison-sasl-login, CRAM-MD5 RFC 2195, SCRAM RFC 5802/7677, XOAUTH2
and OAUTHBEARER RFC 7628), so the client code under test runs its real path.
"""

from __future__ import annotations

import base64
import re
import socket
import time
from dataclasses import dataclass, field

from tests.scripted_server import command_lines

MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER")
CRAM_CHALLENGE = b"<1896.697170952@echo.smtp-inspector.test>"


@dataclass
class Exchange:
    """What the client sent during AUTH (the raw lines and their decoded values)."""

    mechanism: str
    lines: list[bytes] = field(default_factory=list)
    decoded: list[bytes] = field(default_factory=list)

    @property
    def derived(self) -> list[bytes]:
        """Secret-derived values a server could echo alone: the CRAM-MD5 digest, the SCRAM proof."""
        out = []
        for value in self.decoded:
            if self.mechanism == "CRAM-MD5":
                out.append(value.rpartition(b" ")[2])
            out += re.findall(rb"(?:^|,)p=([^,]*)", value) if self.mechanism.startswith("SCRAM") else []
        return [v for v in out if v]


def _response(lines, exchange: Exchange, conn, prompt: bytes | None) -> bytes:
    if prompt is not None:
        conn.sendall(b"334 " + base64.b64encode(prompt) + b"\r\n")
    line = next(lines)
    exchange.lines.append(line)
    try:
        exchange.decoded.append(base64.b64decode(line))
    except ValueError:
        exchange.decoded.append(b"")
    return exchange.decoded[-1]


def run_exchange(mechanism: str, first: bytes, lines, conn) -> Exchange:
    """The server side of one AUTH exchange, up to (not including) the final reply."""
    exchange = Exchange(mechanism)
    words = first.split(b" ")
    initial = words[2] if len(words) > 2 else None
    if initial is not None:
        exchange.lines.append(initial)
        exchange.decoded.append(base64.b64decode(initial) if initial != b"=" else b"")
    if mechanism in ("PLAIN", "XOAUTH2", "OAUTHBEARER") and initial is None:
        _response(lines, exchange, conn, b"")
    elif mechanism == "LOGIN":
        if initial is None:
            _response(lines, exchange, conn, b"Username:")
        _response(lines, exchange, conn, b"Password:")
    elif mechanism == "CRAM-MD5":
        _response(lines, exchange, conn, CRAM_CHALLENGE)
    elif mechanism.startswith("SCRAM-"):
        client_first = exchange.decoded[-1] if initial is not None else _response(lines, exchange, conn, b"")
        nonce = re.search(rb"r=([^,]*)", client_first).group(1)
        server_first = b"r=" + nonce + b"srvnonce,s=" + base64.b64encode(b"salt-of-16-bytes") + b",i=4096"
        _response(lines, exchange, conn, server_first)
    return exchange


def send_split(conn: socket.socket, data: bytes, at: int) -> None:
    """``data`` in two TCP segments, cut at ``at`` (TCP_NODELAY, and a pause between)."""
    conn.sendall(data[:at])
    time.sleep(0.02)
    conn.sendall(data[at:])


def auth_server(mechanism: str, final, *, greeting: bytes = b"220 echo.smtp-inspector.test ESMTP\r\n"):
    """A ScriptedServer script: ``final(exchange, conn)`` sends what ends the AUTH exchange."""
    def script(conn: socket.socket, stop) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(greeting)
        lines = command_lines(conn)
        for line in lines:
            verb = line.split(b" ")[0].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-echo.smtp-inspector.test\r\n250 AUTH " + mechanism.encode() + b"\r\n")
            elif verb == b"AUTH":
                try:
                    exchange = run_exchange(mechanism, line, lines, conn)
                except StopIteration:
                    return
                final(exchange, conn)
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 bye\r\n")
                return
            else:
                conn.sendall(b"502 5.5.2 no\r\n")
    return script
