"""Catalogue part: authentication (``probe --auth``, ``auth-all``) and credentials seen in captures.

Decided in :mod:`inspector.rules` (auth.py and auth_all.py).
"""

from __future__ import annotations

from .kind import LIVE, REPLAY, FindingKind, OneSided, Severity

_CLIENT_CHOICE = OneSided(LIVE, "the client's own decisions (which mechanism, whether to send secrets) and, "
                                "inside TLS, the whole exchange are not visible in a capture")

KINDS = [
    FindingKind("auth-refused-plaintext", Severity.ERROR,
                "AUTH was not attempted: the session has no TLS and a password would cross in clear",
                "RFC 8314 §3; RFC 4954 §4",
                rule="auth.auth_refused_plaintext", step="auth", one_sided=_CLIENT_CHOICE,
                lab_faults=("no-starttls-plain-auth",)),
    FindingKind("auth-plaintext-allowed", Severity.WARNING,
                "Credentials were sent without TLS (--allow-plaintext-auth)", "RFC 8314 §3; RFC 4954 §4",
                rule="auth.auth_plaintext_allowed", step="auth", one_sided=_CLIENT_CHOICE),
    FindingKind("auth-not-offered", Severity.ERROR,
                "The server offers no AUTH mechanism at this point of the session", "RFC 4954 §3",
                rule="auth.auth_not_offered", step="auth", one_sided=_CLIENT_CHOICE),
    FindingKind("auth-mechanism-not-offered", Severity.ERROR,
                "The requested AUTH mechanism is not offered by the server", "RFC 4954 §3",
                rule="auth.auth_mechanism_not_offered", step="auth", one_sided=_CLIENT_CHOICE),
    FindingKind("auth-rejected", Severity.ERROR,
                "The server rejected the authentication", "RFC 4954 §6",
                rule="auth.auth_rejected", step="auth", one_sided=_CLIENT_CHOICE),
    FindingKind("scram-server-signature-invalid", Severity.ERROR,
                "SCRAM: the server's final signature is wrong or missing; it does not know the "
                "password (a possible impostor)", "RFC 5802 §5, §9",
                rule="auth.scram_server_signature_invalid", step="auth",
                one_sided=_CLIENT_CHOICE, lab_faults=("scram-bad-signature",)),
    FindingKind("auth-answer-delayed", Severity.INFO,
                "The server took seconds to answer AUTH: it delays logins (a failed-login penalty)",
                "RFC 4954 §6",
                rule="auth_all.answer_delayed"),
    FindingKind("credentials-exposed", Severity.ERROR,
                "AUTH ran in clear text: the user name (and for PLAIN/LOGIN the password) "
                "crossed the wire readable", "RFC 4954 §4; RFC 8314 §3",
                rule="auth.credentials_exposed", step="auth",
                one_sided=OneSided(
                    REPLAY, "a live probe sends credentials in clear only with --allow-plaintext-auth, "
                            "and reports auth-plaintext-allowed then")),
]
