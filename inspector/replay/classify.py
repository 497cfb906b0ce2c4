"""What a TCP flow is, from each side's first bytes: SMTP (plain or implicit TLS) or something else.

RFC 5321 §4.3.1: the server speaks first (220, or 421/554); the client's
first line is an SMTP verb; RFC 8314 §3.3: a TLS ClientHello towards an
implicit-TLS port is SMTP inside TLS.
"""

from __future__ import annotations

import re

from ..smtp.ports import IMPLICIT_TLS_PORTS

#: Bytes of a flow's start kept while deciding what it is.
CLASSIFY_LIMIT = 4096
#: Verbs a client may open an SMTP session with after the greeting (RFC 5321 §4.1).
_FIRST_VERBS = {b"EHLO", b"HELO", b"LHLO", b"MAIL", b"NOOP", b"RSET", b"QUIT", b"STARTTLS", b"HELP",
                b"VRFY", b"EXPN"}
_GREETING = re.compile(rb"^(220|421|554)([ -]|\r?\n)")
_HELLO = re.compile(rb"^(EHLO|HELO|LHLO)([ \r\n]|$)", re.IGNORECASE)


def _could_be_greeting(data: bytes) -> bool:
    head = data[:4]
    return head[:3].isdigit() if len(head) < 4 else (head[:3].isdigit() and head[3:4] in b" -\r\n")


def _could_be_hello(data: bytes) -> bool:
    head = data[:5].upper()
    return any(word.startswith(head) or head.startswith(word.rstrip())
               for word in (b"EHLO ", b"HELO ", b"LHLO "))


def classify(a_data: bytes, b_data: bytes, a_port: int, b_port: int, ended: bool):
    """What a flow is, from each side's first bytes: (verdict, a_is_client, implicit).

    verdict is "smtp", "other" or None (not known yet). A side that greets
    with 220/421/554 is the server (RFC 5321 §4.3.1) and the other side's
    first line must be an SMTP verb; a side that opens with EHLO/HELO is the
    client; a TLS ClientHello towards port 465 is implicit TLS (RFC 8314 §3.3).
    """
    for server_data, client_data, server_is_b in ((a_data, b_data, False), (b_data, a_data, True)):
        if _GREETING.match(server_data):
            if not client_data:
                if ended:
                    return "smtp", server_is_b, False
                return None, True, False
            line_end = client_data.find(b"\n")
            if line_end < 0 and len(client_data) < 512 and not ended:
                return None, True, False
            verb = client_data[:line_end if line_end >= 0 else 512].split(b" ", 1)[0].strip().upper()
            return ("smtp" if verb in _FIRST_VERBS else "other"), server_is_b, False
    for client_data, a_is_client in ((a_data, True), (b_data, False)):
        if _HELLO.match(client_data):
            return "smtp", a_is_client, False
        server_port = b_port if a_is_client else a_port
        if server_port in IMPLICIT_TLS_PORTS and client_data[:2] == b"\x16\x03":
            return "smtp", a_is_client, True
    undecided = any(d and (_could_be_greeting(d) or _could_be_hello(d)
                           or (d[:1] == b"\x16" and len(d) < 2)) for d in (a_data, b_data))
    if ended or (not undecided and (a_data or b_data)) or len(a_data) + len(b_data) > CLASSIFY_LIMIT:
        return "other", True, False
    return None, True, False
