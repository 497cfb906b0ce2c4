"""The signature schemes a TLS 1.3 server signs its CertificateVerify with (RFC 8446 §4.2.3, §4.4.3).

TLS 1.3 encrypts CertificateVerify, so the enumeration's ServerHellos do not
show it. Like the suites (:mod:`inspector.tls.enumerate`): offer every TLS 1.3
scheme, read the one the server signs with
(:class:`inspector.tls.checks.tls13_signature.CertificateVerifyReader`
decrypts the flight with our own x25519 or secp256r1 key), remove it and offer the rest,
until the server refuses (handshake_failure, RFC 8446 §4.4.2.2) or closes.
Connections: schemes found + 1, through the audit's dialer.
"""

from __future__ import annotations

from ..errors import DeadlineExceeded, StepTimeout, TransportError
from ..frozen import frozen
from ..tls.checks.tls13_signature import SECP256R1, SUITES, X25519, CertificateVerifyReader, key_share
from ..tls.client_hello import client_hello
from ..tls.enumerate import Unreachable
from ..tls.registry import signature_scheme_name

#: The schemes RFC 8446 §4.2.3 allows in a TLS 1.3 CertificateVerify (no PKCS#1 v1.5, no SHA-1).
TLS13_SCHEMES = (0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B)


@frozen
class Tls13Signatures:
    schemes: tuple[int, ...]      #: in the order the server chose them
    detail: str
    connections: int = 0


def _signed_with(dialer, suites: tuple[int, ...], offered: tuple[int, ...], group: int):
    """(scheme or None, why not) for one TLS 1.3 hello offering ``offered``."""
    key, public = key_share(group)
    hello = client_hello("TLSv1.3", suites, servername=dialer.sni, groups=(group,), key_share_group=group,
                         key_share_value=public, signature_algorithms=offered)

    def action(connection):
        connection.send(hello, until=dialer.until())
        reader = CertificateVerifyReader(hello, key)
        until = dialer.until()
        try:
            while not reader.done:
                data = connection.recv(until=until)
                if not data:
                    return None, "the server closed the connection"
                reader.feed(data)
        except StepTimeout:
            return None, "the server went silent"
        except DeadlineExceeded:
            raise
        except TransportError as exc:
            return None, str(exc)
        if reader.scheme is not None:
            return reader.scheme, ""
        return None, f"alert {reader.alert}" if reader.alert else reader.error

    return dialer.run(action, "signatures")


def tls13_signatures(dialer, picks: list[int], groups=()) -> Tls13Signatures:
    """The schemes, one connection per scheme found plus the refusal.

    ``picks``: accepted TLS 1.3 suites; ``groups``: the TLS 1.3 groups the
    enumeration found (x25519 is used if accepted or unknown, else secp256r1).
    """
    suites = tuple(code for code in picks if code in SUITES)
    if not suites:
        return Tls13Signatures((), "not determined: the server picks no TLS 1.3 suite we can decrypt")
    group = X25519 if not groups or "x25519" in groups else SECP256R1 if "secp256r1" in groups else None
    if group is None:
        return Tls13Signatures((), "not determined: the server accepts neither x25519 nor secp256r1")
    remaining, found, connections, why = list(TLS13_SCHEMES), [], 0, ""
    try:
        while remaining:
            connections += 1
            scheme, why = _signed_with(dialer, suites, tuple(remaining), group)
            if scheme is None:
                break
            if scheme not in remaining:
                why = f"signed with {signature_scheme_name(scheme)}, which was not offered (RFC 8446 §4.4.3)"
                break
            found.append(scheme)
            remaining.remove(scheme)
    except Unreachable as exc:
        why = f"not determined: {exc}"
    names = ", ".join(signature_scheme_name(code) for code in found)
    if not found:
        return Tls13Signatures((), f"no CertificateVerify read: {why}", connections)
    return Tls13Signatures(tuple(found), f"{names}; the other schemes of RFC 8446 §4.2.3 offered: "
                           f"{why or 'none left'}", connections)
