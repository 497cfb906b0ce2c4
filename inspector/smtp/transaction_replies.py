"""What each reply in a mail transaction means and what to do about it, in one table.

The reply code decides the class (RFC 5321 §4.2.1: 2 success, 4 try again
later, 5 do not repeat as is); the enhanced status code refines it (RFC 3463
§3; the RFC 5248 registry). Looked up by (code, enhanced code), then by the
server's own words for greylisting (postgrey says ``450 4.2.0 ... Greylisted``),
then by the enhanced code alone, then by the code alone.
"""

from __future__ import annotations

from ..frozen import frozen


@frozen
class TransactionReplyMeaning:
    code: int | None        #: None: any code of the enhanced code's class
    enhanced: str | None
    kind: str               #: a short name the rules key on (never a finding id)
    explanation: str
    advice: str             #: what to do
    rule: str


M = TransactionReplyMeaning
TRANSACTION_REPLY_MEANINGS = (
    M(554, "5.7.1", "relay-refused", "relay access denied: the session is not logged in, or the "
      "recipient's domain is not one this server delivers for",
      "log in first (--auth) on the submission port, or send to the recipient domain's own MX",
      "RFC 5321 §3.6.2; RFC 6409 §4.3"),
    M(553, "5.7.1", "sender-not-owned", "the sender address is not owned by the login "
      "(Postfix reject_sender_login_mismatch)",
      "use a --from address the account may send as, or log in as its owner", "RFC 6409 §6.1"),
    M(530, "5.7.0", "auth-needed", "authentication required before a mail transaction",
      "log in with --auth (after TLS) before MAIL FROM", "RFC 4954 §6"),
    M(450, "4.7.1", "greylisting", "greylisting: the server defers the first attempt of an "
      "unknown sender/recipient/client triple", "try again after a few minutes "
      "(--retry-greylist waits and retries once)", "RFC 6647 §2.1; RFC 3463 §3.8"),
    M(451, "4.7.1", "greylisting", "greylisting: the server defers the first attempt of an "
      "unknown sender/recipient/client triple", "try again after a few minutes "
      "(--retry-greylist waits and retries once)", "RFC 6647 §2.1; RFC 3463 §3.8"),
    M(452, "4.5.3", "too-many-recipients", "too many recipients for one transaction",
      "send the rest in another transaction (the accepted ones are kept)", "RFC 5321 §4.5.3.1.10"),
    M(552, "5.3.4", "message-too-big", "the message is bigger than the server accepts",
      "send a smaller message (compare with the SIZE the server advertises)", "RFC 1870 §6"),
    M(550, "5.1.1", "unknown-recipient", "the recipient mailbox does not exist",
      "check the address for typos", "RFC 3463 §3.2"),
    M(421, "4.7.0", "rate-limited", "the server is closing the session: rate limit or policy",
      "wait and send later, fewer messages at a time", "RFC 5321 §3.8; RFC 3463 §3.8"),
    M(550, "5.7.26", "dmarc-policy", "DMARC (or multiple authentication checks) failed for the "
      "sender's domain", "send from a domain whose SPF/DKIM align with From:", "RFC 7372 §3.3"),
    M(550, "5.7.23", "spf-policy", "SPF validation failed for the sender's domain",
      "send through a server the sender domain's SPF record lists", "RFC 7372 §3.2"),
    M(554, "5.6.0", "content-refused", "the message content was rejected (malformed MIME, "
      "spam or virus filter)", "check the message (headers, attachments) and the server's text",
      "RFC 3463 §3.7"),
    M(554, "5.5.1", "no-recipients", "DATA refused: no recipient of this transaction was accepted",
      "see the RCPT replies above", "RFC 5321 §3.3"),
    M(354, None, "send-body", "the server waits for the message body, ended by a line with one dot",
      "send the body", "RFC 5321 §4.1.1.4"),
    M(250, "2.1.0", "sender-ok", "the sender address is accepted", "", "RFC 5321 §4.1.1.2"),
    M(250, "2.1.5", "recipient-ok", "the recipient is accepted", "", "RFC 5321 §4.1.1.3"),
    M(251, None, "recipient-forwarded", "the recipient is not local; the server forwards it", "",
      "RFC 5321 §4.2.2"),
    M(250, "2.0.0", "accepted", "accepted", "", "RFC 5321 §4.2.2"),
    M(250, "2.6.0", "accepted", "the message is accepted", "", "RFC 3463 §3.7"),
    M(None, "5.1.1", "unknown-recipient", "the recipient mailbox does not exist",
      "check the address for typos", "RFC 3463 §3.2"),
    M(None, "5.1.8", "sender-domain-bad", "the sender's domain is not valid (no DNS record)",
      "use a sender address in a domain that exists", "RFC 3463 §3.2"),
    M(None, "5.7.1", "policy-refused", "refused by the server's policy", "read the server's text",
      "RFC 3463 §3.8"),
    M(None, "5.3.4", "message-too-big", "the message is bigger than the server accepts",
      "send a smaller message", "RFC 1870 §6"),
    M(None, "5.6.7", "utf8-refused", "a non-ASCII address needs SMTPUTF8, which the server refused",
      "use an ASCII address or a server that offers SMTPUTF8", "RFC 6531 §3.5"),
    M(None, "4.7.1", "greylisting", "temporarily refused by policy (often greylisting)",
      "try again later (--retry-greylist)", "RFC 3463 §3.8"),
    M(503, None, "bad-sequence", "bad sequence of commands (MAIL before EHLO, RCPT before MAIL, "
      "DATA without an accepted recipient)", "", "RFC 5321 §4.3.2"),
)

_GREYLIST = next(m for m in TRANSACTION_REPLY_MEANINGS if m.kind == "greylisting")


def explain(code: int | None, enhanced: str | None, text: str = "") -> TransactionReplyMeaning:
    """The meaning of one transaction reply; a generic one for codes the table lacks."""
    for meaning in TRANSACTION_REPLY_MEANINGS:
        if meaning.code == code and meaning.enhanced == enhanced and code is not None:
            return meaning
    if code is not None and code // 100 == 4 and "greylist" in text.lower():
        return _GREYLIST
    for meaning in TRANSACTION_REPLY_MEANINGS:
        if meaning.code is None and enhanced is not None and meaning.enhanced == enhanced:
            return meaning
    for meaning in TRANSACTION_REPLY_MEANINGS:
        if meaning.code == code and meaning.enhanced is None:
            return meaning
    if code is None:
        return M(None, None, "no-reply", "no reply", "", "RFC 5321 §4.2")
    kind, advice = {2: ("success", ""), 3: ("intermediate", ""),
                    4: ("temporary", "try again later"),
                    5: ("permanent", "do not repeat as is; read the server's text")}.get(
        code // 100, ("unexpected", "read the server's text"))
    return M(code, enhanced, kind, f"{kind} reply ({code}{' ' + enhanced if enhanced else ''})",
             advice, "RFC 5321 §4.2.1")
