"""The envelope of each mail transaction in a captured session (RFC 5321 §3.3, RFC 3030 §2).

Fed the observer's events, it records who sent what to whom and what the
server said: MAIL FROM with its parameters and reply, every RCPT TO with its
reply, the DATA or BDAT size, and the final reply (which names the queue id
on most servers: Postfix's ``250 2.0.0 Ok: queued as 4ABC123``). A
transaction starts at MAIL and ends at the final reply, RSET or the end of
the session. Counts are capped so a hostile client cannot grow it without
bound.
"""

from __future__ import annotations

import re

from ..frozen import frozen
from ..smtp import events as ev

#: Transactions kept per session, recipients kept per transaction (the rest only counted).
MAX_TRANSACTIONS = 100
MAX_RECIPIENTS = 1000
#: Reply text kept per reply.
MAX_TEXT = 512

_PATH = re.compile(r"^(?:FROM|TO):\s*(<[^>]*>|\S*)\s*(.*)$", re.IGNORECASE | re.DOTALL)


@frozen
class ReplyInfo:
    code: int | None
    enhanced: str | None
    text: str

    @classmethod
    def of(cls, reply) -> ReplyInfo:
        return ReplyInfo(reply.code, reply.enhanced_code, reply.text[:MAX_TEXT])


@frozen
class Recipient:
    address: str
    parameters: tuple[str, ...]
    reply: ReplyInfo | None


@frozen
class Transaction:
    mail_from: str | None                     #: the reverse path without <>, "" for the null path
    parameters: tuple[str, ...] = ()          #: MAIL parameters (SIZE=, BODY=, SMTPUTF8, ...)
    mail_reply: ReplyInfo | None = None
    recipients: tuple[Recipient, ...] = ()
    recipients_omitted: int = 0
    data_command: str | None = None           #: "DATA" or "BDAT"
    size: int | None = None                   #: message bytes the client sent
    final_reply: ReplyInfo | None = None      #: the reply to the end of DATA or to BDAT LAST
    ended: str = "open"                       #: "replied", "rset", "open" (session ended first)




def _path(args: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    match = _PATH.match(" ".join(args))
    if not match:
        return " ".join(args), ()
    path, rest = match.group(1), match.group(2)
    return path[1:-1] if path.startswith("<") and path.endswith(">") else path, tuple(rest.split())


class _Open:
    """A transaction being built (mutable; frozen into a Transaction at its end)."""

    __slots__ = ("mail_from", "parameters", "mail_reply", "recipients", "omitted", "command",
                 "size", "final")

    def __init__(self, mail_from=None, parameters=(), mail_reply=None) -> None:
        self.mail_from, self.parameters, self.mail_reply = mail_from, parameters, mail_reply
        self.recipients: list[Recipient] = []
        self.omitted = 0
        self.command: str | None = None
        self.size: int | None = None
        self.final: ReplyInfo | None = None


class EnvelopeTracker:
    """Feed ``event``; ``transactions()`` gives the frozen list."""

    __slots__ = ("done", "current", "omitted")

    def __init__(self) -> None:
        self.done: list[Transaction] = []
        self.current: _Open | None = None
        self.omitted = 0

    def event(self, event) -> None:
        if isinstance(event, ev.CommandReply):
            self.reply(event.command, event.reply)
        elif isinstance(event, ev.MessageBody) and event.complete:
            self.body(event.size)

    def body(self, size: int) -> None:
        """A complete message body of ``size`` bytes (after DATA's 354)."""
        if self.current is not None and self.current.command == "DATA":
            self.current.size = size

    def reply(self, command, reply) -> None:
        """The server's ``reply`` to the client's ``command``."""
        verb = command.verb.upper()
        if verb == "MAIL":
            self._close("open")
            address, params = _path(command.args)
            self.current = _Open(address, params, ReplyInfo.of(reply))
            if not reply.is_positive:
                self._close("replied")
            return
        if verb == "RSET":
            self._close("rset")
            return
        cur = self.current
        if cur is None:
            if verb not in ("RCPT", "DATA", "BDAT"):
                return
            cur = self.current = _Open()
        if verb == "RCPT":
            if len(cur.recipients) < MAX_RECIPIENTS:
                address, params = _path(command.args)
                cur.recipients.append(Recipient(address, params, ReplyInfo.of(reply)))
            else:
                cur.omitted += 1
        elif verb == "DATA":
            cur.command = "DATA"
            if reply.code != 354:
                cur.final = ReplyInfo.of(reply)
                self._close("replied")
        elif verb == ".":
            cur.final = ReplyInfo.of(reply)
            self._close("replied")
        elif verb == "BDAT":
            try:
                chunk = int(command.args[0]) if command.args else 0
            except ValueError:
                chunk = 0
            cur.command, cur.size, cur.final = "BDAT", (cur.size or 0) + chunk, ReplyInfo.of(reply)
            last = len(command.args) > 1 and command.args[1].upper() == "LAST"
            if last or not reply.is_positive:
                self._close("replied")

    def _close(self, how: str) -> None:
        cur, self.current = self.current, None
        if cur is None:
            return
        if len(self.done) >= MAX_TRANSACTIONS:
            self.omitted += 1
            return
        self.done.append(Transaction(cur.mail_from, cur.parameters, cur.mail_reply,
                                     tuple(cur.recipients), cur.omitted, cur.command, cur.size,
                                     cur.final, how))

    def transactions(self) -> tuple[Transaction, ...]:
        self._close("open")
        return tuple(self.done)
