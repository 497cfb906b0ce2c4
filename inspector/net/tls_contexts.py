"""The ssl contexts the probes hand to the transport (configuration only; the I/O is in transport.py)."""

from __future__ import annotations

import ssl
import warnings


def _quiet() -> None:
    """ssl warns that TLS 1.0/1.1 are deprecated when a context allows them (we allow them on
    purpose, to report tls-legacy-version). A filter, not ``warnings.catch_warnings()``, which is
    not thread-safe; set again on each call, since test runners reset the filters."""
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=__name__)


_quiet()


_INSPECTION: list[ssl.SSLContext] = []


def inspection_context() -> ssl.SSLContext:
    """A client context that completes handshakes with anything, so the certificate can be judged.

    Trust and hostname are checked afterwards by :mod:`inspector.certs`, which
    reports why a chain fails instead of only refusing it. Old protocol
    versions stay possible so that a server offering only them is reported
    (tls-legacy-version) rather than unreachable.

    One context per process, shared (read-only: callers only wrap connections with it, and
    a client context caches no sessions): building one costs more than a loopback handshake,
    and ``scan`` would build one per server.
    """
    if not _INSPECTION:
        _INSPECTION.append(_new_inspection_context())
    return _INSPECTION[0]


def _new_inspection_context() -> ssl.SSLContext:
    _quiet()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1   # warning silenced at import (thread-safe)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pass
    return context



_TLS_VERSIONS = {"TLSv1": "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3"}


def pinned_context(version: str, openssl_names: list[str]) -> ssl.SSLContext | None:
    """A client context for ``version`` only, offering ``openssl_names`` (ignored for TLS 1.3)."""
    _quiet()
    attribute = _TLS_VERSIONS.get(version)
    if attribute is None or not getattr(ssl, f"HAS_{attribute}", False):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Whether the server can finish, not whether OpenSSL 3 would let it: servers without
    # RFC 5746 secure renegotiation are allowed here (SSL_OP_LEGACY_SERVER_CONNECT).
    context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
    try:
        context.minimum_version = context.maximum_version = getattr(ssl.TLSVersion, attribute)
        if version != "TLSv1.3":
            if not openssl_names:
                return None
            context.set_ciphers(":".join(openssl_names) + ":@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return None
    return context


def resumption_context(kind: str) -> ssl.SSLContext | None:
    """A client context for one resumption check (inspector.probes.tls_resumption).

    ``kind``: "session_id" (TLS 1.2, tickets off: ``OP_NO_TICKET``), "ticket"
    (TLS 1.2, RFC 5077) or "tls13_ticket" (TLS 1.3 PSK). None when this
    Python/OpenSSL cannot offer the version.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
    version = ssl.TLSVersion.TLSv1_3 if kind == "tls13_ticket" else ssl.TLSVersion.TLSv1_2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = version
        if kind == "session_id":
            context.options |= ssl.OP_NO_TICKET
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return None
    return context
