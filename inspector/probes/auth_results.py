"""What ``--auth`` asks for and what the AUTH step found (frozen data, no I/O, no SASL code)."""

from __future__ import annotations

from ..frozen import frozen, mutable
from ..smtp import sasl
from ..smtp.reply import Reply

#: Outcomes of the AUTH step (and of each row of ``--auth all``).
ACCEPTED, REJECTED, NOT_OFFERED, REFUSED, AUTH_ERROR, AUTH_SKIPPED = (
    "accepted", "rejected", "not-offered", "refused", "error", "skipped")
#: At most this many 334 challenges in one exchange (SCRAM needs 2).
MAX_SASL_ROUNDS = 8
#: How long a reply inside the AUTH exchange may take, when the step timeout is shorter:
#: servers delay failed logins on purpose (Dovecot: up to 15 s per address, plus 2 s).
AUTH_ANSWER_WAIT = 20.0


@frozen
class AuthRequest:
    """What ``--auth`` asked for. The secrets sit in Credentials (never in a repr)."""

    mechanism: str                       #: a mechanism name, or "auto"
    credentials: sasl.Credentials
    allow_plaintext: bool = False        #: --allow-plaintext-auth


@frozen
class AuthOutcome:
    """The AUTH step's verdict: one row of ``--auth all``."""

    requested: str
    mechanism: str | None
    user: str
    status: str                          #: accepted, rejected, not-offered, refused, error, skipped
    offered_before_tls: tuple[str, ...] | None   #: None: no EHLO in plaintext
    offered_after_tls: tuple[str, ...] | None    #: None: no EHLO inside TLS
    reply: Reply | None
    explanation: str
    rule: str | None
    server_error: str | None = None      #: OAuth JSON error challenge, decoded
    server_verified: bool | None = None  #: SCRAM: the server proved it knows the password
    channel_binding: str | None = None
    answer_s: float | None = None        #: the longest the server took to answer a line of AUTH

    @property
    def code(self) -> int | None:
        return self.reply.code if self.reply else None

    @property
    def enhanced_code(self) -> str | None:
        return self.reply.enhanced_code if self.reply else None


@mutable
class AuthProgress:
    """The AUTH step's state while it runs (mutable; frozen into AuthOutcome)."""

    requested: str
    user: str
    mechanism: str | None = None
    status: str = AUTH_ERROR
    reply: Reply | None = None
    explanation: str = ""
    rule: str | None = None
    server_error: str | None = None
    server_verified: bool | None = None
    channel_binding: str | None = None
    answer_s: float | None = None
