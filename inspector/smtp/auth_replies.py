"""What each AUTH reply means, in one table (RFC 4954 §4, §6; RFC 3463; RFC 5248 registry).

The reply code decides the class of the answer; the enhanced status code only
refines it (RFC 3463 §3; RFC 2034 §4: its class must match the reply code's).
Lookup: the exact (code, enhanced) pair, then the reply code alone (with the
enhanced code's own meaning added when it says more), then the enhanced code
alone for a reply code with no AUTH meaning, then the reply code's class.
"""

from __future__ import annotations

from ..frozen import frozen


@frozen
class AuthReplyMeaning:
    code: int
    enhanced: str | None
    explanation: str
    rule: str


#: (code, enhanced code) rows; the first row of a code is its meaning without (or with
#: an unlisted) enhanced code.
AUTH_REPLY_MEANINGS = (
    AuthReplyMeaning(235, "2.7.0", "authentication succeeded", "RFC 4954 §6"),
    AuthReplyMeaning(334, None, "the server asks for the next step of the exchange", "RFC 4954 §4"),
    AuthReplyMeaning(432, "4.7.12", "a password transition is needed: log in once with PLAIN "
                     "over TLS, then retry", "RFC 4954 §6"),
    AuthReplyMeaning(435, None, "temporary authentication failure (Exim's reply when it cannot "
                     "check the credentials now): retry later", "RFC 3463 §3.1; RFC 4954 §6 (454)"),
    AuthReplyMeaning(454, "4.7.0", "temporary authentication failure (the server's "
                     "authentication back end is unavailable, or a rate limit): retry later",
                     "RFC 4954 §6; RFC 3463 §3.8"),
    AuthReplyMeaning(500, "5.5.6", "an authentication line was too long", "RFC 4954 §6"),
    AuthReplyMeaning(501, "5.7.0", "the client cancelled the exchange (*) or sent bad base64",
                     "RFC 4954 §4"),
    AuthReplyMeaning(501, "5.5.2", "the server could not decode the client's base64", "RFC 4954 §4"),
    AuthReplyMeaning(503, None, "bad sequence: already authenticated, AUTH not offered, or AUTH "
                     "inside a mail transaction", "RFC 4954 §4; RFC 5321 §4.2.4"),
    AuthReplyMeaning(504, "5.5.4", "the server does not support this mechanism", "RFC 4954 §4"),
    AuthReplyMeaning(530, "5.7.0", "authentication required before this command", "RFC 4954 §6"),
    AuthReplyMeaning(534, "5.7.9", "mechanism too weak for this server's policy: use a stronger "
                     "one (e.g. SCRAM), or the credential the server asks for", "RFC 4954 §6"),
    AuthReplyMeaning(535, "5.7.8", "bad credentials: wrong user name or password (or token), or "
                     "the account may not log in here", "RFC 4954 §6"),
    AuthReplyMeaning(538, "5.7.11", "encryption required for this mechanism: use STARTTLS or "
                     "implicit TLS first", "RFC 4954 §6"),
    AuthReplyMeaning(421, None, "the server is closing the connection", "RFC 5321 §3.8"),
)

#: What an enhanced code adds to a reply code that already has a meaning (RFC 3463 §3,
#: RFC 4954 §6, RFC 5248 registry). Generic codes (X.0.0, X.7.0) add nothing.
ENHANCED_DETAILS = {
    "5.7.8": "the server says the credentials are invalid",
    "5.7.9": "the server says the mechanism is too weak",
    "5.7.11": "the server says this mechanism needs encryption",
    "4.7.12": "the server says a password transition is needed",
    "5.7.14": "trust relationship required: the server wants another step first (Gmail: sign in "
              "with a web browser)",
    "5.7.4": "security features not supported",
    "5.3.3": "the server lacks the requested feature",
    "5.5.4": "invalid command arguments",
}

_SUBJECTS = {"0": "other or undefined status", "1": "addressing status", "2": "mailbox status",
             "3": "mail system status", "4": "network and routing status",
             "5": "mail delivery protocol status", "6": "message content or media status",
             "7": "security or policy status"}
_CLASSES = {2: "success", 3: "intermediate reply", 4: "temporary failure", 5: "permanent failure"}


def explain(code: int | None, enhanced: str | None, text: str = "") -> tuple[str, str]:
    """``(explanation, rule)`` for an AUTH reply: the reply code first, the enhanced code refines."""
    if code is None:
        return "no reply", "RFC 4954 §4"
    ignored = ""
    if enhanced and not enhanced.startswith(f"{code // 100}."):
        ignored = (f" (enhanced code {enhanced} is of another class than {code} and is ignored, "
                   "RFC 3463 §2)")
        enhanced = None
    for meaning in AUTH_REPLY_MEANINGS:
        if meaning.code == code and meaning.enhanced == enhanced:
            return _with_text(meaning, text) + ignored, meaning.rule
    by_code = next((m for m in AUTH_REPLY_MEANINGS if m.code == code), None)
    if by_code is not None:
        detail = ENHANCED_DETAILS.get(enhanced or "")
        refined = f" ({enhanced}: {detail})" if detail and enhanced != by_code.enhanced else ""
        return _with_text(by_code, text) + refined + ignored, by_code.rule
    by_enhanced = next((m for m in AUTH_REPLY_MEANINGS if enhanced and m.enhanced == enhanced
                        and m.code // 100 == code // 100 and m.code != 501), None)
    if by_enhanced is not None:
        return by_enhanced.explanation, by_enhanced.rule + "; RFC 3463 §3"
    kind = _CLASSES.get(code // 100, "unexpected reply")
    subject = f"; enhanced code {enhanced}: {_SUBJECTS.get(enhanced.split('.')[1], 'unregistered')}" \
        if enhanced else ""
    return (f"{kind} (code {code} has no AUTH-specific meaning{subject}){ignored}",
            "RFC 5321 §4.2.1; RFC 3463 §3")


def _with_text(meaning: AuthReplyMeaning, text: str) -> str:
    """530 doubles as RFC 3207 §4's "Must issue a STARTTLS command first"."""
    if meaning.code == 530 and "STARTTLS" in text.upper():
        return "TLS first: the server wants STARTTLS before it accepts AUTH (RFC 3207 §4)"
    return meaning.explanation
