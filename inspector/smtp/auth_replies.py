"""What each AUTH reply means, in one table (RFC 4954 §4, §6; RFC 3463; RFC 5248 registry).

Looked up by (code, enhanced code) first, then by code alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuthReplyMeaning:
    code: int
    enhanced: str | None
    explanation: str
    rule: str


AUTH_REPLY_MEANINGS = (
    AuthReplyMeaning(235, "2.7.0", "authentication succeeded", "RFC 4954 §6"),
    AuthReplyMeaning(334, None, "the server asks for the next step of the exchange", "RFC 4954 §4"),
    AuthReplyMeaning(432, "4.7.12", "a password transition is needed: log in once with PLAIN "
                     "over TLS, then retry", "RFC 4954 §6"),
    AuthReplyMeaning(454, "4.7.0", "temporary authentication failure (the server's "
                     "authentication back end is unavailable): retry later", "RFC 4954 §6; RFC 3463 §3.8"),
    AuthReplyMeaning(500, "5.5.6", "an authentication line was too long", "RFC 4954 §6"),
    AuthReplyMeaning(501, "5.7.0", "the client cancelled the exchange (*) or sent bad base64",
                     "RFC 4954 §4"),
    AuthReplyMeaning(501, "5.5.2", "the server could not decode the client's base64", "RFC 4954 §4"),
    AuthReplyMeaning(503, None, "bad sequence: already authenticated, or AUTH inside a mail "
                     "transaction", "RFC 4954 §4; RFC 5321 §4.2.4"),
    AuthReplyMeaning(504, "5.5.4", "the server does not support this mechanism", "RFC 4954 §4"),
    AuthReplyMeaning(530, "5.7.0", "authentication required before this command", "RFC 4954 §6"),
    AuthReplyMeaning(534, "5.7.9", "mechanism too weak for this server's policy: use a stronger "
                     "one (e.g. SCRAM)", "RFC 4954 §6"),
    AuthReplyMeaning(535, "5.7.8", "bad credentials: wrong user name or password (or token)",
                     "RFC 4954 §6"),
    AuthReplyMeaning(538, "5.7.11", "encryption required for this mechanism: use STARTTLS or "
                     "implicit TLS first", "RFC 4954 §6"),
    AuthReplyMeaning(421, None, "the server is closing the connection", "RFC 5321 §3.8"),
)

#: Enhanced codes alone (RFC 3463 §3.8, RFC 4954 §6), for replies whose basic code is unusual.
_BY_ENHANCED = {m.enhanced: m for m in AUTH_REPLY_MEANINGS if m.enhanced and m.code != 501}


def explain(code: int | None, enhanced: str | None) -> tuple[str, str]:
    """``(explanation, rule)`` for an AUTH reply; a generic text for unknown codes."""
    for meaning in AUTH_REPLY_MEANINGS:
        if meaning.code == code and meaning.enhanced == enhanced:
            return meaning.explanation, meaning.rule
    if enhanced in _BY_ENHANCED:
        meaning = _BY_ENHANCED[enhanced]
        return meaning.explanation, meaning.rule
    for meaning in AUTH_REPLY_MEANINGS:
        if meaning.code == code:
            return meaning.explanation, meaning.rule
    if code is None:
        return "no reply", "RFC 4954 §4"
    kind = {2: "success", 4: "temporary failure", 5: "permanent failure"}.get(code // 100, "unexpected reply")
    return f"{kind} (code {code} has no AUTH-specific meaning)", "RFC 5321 §4.2.1"
