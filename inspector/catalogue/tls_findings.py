"""Catalogue part: the TLS handshake of a session and the ``tls`` audit's versions and cipher suites.

Decided in :mod:`inspector.rules` (tls.py and tls_audit.py).
"""

from __future__ import annotations

from .kind import FindingKind, Severity

KINDS = [
    FindingKind("tls-handshake-failed", Severity.ERROR,
                "The TLS handshake failed", "RFC 8446 §4; RFC 3207 §4.1",
                rule="tls.tls_handshake_failed", step="tls-handshake"),
    FindingKind("tls-legacy-version", Severity.WARNING,
                "TLS below version 1.2 was negotiated", "RFC 8996 §2; RFC 8997 §3",
                rule="tls.tls_legacy_version", step="tls-handshake"),
    FindingKind("cipher-weak", Severity.ERROR,
                "The server accepts weak cipher suites (export, RC4, DES/3DES, NULL or anonymous)",
                "RFC 7465 §2; RFC 9325 §4.1",
                rule="tls_audit.cipher_weak"),
    FindingKind("cipher-no-forward-secrecy", Severity.WARNING,
                "The server accepts cipher suites without forward secrecy (static RSA/DH key exchange)",
                "RFC 9325 §4.1",
                rule="tls_audit.cipher_no_forward_secrecy"),
    FindingKind("tls13-not-supported", Severity.WARNING,
                "The server does not support TLS 1.3", "RFC 9325 §3.1.1",
                rule="tls_audit.tls13_not_supported"),
    FindingKind("tls-offer-closed", Severity.WARNING,
                "The server closes the connection when offered some key exchanges first (e.g. DHE "
                "without DH parameters) instead of picking a suite it can use or refusing with an alert",
                "RFC 5246 §7.4.1.3; RFC 8446 §4.1.1",
                rule="tls_audit.offer_closed"),
    FindingKind("tls-no-handshake-completes", Severity.ERROR,
                "The server picks cipher suites at a TLS version, but no complete handshake at that "
                "version finishes (e.g. ServerHello, then alert internal_error)",
                "RFC 8446 §4; RFC 5246 §7.3",
                rule="tls_audit.no_handshake_completes"),
    FindingKind("no-server-cipher-order", Severity.INFO,
                "The server follows the client's cipher-suite order instead of its own",
                "RFC 9325 §4.2",
                rule="tls_audit.no_server_cipher_order"),
]
