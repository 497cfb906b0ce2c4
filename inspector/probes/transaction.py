"""The mail transaction of ``smtp-inspector send``: MAIL, RCPT each, DATA or BDAT (RFC 5321 §3.3).

Runs on the probe's session after the AUTH step, through the same driver
(:class:`~inspector.smtp.driver.SmtpDriver`), so the transcript, redaction,
deadlines and step bookkeeping are the probe's. Extensions are checked
against the EHLO reply before anything is sent (SIZE, 8BITMIME, SMTPUTF8,
DSN, REQUIRETLS, CHUNKING); with PIPELINING, MAIL, the RCPTs and DATA go in
one write (RFC 2920 §3.1) and each reply is checked against its command, so
a group answered out of order or with a reply missing is reported, not
mis-matched. Findings come from :mod:`inspector.rules.transaction`; the
meaning of each reply from :mod:`inspector.smtp.transaction_replies`.
"""

from __future__ import annotations

import time

from ..rules import transaction as rules
from ..smtp import transaction as smtp
from ..smtp.connection import State
from ..smtp.events import CommandReply
from ..smtp.transaction_replies import explain
from .steps import OK, StepFailed
from .transaction_result import ReplyVerdict, TransactionOutcome, TransactionRequest, queue_id_of
from .transcript_body import shown_message

__all__ = ["TransactionOutcome", "TransactionRequest", "run_transaction_step"]

