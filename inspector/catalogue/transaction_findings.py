"""Catalogue part: the mail transaction of ``send``: MAIL, RCPT, DATA/BDAT.

Decided in :mod:`inspector.rules` (transaction.py).
"""

from __future__ import annotations

from .kind import LIVE, FindingKind, OneSided, Severity

_SEND_ONLY = OneSided(LIVE, "only send runs a mail transaction; probe and replay stop before MAIL")

KINDS = [
    FindingKind("mail-rejected", Severity.ERROR, "MAIL FROM was refused (4xx: temporarily)",
                "RFC 5321 §4.1.1.2", rule="transaction.mail_rejected", step="mail",
                one_sided=_SEND_ONLY),
    FindingKind("recipient-rejected", Severity.ERROR, "A recipient was refused at RCPT TO (4xx: temporarily)",
                "RFC 5321 §4.1.1.3", rule="transaction.recipient_rejected", step="rcpt",
                one_sided=_SEND_ONLY),
    FindingKind("message-rejected", Severity.ERROR,
                "The message was refused (DATA, BDAT or the reply after the end-of-data dot)",
                "RFC 5321 §4.1.1.4; RFC 3030 §2", rule="transaction.message_rejected", step="data",
                one_sided=_SEND_ONLY),
    FindingKind("greylisted", Severity.WARNING, "The server deferred the first attempt (greylisting)",
                "RFC 6647 §2.1", rule="transaction.greylisted", step="mail",
                one_sided=_SEND_ONLY),
    FindingKind("submission-without-auth", Severity.ERROR,
                "A submission port accepted recipients without authentication",
                "RFC 6409 §4.3; RFC 8314 §3.3", rule="transaction.submission_without_auth", step="rcpt",
                one_sided=_SEND_ONLY),
    FindingKind("recipient-bounced-in-data", Severity.WARNING,
                "Recipients accepted at RCPT TO, then the message was refused in the DATA reply",
                "RFC 5321 §3.3", rule="transaction.recipient_bounced_in_data", step="data",
                one_sided=_SEND_ONLY),
    FindingKind("queue-id", Severity.INFO, "The server queued the message under this id", "RFC 5321 §4.2.2",
                rule="transaction.queue_id", step="data", one_sided=_SEND_ONLY),
    FindingKind("message-over-size-limit", Severity.ERROR,
                "The message is bigger than the SIZE the server advertises", "RFC 1870 §6",
                rule="transaction.message_over_size_limit", step="mail", one_sided=_SEND_ONLY),
    FindingKind("smtputf8-not-offered", Severity.ERROR,
                "Non-ASCII addresses need SMTPUTF8, which the server does not offer", "RFC 6531 §3.3",
                rule="transaction.smtputf8_not_offered", step="mail", one_sided=_SEND_ONLY),
    FindingKind("8bitmime-not-offered", Severity.ERROR,
                "The message has 8-bit data and the server does not offer 8BITMIME", "RFC 6152 §3",
                rule="transaction.eightbitmime_not_offered", step="mail",
                one_sided=_SEND_ONLY),
    FindingKind("chunking-not-offered", Severity.WARNING,
                "BDAT was asked for, but the server does not offer CHUNKING", "RFC 3030 §2",
                rule="transaction.chunking_not_offered", step="data", one_sided=_SEND_ONLY),
    FindingKind("dsn-not-offered", Severity.WARNING,
                "Delivery status notification parameters were asked for, but DSN is not offered",
                "RFC 3461 §4", rule="transaction.dsn_not_offered", step="mail",
                one_sided=_SEND_ONLY),
    FindingKind("requiretls-not-offered", Severity.ERROR,
                "REQUIRETLS was asked for, but the server or the session cannot honour it", "RFC 8689 §4.1",
                rule="transaction.requiretls_not_offered", step="mail", one_sided=_SEND_ONLY),
    FindingKind("pipelining-reply-mismatch", Severity.ERROR,
                "A reply does not fit the command it answers: the pipelined group was answered out "
                "of order or with a reply missing", "RFC 2920 §3.1", rule="transaction.reply_out_of_order",
                step="mail", one_sided=_SEND_ONLY,
                lab_faults=("pipelining-out-of-order", "pipelining-missing-reply")),
    FindingKind("pipelining-reply-missing", Severity.ERROR, "Commands of the transaction got no reply",
                "RFC 2920 §3.1", rule="transaction.replies_missing", step="mail",
                one_sided=_SEND_ONLY, lab_faults=("pipelining-missing-reply",)),
    FindingKind("line-ends-fixed", Severity.WARNING,
                "The message had bare LF or CR line ends; they were sent as CRLF", "RFC 5321 §2.3.8",
                rule="transaction.line_ends_fixed", step="data", one_sided=_SEND_ONLY),
]
