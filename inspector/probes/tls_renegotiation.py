"""Client-initiated renegotiation (RFC 5246 §7.4.1.1, RFC 5746): is a new ClientHello inside TLS accepted?

A server that renegotiates on the client's demand lets one client make it do
a full handshake's public-key work again and again on one connection (the
THC-SSL-DoS lever), and without RFC 5746 the renegotiation can be spliced
(CVE-2009-3555). Python's ssl cannot renegotiate, so one connection runs the
minimal client of :mod:`inspector.tls.checks.tls12_client`: a TLS 1.2
ECDHE AES-GCM handshake, then a ClientHello with renegotiation_info
(RFC 5746 §3.5) as an encrypted handshake record. An encrypted ServerHello
back means accepted; a no_renegotiation alert, another alert or a close means refused.
"""

from __future__ import annotations

from ..errors import DeadlineExceeded, StepTimeout, TransportError
from ..frozen import frozen
from ..tls.checks.tls12_client import SECP256R1, SUITES, X25519, HandshakeFailed, Tls12Client
from ..tls.client_hello import client_hello
from ..tls.enumerate import Unreachable
from ..tls.records import ALERT, APPLICATION_DATA, HANDSHAKE, NotTlsRecord
from ..tls.registry import alert_name


@frozen
class Renegotiation:
    accepted: bool | None            #: None: not determined or not applicable
    detail: str


def _read_until(connection, client: Tls12Client, done, until: float) -> bool:
    """Feed the client until ``done()``; False if the server closed first."""
    while not done():
        data = connection.recv(until=until)
        if not data:
            return False
        client.feed(data)
    return True


def client_renegotiation(dialer, outcomes) -> Renegotiation:
    outcome = outcomes.get("TLSv1.2")
    if outcome is None or not outcome.supported:
        return Renegotiation(None, "not applicable: the server accepts no TLS 1.2 (TLS 1.3 has no "
                             "renegotiation, RFC 8446 §4.1.2)")
    suites = [code for code in outcome.picks if code in SUITES]
    if not suites:
        return Renegotiation(None, "not determined: the server picks no TLS 1.2 ECDHE AES-GCM suite")
    hello = client_hello("TLSv1.2", suites, servername=dialer.sni, groups=(X25519, SECP256R1),
                         compression=(0,))

    def action(connection):
        client = Tls12Client(hello)
        try:
            connection.send(hello, until=dialer.until())
            if not _read_until(connection, client, lambda: client.flight_done, dialer.until()):
                return Renegotiation(None, "not determined: the server closed during the handshake")
            connection.send(client.finish_records(), until=dialer.until())
            if not _read_until(connection, client, lambda: client.established, dialer.until()):
                return Renegotiation(None, "not determined: the server closed during the handshake")
            again = client_hello("TLSv1.2", suites, servername=dialer.sni, groups=(X25519, SECP256R1),
                                 compression=(0,), renegotiation_info=client.client_verify_data)
            connection.send(client.protect(HANDSHAKE, again[5:]), until=dialer.until())
            # Application data (an implicit-TLS greeting) may come first: skip it.
            answered = lambda: any(t != APPLICATION_DATA for t, _ in client.records)  # noqa: E731
            if not _read_until(connection, client, answered, dialer.until()):
                return Renegotiation(False, "the server closed the connection on a renegotiating ClientHello")
        except (HandshakeFailed, NotTlsRecord) as exc:
            return Renegotiation(None, f"not determined: {exc}")
        except StepTimeout:
            return Renegotiation(None, "not determined: no answer in time")
        except DeadlineExceeded:
            raise
        except TransportError as exc:
            return Renegotiation(False, f"the connection ended on a renegotiating ClientHello: {exc}")
        content_type, plaintext = next(r for r in client.records if r[0] != APPLICATION_DATA)
        if content_type == HANDSHAKE and plaintext[:1] == b"\x02":
            return Renegotiation(True, "a renegotiating ClientHello got a ServerHello")
        if content_type == ALERT and len(plaintext) == 2:
            return Renegotiation(False, f"a renegotiating ClientHello got alert {alert_name(plaintext[1])}")
        return Renegotiation(None, f"not determined: record type {content_type} after a renegotiating "
                             "ClientHello")

    try:
        return dialer.run(action, "renegotiation")
    except Unreachable as exc:
        return Renegotiation(None, f"not determined: {exc}")
