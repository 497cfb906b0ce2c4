"""Catalogue part: the session: greeting, EHLO, STARTTLS, replies, and what a session without TLS exposes.

Decided in :mod:`inspector.rules` (session.py and plaintext.py).
"""

from __future__ import annotations

from .kind import LIVE, FindingKind, OneSided, Severity

KINDS = [
    FindingKind("greeting-rejected", Severity.ERROR,
                "The server refused the session in its greeting (554 or 421)", "RFC 5321 §3.1",
                rule="session.greeting_rejected", step="greeting"),
    FindingKind("greeting-delayed", Severity.WARNING,
                "The greeting came late or paused between lines (pregreet trap or slow DNS)",
                "RFC 5321 §4.5.3.2.1",
                rule="session.greeting_delayed", step="greeting", lab_faults=("slow-greeting",)),
    FindingKind("ehlo-rejected", Severity.WARNING,
                "EHLO was refused; the session fell back to HELO without extensions",
                "RFC 5321 §4.1.4",
                rule="session.ehlo_rejected", step="ehlo"),
    FindingKind("reply-malformed", Severity.WARNING,
                "A reply broke the SMTP reply grammar", "RFC 5321 §4.2",
                rule="session.reply_malformed"),
    FindingKind("starttls-not-offered", Severity.WARNING,
                "The server does not offer STARTTLS", "RFC 3207 §4",
                rule="session.starttls_not_offered", step="ehlo", lab_faults=("strip-starttls",)),
    FindingKind("starttls-masked", Severity.ERROR,
                "EHLO keywords or the greeting are masked (XXXXXXXA / asterisks): "
                "an ESMTP-inspecting firewall stands in the path", "RFC 3207 §4",
                rule="session.starttls_masked", step="ehlo", lab_faults=("mask-starttls",)),
    FindingKind("starttls-failed", Severity.ERROR,
                "The server did not accept STARTTLS", "RFC 3207 §4",
                rule="plaintext.starttls_failed", step="starttls", lab_faults=("starttls-454",)),
    FindingKind("response-injection", Severity.ERROR,
                "Bytes arrived after the STARTTLS 220 reply and before the TLS handshake",
                "RFC 3207 §4.2",
                rule="session.response_injection", step="starttls", lab_faults=("inject-after-starttls",)),
    FindingKind("command-injection", Severity.ERROR,
                "The server ran a command pipelined after STARTTLS inside TLS "
                "(plaintext command injection, CVE-2011-0411 class)", "RFC 3207 §4.2",
                rule="session.command_injection", step="injection-check",
                one_sided=OneSided(LIVE, "the reply to the pipelined NOOP comes inside TLS, encrypted in the "
                                         "capture"),
                lab_faults=("execute-pipelined-starttls",)),
    FindingKind("starttls-readvertised", Severity.WARNING,
                "STARTTLS is still offered inside TLS", "RFC 3207 §4.2",
                rule="session.starttls_readvertised", step="ehlo-tls",
                one_sided=OneSided(LIVE, "the EHLO reply inside TLS is encrypted in the capture")),
    FindingKind("auth-before-tls", Severity.WARNING,
                "Plaintext AUTH mechanisms (PLAIN/LOGIN) are offered before TLS",
                "RFC 4954 §4; RFC 8314 §3",
                rule="session.auth_before_tls", step="ehlo", lab_faults=("plain-auth-before-tls",)),
    FindingKind("auth-without-tls-possible", Severity.ERROR,
                "Password mechanisms (PLAIN/LOGIN) are offered where no TLS is possible "
                "(STARTTLS not offered or refused): a password can only cross in clear",
                "RFC 8314 §3; RFC 4954 §4",
                rule="plaintext.auth_without_tls_possible"),
    FindingKind("tls-not-used", Severity.INFO,
                "The server offered STARTTLS, but the session ran without TLS (the client did not "
                "ask, or --plain)", "RFC 8314 §3",
                rule="session.tls_not_used"),
]
