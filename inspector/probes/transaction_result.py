"""What ``send`` asks for and what its mail transaction gives back (frozen data; no I/O)."""

from __future__ import annotations

from ..frozen import field, frozen
from ..smtp.reply import Reply
from ..smtp.transaction import LineEndings

#: A queue id in the final reply: Postfix "queued as X", Exim "id=X", others "queued as <X>".
_QUEUE_ID_MARKERS = ("queued as ", "id=")


@frozen
class TransactionRequest:
    """What ``send`` asked for (the message already built, CRLF, not dot-stuffed)."""

    sender: str
    recipients: tuple[str, ...]          #: the envelope: --to, --cc and --bcc
    message: bytes = field(repr=False)
    bdat: bool = False
    pipelining: bool = True              #: --no-pipelining sends one command at a time
    notify: str | None = None            #: DSN NOTIFY= (RFC 3461 §4.1)
    ret: str | None = None               #: DSN RET= (RFC 3461 §4.3)
    envid: str | None = None             #: DSN ENVID= (RFC 3461 §4.4)
    requiretls: bool = False             #: RFC 8689 §4.1
    retry_greylist: float | None = None  #: seconds to wait before the one retry
    ignore_size_limit: bool = False
    show_body: bool = False              #: -v: the whole body in the transcript
    line_ends_fixed: LineEndings | None = None


@frozen
class ReplyVerdict:
    """One transaction reply and what it means."""

    command: str
    reply: Reply | None
    kind: str
    explanation: str
    advice: str
    rule: str


@frozen
class TransactionOutcome:
    sender: str
    recipients: tuple[str, ...]
    accepted: tuple[str, ...]
    method: str                          #: DATA or BDAT
    pipelined: bool
    size: int
    stuffed_lines: int
    replies: tuple[ReplyVerdict, ...]
    queue_id: str | None
    status: str                          #: queued, rejected, not-sent
    greylist_delay: float | None = None


def queue_id_of(reply: Reply) -> str | None:
    for text in reply.texts:
        lowered = text.lower()
        for marker in _QUEUE_ID_MARKERS:
            at = lowered.find(marker)
            if at >= 0:
                word = text[at + len(marker):].split()
                if word:
                    return word[0].strip("<>.,;")
    return None
