"""Rules about the mail transaction: MAIL, RCPT, DATA/BDAT and their replies (``send``).

RFC 5321 §3.3 (the transaction), RFC 2920 (pipelining), RFC 1870 (SIZE),
RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 3461 (DSN), RFC 3030
(CHUNKING), RFC 8689 (REQUIRETLS), RFC 6409 (submission). Facts in, findings
out; the meanings of replies come from :mod:`inspector.smtp.transaction_replies`.
"""

from __future__ import annotations

from ..findings import Finding, Severity, make_finding

#: Submission ports (RFC 6409 §3.1, RFC 8314 §3.3): mail is accepted there only from a login.
SUBMISSION_PORTS = (587, 465)


def _said(code: int | None, enhanced: str | None, explanation: str, advice: str) -> str:
    head = f"{code}{' ' + enhanced if enhanced else ''}" if code is not None else "no reply"
    return f"{head}: {explanation}" + (f"; {advice}" if advice else "")


def reply_out_of_order(verb: str, code: int | None, enhanced: str | None) -> Finding | None:
    """RFC 2920 §3.1, RFC 3463 §3.2: a reply that cannot belong to the command it was matched to.

    A 354 answers only DATA; a 2xx never answers DATA itself (RFC 5321 §4.3.2);
    ``X.1.5`` (destination valid) answers RCPT, ``2.1.0`` answers MAIL.
    """
    subject = ".".join(enhanced.split(".")[1:]) if enhanced else None
    wrong = ((code == 354 and verb != "DATA")
             or (verb == "DATA" and code is not None and code // 100 == 2)
             or (verb == "MAIL" and subject == "1.5")
             or (verb == "RCPT" and enhanced == "2.1.0"))
    if not wrong:
        return None
    return make_finding("pipelining-reply-mismatch",
                        f"{verb} was answered {code}{' ' + enhanced if enhanced else ''}, a reply "
                        "that belongs to another command: replies out of order or one missing; "
                        "the transaction was abandoned rather than mis-matched")


def replies_missing(unanswered: tuple[str, ...], pipelined: bool, closed: bool) -> Finding | None:
    """RFC 2920 §3.1: every command of a pipelined group gets exactly one reply."""
    if not unanswered:
        return None
    how = "pipelined group" if pipelined else "transaction"
    end = "the server closed the connection" if closed else "the step timeout ended"
    return make_finding("pipelining-reply-missing",
                        f"no reply to {' '.join(unanswered)} of the {how}: {end}")


def mail_rejected(code, enhanced, explanation: str, advice: str) -> Finding | None:
    """RFC 5321 §4.1.1.2: MAIL FROM refused (a 4xx may succeed later)."""
    if code is None or code // 100 == 2:
        return None
    severity = Severity.WARNING if code // 100 == 4 else Severity.ERROR
    return make_finding("mail-rejected", _said(code, enhanced, explanation, advice), severity=severity)


def recipient_rejected(address: str, code, enhanced, explanation: str, advice: str) -> Finding | None:
    """RFC 5321 §4.1.1.3: RCPT TO refused for one recipient."""
    if code is None or code // 100 == 2:
        return None
    severity = Severity.WARNING if code // 100 == 4 else Severity.ERROR
    return make_finding("recipient-rejected", f"<{address}> " + _said(code, enhanced, explanation, advice),
                        severity=severity)


def message_rejected(stage: str, code, enhanced, explanation: str, advice: str) -> Finding | None:
    """RFC 5321 §4.1.1.4, RFC 3030 §2: the message (DATA, BDAT or end of data) refused."""
    if code is None or code in (250, 251, 354):
        return None
    return make_finding("message-rejected", f"{stage}: " + _said(code, enhanced, explanation, advice))


def greylisted(stage: str, kind: str, retried_after: float | None,
               accepted_then: bool | None) -> Finding | None:
    """RFC 6647 §2.1: a temporary refusal of a first attempt (greylisting)."""
    if kind != "greylisting":
        return None
    if retried_after is None:
        tail = "not retried (--retry-greylist waits and retries once)"
    else:
        tail = (f"retried after {retried_after:.1f} s: "
                + ("accepted" if accepted_then else "refused again"))
    return make_finding("greylisted", f"{stage} deferred by greylisting; {tail}")


def submission_without_auth(port: int, authenticated: bool, accepted: int) -> Finding | None:
    """RFC 6409 §4.3, RFC 8314 §3.3: a submission port accepts recipients only from a login."""
    if port not in SUBMISSION_PORTS or authenticated or not accepted:
        return None
    return make_finding("submission-without-auth",
                        f"port {port} accepted {accepted} recipient(s) without AUTH")


def recipient_bounced_in_data(accepted: tuple[str, ...], code, enhanced) -> Finding | None:
    """RFC 5321 §3.3: recipients accepted at RCPT, then the message refused at the end of data."""
    if not accepted or code is None or code // 100 in (2, 3):
        return None
    return make_finding("recipient-bounced-in-data",
                        f"{', '.join(f'<{a}>' for a in accepted)} accepted at RCPT, then the message "
                        f"was refused with {code}{' ' + enhanced if enhanced else ''}")


def queue_id(identifier: str | None, method: str) -> Finding | None:
    """RFC 5321 §4.2.2 (a fact, not a fault): the id the server gave the queued message."""
    if not identifier:
        return None
    return make_finding("queue-id", f"{method}: queued as {identifier} (look for it in the server's log)")


def message_over_size_limit(size: int, limit: int | None, ignored: bool) -> Finding | None:
    """RFC 1870 §6: a message bigger than the advertised SIZE must not be sent."""
    if not limit or size <= limit:
        return None
    action = "sent anyway (--ignore-size-limit)" if ignored else "not sent"
    return make_finding("message-over-size-limit",
                        f"the message is {size} octets; the server's SIZE is {limit}: {action}")


def smtputf8_not_offered(addresses: tuple[str, ...], offered: bool) -> Finding | None:
    """RFC 6531 §3.3: non-ASCII mailboxes need SMTPUTF8; without it nothing is sent."""
    if offered or not addresses:
        return None
    return make_finding("smtputf8-not-offered",
                        f"{', '.join(addresses)} need(s) SMTPUTF8, which the server does not offer: "
                        "nothing was sent")


def eightbitmime_not_offered(has_8bit: bool, offered: bool) -> Finding | None:
    """RFC 6152 §3: 8-bit message data only to a server that offers 8BITMIME."""
    if offered or not has_8bit:
        return None
    return make_finding("8bitmime-not-offered",
                        "the message has 8-bit octets and the server does not offer 8BITMIME: not sent "
                        "(encode it as quoted-printable or base64)")


def chunking_not_offered(requested: bool, offered: bool) -> Finding | None:
    """RFC 3030 §2: BDAT only when CHUNKING is offered; DATA is used instead."""
    if not requested or offered:
        return None
    return make_finding("chunking-not-offered", "--bdat asked for, CHUNKING not offered: sent with DATA")


def dsn_not_offered(requested: tuple[str, ...], offered: bool) -> Finding | None:
    """RFC 3461 §4: NOTIFY/RET/ENVID only to a server that offers DSN; they were left out."""
    if not requested or offered:
        return None
    return make_finding("dsn-not-offered",
                        f"{', '.join(requested)} asked for, DSN not offered: sent without them")


def requiretls_not_offered(requested: bool, offered: bool, secure: bool) -> Finding | None:
    """RFC 8689 §4.1: REQUIRETLS needs a TLS session and the extension offered; else nothing is sent."""
    if not requested or (offered and secure):
        return None
    why = "the session has no TLS" if not secure else "the server does not offer REQUIRETLS"
    return make_finding("requiretls-not-offered", f"--requiretls asked for, but {why}: not sent")


def line_ends_fixed(bare_lf: int, bare_cr: int) -> Finding | None:
    """RFC 5321 §2.3.8, §4.1.1.4: bare LF/CR in a message, converted to CRLF (never silently)."""
    if not bare_lf and not bare_cr:
        return None
    return make_finding("line-ends-fixed",
                        f"{bare_lf} bare LF and {bare_cr} bare CR in the message were sent as CRLF "
                        "(--fix-line-ends)")
