"""Rules about SMTP AUTH (RFC 4954, RFC 8314 §3, RFC 5802).

Called by the probe's AUTH step and ``--auth all`` (what the client did) and
by replay (what a captured client did: credentials in clear text).
"""

from __future__ import annotations

from ..findings import Finding, Severity, make_finding
from ..frozen import frozen

#: Mechanisms whose exchange carries the password itself (RFC 4616, draft-murchison-sasl-login).
CLEAR_SECRET_MECHANISMS = ("PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER")


@frozen
class AuthAttempt:
    """One AUTH exchange seen in a capture."""

    mechanism: str
    user: str | None       #: decoded where the mechanism shows it, else None
    in_clear: bool
    reply_code: int | None  #: 235 success, 535 failure, None when no final reply was seen
    responses: int = 0      #: client lines sent in the exchange (initial response included)


def auth_not_offered(offered, secure: bool) -> Finding | None:
    """RFC 4954 §3: the EHLO reply at this point lists no AUTH mechanism."""
    if offered:
        return None
    return make_finding("auth-not-offered", f"EHLO {'inside' if secure else 'before'} TLS lists no AUTH")


def auth_refused_plaintext(offered, *, secure: bool, allowed: bool) -> Finding | None:
    """RFC 8314 §3, RFC 4954 §4: no credentials are sent without TLS unless the user allows it."""
    if secure or allowed or not offered:
        return None
    return make_finding("auth-refused-plaintext",
                        f"AUTH {' '.join(offered)} offered without TLS; no credentials sent "
                        "(--allow-plaintext-auth overrides)")


def auth_plaintext_allowed(port: int, *, secure: bool, allowed: bool) -> Finding | None:
    """RFC 8314 §3: credentials went out without TLS because the user allowed it."""
    if secure or not allowed:
        return None
    return make_finding("auth-plaintext-allowed",
                        f"AUTH sent without TLS on port {port} (--allow-plaintext-auth)")


def auth_mechanism_not_offered(requested: str | None, offered) -> Finding | None:
    """RFC 4954 §3: the mechanism asked for (or, for auto, any usable one) is not offered."""
    if requested is None:
        return make_finding("auth-mechanism-not-offered",
                            f"server offers {' '.join(offered)}; none usable with the secrets given")
    if requested in offered:
        return None
    return make_finding("auth-mechanism-not-offered", f"{requested} is not among {' '.join(offered)}")


def auth_rejected(mechanism: str, user: str, reply_summary: str, explanation: str,
                  code: int | None) -> Finding | None:
    """RFC 4954 §6: anything but 235 ends the exchange as a rejection."""
    if code == 235:
        return None
    return make_finding("auth-rejected", f"{mechanism} as {user}: {reply_summary} ({explanation})")


def scram_server_signature_invalid(problem: str) -> Finding:
    """RFC 5802 §5, §9: the server's final message does not prove it knows the password."""
    return make_finding("scram-server-signature-invalid", problem)


def credentials_exposed(attempt: AuthAttempt) -> Finding | None:
    """RFC 4954 §4, RFC 8314 §3: an AUTH exchange in clear text, seen in a capture."""
    if not attempt.in_clear or not attempt.responses:
        return None
    user = f"user {attempt.user!r}" if attempt.user else "user name not decoded"
    code = attempt.reply_code
    outcome = {235: "accepted (235)"}.get(code, f"answered {code}" if code else "no reply seen")
    if attempt.mechanism in CLEAR_SECRET_MECHANISMS:
        what, severity = "password readable on the wire (REDACTED here)", Severity.ERROR
    else:
        what, severity = "response open to offline guessing (REDACTED here)", Severity.WARNING
    return make_finding("credentials-exposed",
                        f"AUTH {attempt.mechanism} in clear text: {user}, {what}; server {outcome}",
                        severity=severity)
