"""Session resumption (RFC 5077, RFC 5246 §7.3, RFC 8446 §2.2) with Python's ssl, and the EHLO inside TLS.

Each kind costs two connections through the audit's dialer: a complete
handshake that yields a session, then one offering it back; the second
says whether the server resumed. Kinds: TLS 1.2 session IDs (tickets
switched off, ``OP_NO_TICKET``), TLS 1.2 tickets, TLS 1.3 PSK tickets (they
arrive after the handshake, so the first connection reads the server's next
SMTP reply: the EHLO answer inside TLS, which also tells whether REQUIRETLS
is advertised, RFC 8689 §4).
"""

from __future__ import annotations

import re
import time

from ..errors import DeadlineExceeded, InspectorError
from ..frozen import frozen
from ..net.address import is_ip_address
from ..net.tls_contexts import resumption_context
from ..smtp.addresses import address_literal
from ..tls.enumerate import Unreachable

KINDS = ("session_id", "ticket", "tls13_ticket")
_FINAL_LINE = re.compile(rb"(?m)^\d{3}(?: [^\r\n]*)?\r?\n")
_MAX_REPLY = 64 * 1024
#: The EHLO reply inside TLS is waited for at most this long (a fact about REQUIRETLS, and the
#: TLS 1.3 tickets come before it: not worth a whole step's timeout on a server that never answers).
EHLO_WAIT = 2.0


@frozen
class Resumption:
    kind: str
    resumed: bool | None          #: None: could not be tried (``detail`` says why)
    detail: str


def _smtp_reply(connection, until: float) -> bytes:
    data = b""
    while len(data) < _MAX_REPLY and not _FINAL_LINE.search(data):
        chunk = connection.recv(until=until)
        if not chunk:
            break
        data += chunk
    return data


def _handshake(dialer, context, session, read_ehlo: bool):
    name = dialer.config.expected_name

    def action(connection):
        try:
            connection.start_tls(context, None if is_ip_address(name) else name, until=dialer.until(),
                                 session=session)
        except DeadlineExceeded:
            raise
        except InspectorError as exc:
            return None, False, None, str(exc)
        ehlo = None
        if read_ehlo:
            until = min(dialer.until(), time.monotonic() + EHLO_WAIT)
            try:
                if dialer.config.mode == "implicit":
                    _smtp_reply(connection, until)   # the greeting, inside TLS
                helo = dialer.config.ehlo_name or address_literal(connection.local_address)
                connection.send(f"EHLO {helo}\r\n".encode("ascii", "replace"), until=until)
                ehlo = _smtp_reply(connection, until)
            except DeadlineExceeded:
                raise
            except InspectorError:
                pass
        new_session, reused = connection.tls_session
        try:
            connection.send_close_notify(until=dialer.until())
        except DeadlineExceeded:
            raise
        except InspectorError:
            pass
        return new_session, reused, ehlo, None

    return dialer.run(action, "resumption")


def resume(dialer, kind: str, *, read_ehlo: bool = False) -> tuple[Resumption, bytes | None]:
    """Two connections: get a session, offer it back. Also the EHLO reply inside TLS if asked."""
    context = resumption_context(kind)
    if context is None:
        return Resumption(kind, None, "this Python/OpenSSL cannot offer it"), None
    try:
        session, _reused, ehlo, error = _handshake(dialer, context, None, read_ehlo)
        if error is not None:
            return Resumption(kind, None, f"no complete handshake: {error}"), ehlo
        if session is None or (kind != "session_id" and not session.has_ticket):
            what = "session" if kind == "session_id" else "ticket"
            return Resumption(kind, False, f"the server issued no {what}"), ehlo
        if kind == "session_id" and not session.id:
            return Resumption(kind, False, "the server sent an empty session id"), ehlo
        _session, reused, _ehlo, error = _handshake(dialer, context, session, False)
    except Unreachable as exc:
        return Resumption(kind, None, f"not determined: {exc}"), None
    if error is not None:
        return Resumption(kind, False, f"offering the session back failed: {error}"), ehlo
    detail = "resumed" if reused else "a complete handshake instead of resumption"
    return Resumption(kind, reused, detail), ehlo


def ehlo_keywords(reply: bytes | None) -> tuple[str, ...] | None:
    """The EHLO keywords of a raw 250 reply (RFC 5321 §4.1.1.1), None without one."""
    if not reply or not reply.startswith(b"250"):
        return None
    lines = reply.decode("ascii", "replace").splitlines()[1:]
    return tuple(line[4:].split()[0].upper() for line in lines if len(line) > 4 and line[4:].split())