class _Run:
    def __init__(self, session, request: TransactionRequest) -> None:
        self.s = session
        self.req = request
        self.caps = (session.caps_after if session.smtp.secure else session.caps_before)
        self.replies: list[ReplyVerdict] = []
        self.accepted: list[str] = []
        self.queue_id: str | None = None
        self.status = "not-sent"
        self.greylist_delay: float | None = None
        self.method = "DATA"
        self.pipelined = False
        self.last_refusal = ""

    # -- before anything is sent: extensions against the EHLO reply -----------
    def parameters(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        s, req, caps = self.s, self.req, self.caps
        size = len(smtp.dot_stuff(req.message)) + len(smtp.END_OF_DATA)
        utf8 = tuple(a for a in (req.sender, *req.recipients) if smtp.needs_smtputf8(a))
        eight = smtp.has_8bit(req.message)
        s.finding(rules.line_ends_fixed(req.line_ends_fixed.bare_lf, req.line_ends_fixed.bare_cr)
                  if req.line_ends_fixed else None)
        refusal = (rules.smtputf8_not_offered(utf8, caps.has("SMTPUTF8"))
                   or rules.eightbitmime_not_offered(eight and not utf8, caps.has("8BITMIME"))
                   or rules.requiretls_not_offered(req.requiretls, caps.has("REQUIRETLS"), s.smtp.secure))
        limit = caps.size_limit
        too_big = rules.message_over_size_limit(size, limit, req.ignore_size_limit)
        s.finding(too_big)
        if too_big is not None and not req.ignore_size_limit:
            refusal = refusal or too_big
        if refusal is not None:
            s.finding(refusal)
            s.fail(f"not sent: {refusal.evidence}")
        chunking = caps.has("CHUNKING")
        s.finding(rules.chunking_not_offered(req.bdat, chunking))
        self.method = "BDAT" if req.bdat and chunking else "DATA"
        dsn_asked = tuple(f"{k}={v}" for k, v in (("NOTIFY", req.notify), ("RET", req.ret),
                                                  ("ENVID", req.envid)) if v)
        dsn = caps.has("DSN")
        s.finding(rules.dsn_not_offered(dsn_asked, dsn))
        mail = []
        if limit is not None:
            mail.append(f"SIZE={size}")
        if utf8:
            mail.append("SMTPUTF8")
        if eight and caps.has("8BITMIME"):
            mail.append("BODY=8BITMIME")
        if dsn and req.ret:
            mail.append(f"RET={req.ret}")
        if dsn and req.envid:
            mail.append(f"ENVID={req.envid}")
        if req.requiretls:
            mail.append("REQUIRETLS")
        rcpt = (f"NOTIFY={req.notify}",) if dsn and req.notify else ()
        return tuple(mail), rcpt

    # -- replies ----------------------------------------------------------------
    def verdict(self, verb: str, event: CommandReply, shown_as: str | None = None) -> ReplyVerdict:
        reply = self.s.scrub_reply(event.reply)
        meaning = explain(reply.code, reply.enhanced_code, " ".join(reply.texts))
        verdict = ReplyVerdict(shown_as or verb, reply, meaning.kind, meaning.explanation,
                               meaning.advice, meaning.rule)
        self.replies.append(verdict)
        return verdict

    def read(self, verb: str, *, body: bool = False) -> CommandReply:
        """The next reply, checked against the command it is matched to (RFC 2920 §3.1).

        A timeout or a closed stream with commands unanswered is reported as missing replies.
        """
        s = self.s
        unanswered = tuple(c.verb for c in s.smtp.pending_commands)   # (a close forgets them)
        try:
            event = s.next_event()
        except StepFailed:
            closed = s.smtp.state is State.CLOSED
            s.finding(rules.replies_missing(unanswered, self.pipelined, closed))
            raise
        if not isinstance(event, CommandReply):
            s.fail(f"expected a reply to {verb}, got {type(event).__name__}")
        mismatch = None if body else rules.reply_out_of_order(verb, event.reply.code,
                                                              event.reply.enhanced_code)
        if mismatch is not None:
            s.finding(mismatch)
            self.verdict(verb, event)
            s.alive = False      # the server's idea of the session is unknown: no QUIT
            s.fail(mismatch.evidence, reply=event.reply)
        if event.reply.code is None:
            s.fail(f"malformed reply to {verb}: {event.reply.summary()!r}", reply=event.reply)
        return event

    def send(self, command, *, shown: bytes | None = None) -> None:
        s = self.s
        data = s.driver.send(command, s.until())
        s.transcript.sent(data, tls=s.smtp.secure, step=s.step_name, shown=shown)

    def send_group(self, group, steps) -> None:
        s = self.s
        encoded = s.driver.send_group(group, s.until())
        s.transcript.note(f"PIPELINING: {len(group)} commands in one write; replies come back in "
                          "order (RFC 2920 §3.1)", tls=s.smtp.secure, step=s.step_name)
        for data, step in zip(encoded, steps, strict=True):
            s.transcript.sent(data, tls=s.smtp.secure, step=step)

    # -- the steps ----------------------------------------------------------------
    def run(self) -> None:
        s, req = self.s, self.req
        s.begin("mail", f"the mail transaction: from <{req.sender}> to {len(req.recipients)} recipient(s)")
        mail_params, rcpt_params = self.parameters()
        mail = smtp.mail_from(req.sender, mail_params)
        rcpts = [smtp.rcpt_to(a, rcpt_params) for a in req.recipients]
        self.pipelined = bool(req.pipelining and self.caps.has("PIPELINING"))
        data_in_group = self.pipelined and self.method == "DATA" and req.retry_greylist is None
        if self.pipelined:
            group = [mail, *rcpts, *([smtp.data()] if data_in_group else [])]
            self.send_group(group, ["mail", *["rcpt"] * len(rcpts), *(["data"] if data_in_group else [])])
        else:
            self.send(mail)
        self.mail_step(mail)
        deferred: list = []
        for address, rcpt in zip(req.recipients, rcpts, strict=True):
            self.rcpt_step(address, rcpt, deferred)
        self.retry_deferred(deferred)
        if not self.accepted:
            s.record_failure("rcpt", f"every recipient was refused: {self.last_refusal}")
        s.finding(rules.submission_without_auth(s.config.port, _authenticated(s), len(self.accepted)))
        if data_in_group:
            self.data_step_pipelined()
        elif self.accepted:
            self.bdat_step() if self.method == "BDAT" else self.data_step()
        else:
            s.begin("data", "no recipient was accepted: no message is sent")
            s.fail("no recipient was accepted")

    def mail_step(self, mail) -> None:
        s = self.s
        event = self.read("MAIL")
        verdict = self.verdict("MAIL", event)
        if verdict.kind == "greylisting":
            first, retried = verdict, None
            if self.req.retry_greylist is not None and self.pipelined:
                # The RCPTs behind it were answered 503: read them, then go on one at a time.
                self.drain()
                self.pipelined = False
            if self.retry("MAIL", mail):
                event = self.read("MAIL")
                verdict = self.verdict("MAIL", event)
                retried = self.greylist_delay
            s.finding(rules.greylisted("MAIL", first.kind, retried, event.reply.code // 100 == 2))
        code = event.reply.code
        s.finding(rules.mail_rejected(code, event.reply.enhanced_code, verdict.explanation, verdict.advice))
        if code // 100 != 2:
            self.status = "rejected"
            self.drain()
            s.fail(f"MAIL FROM refused: {verdict.explanation}", reply=event.reply)
        s.end(OK, reply=event.reply, detail=verdict.explanation)

    def drain(self) -> None:
        """Read the replies still due to a pipelined group (so QUIT gets its own reply)."""
        for command in self.s.smtp.pending_commands:
            self.verdict(command.verb, self.read(command.verb))

    def rcpt_step(self, address: str, rcpt, deferred: list) -> None:
        s = self.s
        s.begin("rcpt", f"recipient <{address}>")
        if not self.pipelined:
            self.send(rcpt)
        event = self.read("RCPT")
        verdict = self.verdict("RCPT", event, f"RCPT <{address}>")
        if verdict.kind == "greylisting" and self.req.retry_greylist is not None and self.pipelined:
            # Later replies of the group are still due: retry once they are read.
            deferred.append((address, rcpt, event, verdict))
            s.end("failed", reply=event.reply, detail=f"<{address}>: {verdict.explanation}; retried below")
            return
        retried = None
        if verdict.kind == "greylisting":
            first = verdict
            if self.retry("RCPT", rcpt):
                event = self.read("RCPT")
                verdict = self.verdict("RCPT", event, f"RCPT <{address}>")
                retried = self.greylist_delay
            s.finding(rules.greylisted(f"RCPT <{address}>", first.kind, retried,
                                       event.reply.code // 100 == 2))
        self.rcpt_outcome(address, event, verdict)

    def retry_deferred(self, deferred: list) -> None:
        """Greylisted recipients of a pipelined group: one wait, then each RCPT once more."""
        s = self.s
        waited = False
        for address, rcpt, event, first in deferred:
            s.begin("rcpt", f"recipient <{address}>, again after greylisting")
            verdict, retried = first, None
            if waited:
                self.send(rcpt)
            if waited or self.retry("RCPT", rcpt):
                waited = True
                event = self.read("RCPT")
                verdict = self.verdict("RCPT", event, f"RCPT <{address}>")
                retried = self.greylist_delay
            s.finding(rules.greylisted(f"RCPT <{address}>", first.kind, retried,
                                       event.reply.code // 100 == 2))
            self.rcpt_outcome(address, event, verdict)

    def rcpt_outcome(self, address: str, event: CommandReply, verdict: ReplyVerdict) -> None:
        s = self.s
        code = event.reply.code
        s.finding(rules.recipient_rejected(address, code, event.reply.enhanced_code,
                                           verdict.explanation, verdict.advice))
        if code // 100 == 2:
            self.accepted.append(address)
            s.end(OK, reply=event.reply, detail=verdict.explanation)
        else:
            self.last_refusal = verdict.explanation
            s.end("failed", reply=event.reply, detail=f"<{address}>: {verdict.explanation}")

    def retry(self, verb: str, command) -> bool:
        """--retry-greylist: wait, then send the same command once more (the same session)."""
        s, wait = self.s, self.req.retry_greylist
        if wait is None:
            return False
        if time.monotonic() + wait + s.config.timeout > s.deadline:
            s.transcript.note(f"greylisted: a retry after {wait:g} s would pass the deadline; not retried",
                              tls=s.smtp.secure, step=s.step_name)
            return False
        s.transcript.note(f"greylisted: waiting {wait:g} s, then sending {verb} once more (--retry-greylist)",
                          tls=s.smtp.secure, step=s.step_name)
        started = time.monotonic()
        time.sleep(wait)
        self.greylist_delay = time.monotonic() - started
        self.send(command)
        return True

    def data_step_pipelined(self) -> None:
        s = self.s
        s.begin("data", "DATA (sent in the pipelined group)")
        event = self.read("DATA")
        if not self.accepted:
            self.verdict("DATA", event)
            s.fail("no recipient was accepted", reply=event.reply)
        self.after_data(event)

    def data_step(self) -> None:
        s = self.s
        s.begin("data", f"DATA for {len(self.accepted)} recipient(s)")
        self.send(smtp.data())
        self.after_data(self.read("DATA"))

    def after_data(self, event: CommandReply) -> None:
        s = self.s
        verdict = self.verdict("DATA", event)
        if event.reply.code != 354:
            self.reject("DATA", event, verdict)
        content = smtp.MessageContent(message=self.req.message)
        stuffed = smtp.stuffed_lines(self.req.message)
        if stuffed:
            s.transcript.note(f"{stuffed} line(s) begin with '.': sent with one more dot (dot-stuffing, "
                              "RFC 5321 §4.5.2); the server removes it", tls=s.smtp.secure, step="data")
        self.send(content, shown=shown_message(smtp.dot_stuff(self.req.message), show_all=self.req.show_body,
                                               end=smtp.END_OF_DATA))
        self.finish("end of data", self.read("DATA", body=True))

    def bdat_step(self) -> None:
        s = self.s
        s.begin("data", f"BDAT {len(self.req.message)} LAST (CHUNKING, RFC 3030): no dot-stuffing")
        chunk = smtp.BdatChunk(chunk=self.req.message)
        wire = chunk.encode()
        head = wire[:wire.index(b"\r\n") + 2]
        shown = shown_message(self.req.message, show_all=self.req.show_body, end=b"")
        self.send(chunk, shown=None if shown is None else head + shown)
        self.finish("BDAT", self.read("BDAT", body=True))

    def finish(self, stage: str, event: CommandReply) -> None:
        s = self.s
        verdict = self.verdict(stage, event)
        if event.reply.code // 100 != 2:
            s.finding(rules.recipient_bounced_in_data(tuple(self.accepted), event.reply.code,
                                                      event.reply.enhanced_code))
            self.reject(stage, event, verdict)
        self.status = "queued"
        self.queue_id = queue_id_of(event.reply)
        s.finding(rules.queue_id(self.queue_id, self.method))
        s.end(OK, reply=event.reply, detail=f"accepted{' as ' + self.queue_id if self.queue_id else ''}")

    def reject(self, stage: str, event: CommandReply, verdict: ReplyVerdict) -> None:
        self.status = "rejected"
        self.s.finding(rules.message_rejected(stage, event.reply.code, event.reply.enhanced_code,
                                              verdict.explanation, verdict.advice))
        self.s.fail(f"{stage} refused: {verdict.explanation}", reply=event.reply)

    def outcome(self) -> TransactionOutcome:
        req = self.req
        return TransactionOutcome(
            sender=req.sender, recipients=req.recipients, accepted=tuple(self.accepted),
            method=self.method, pipelined=self.pipelined, size=len(req.message),
            stuffed_lines=smtp.stuffed_lines(req.message) if self.method == "DATA" else 0,
            replies=tuple(self.replies), queue_id=self.queue_id, status=self.status,
            greylist_delay=self.greylist_delay)


def _authenticated(session) -> bool:
    auth = session.auth
    return auth is not None and auth.status == "accepted"


def run_transaction_step(session) -> None:
    """MAIL, RCPT, DATA/BDAT on the running session; the outcome lands in ``session.transaction``."""
    run = _Run(session, session.config.transaction)
    session.transaction = run
    run.run()
