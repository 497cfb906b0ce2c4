"""The AUTH step of the session probe (RFC 4954): mechanism choice, SASL exchange, verdict.

Kept apart from session.py so that a probe without ``--auth`` never loads the
SASL mechanisms (scramp among them). The functions work on the probe's
``_Session``: they send through its ``_command`` (which keeps the transcript,
with every secret redacted) and end the step with its ``_end``/``_fail``.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import redaction
from ..smtp import commands, sasl
from ..smtp.auth_replies import explain as explain_auth_reply
from ..smtp.events import AuthChallenge
from ..smtp.reply import Reply
from .session import OK, SKIPPED

if TYPE_CHECKING:
    from .session import _Session

#: Outcomes of the AUTH step (and of each row of ``--auth all``).
ACCEPTED, REJECTED, NOT_OFFERED, REFUSED, AUTH_ERROR, AUTH_SKIPPED = (
    "accepted", "rejected", "not-offered", "refused", "error", "skipped")
#: At most this many 334 challenges in one exchange (SCRAM needs 2).
MAX_SASL_ROUNDS = 8
#: How long a reply inside the AUTH exchange may take, when the step timeout is shorter:
#: servers delay failed logins on purpose (Dovecot: up to 15 s per address, plus 2 s).
AUTH_ANSWER_WAIT = 20.0


@dataclass(frozen=True)
class AuthRequest:
    """What ``--auth`` asked for. The secrets sit in Credentials (never in a repr)."""

    mechanism: str                       #: a mechanism name, or "auto"
    credentials: sasl.Credentials
    allow_plaintext: bool = False        #: --allow-plaintext-auth


@dataclass(frozen=True)
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


@dataclass
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


def run_auth_step(session: _Session) -> None:
    request = session.config.auth
    creds = request.credentials
    session.redactor = redaction.default()
    for secret in (creds.password, creds.token):
        if secret:
            session.redactor.add_secret(secret)
    session.transcript.redactor = session.redactor
    progress = session.auth = AuthProgress(request.mechanism.upper(), creds.user)
    session._begin("auth", f"authenticating as {creds.user} (--auth {_as_written(request.mechanism)})")
    if session.exit_code is not None:
        progress.status = AUTH_SKIPPED
        progress.explanation = f"not attempted: {session.error}; no secret is sent"
        session._end(SKIPPED, detail=progress.explanation)
        return
    secure = session.smtp.secure
    caps = session.caps_after if secure else session.caps_before
    offered = caps.auth_mechanisms if caps else ()
    if not offered:
        session._finding("auth-not-offered", f"EHLO {'inside' if secure else 'before'} TLS lists no AUTH")
        _auth_fail(session, NOT_OFFERED, "the server offers no AUTH mechanism here")
    if not secure:
        if not request.allow_plaintext:
            session._finding("auth-refused-plaintext",
                          f"AUTH {' '.join(offered)} offered without TLS; no credentials sent "
                          "(--allow-plaintext-auth overrides)")
            _auth_fail(session, REFUSED, "refusing to send credentials without TLS "
                            "(use STARTTLS, implicit TLS, or --allow-plaintext-auth)")
        session._finding("auth-plaintext-allowed",
                      f"AUTH sent without TLS on port {session.config.port} (--allow-plaintext-auth)")
    name = _choose_mechanism(session, request, offered)
    progress.mechanism = name
    if any(m.endswith("-PLUS") for m in offered):
        session.transcript.note(sasl.TLS_EXPORTER_NOTE, tls=secure, step="auth")
    chain = session.chain_der
    try:
        mechanism = sasl.make_mechanism(name, creds, host=session.config.expected_name,
                                        port=session.config.port,
                                        certificate_der=chain[0] if chain and secure else None)
    except sasl.SaslError as exc:
        _auth_fail(session, AUTH_ERROR, str(exc))
    mechanism.time_left = lambda: session._until() - time.monotonic()
    progress.channel_binding = mechanism.channel_binding
    progress.server_verified = mechanism.server_verified
    try:
        _sasl_exchange(session, name, mechanism)
    finally:
        progress.server_error = mechanism.server_error
        progress.server_verified = mechanism.server_verified

#: Mechanisms that send the password itself (base64 is an encoding, not a protection).
_CLEARTEXT_PASSWORD = ("PLAIN", "LOGIN")


def _as_written(mechanism: str) -> str:
    """``auto`` and ``all`` in lower case as the README writes them; mechanisms as given."""
    given = getattr(mechanism, "given", None)
    if given:
        return given
    return mechanism.lower() if mechanism.upper() in ("AUTO", "ALL") else mechanism


def _why_chosen(chosen: str, offered) -> str:
    """Why ``--auth auto`` took ``chosen``: the strongest, or one of two equivalent ones."""
    others = [m for m in offered if m != chosen]
    if chosen in _CLEARTEXT_PASSWORD and others and all(m in _CLEARTEXT_PASSWORD for m in others):
        return (f"{chosen}, of {' '.join(offered)}: PLAIN and LOGIN are equivalent, both send the "
                "password itself (RFC 4616 §4), which is safe here because TLS protects it")
    return f"{chosen} is the strongest of {' '.join(offered)}"


def _choose_mechanism(session: _Session, request: AuthRequest, offered) -> str:
    name = request.mechanism.upper()
    creds = request.credentials
    if name == "AUTO":
        order = ((sasl.TOKEN_MECHANISMS if creds.token else ())
                 + (sasl.PASSWORD_MECHANISMS if creds.password else ()))
        if not session.smtp.secure:
            order = tuple(m for m in order if not m.endswith("-PLUS"))
        chosen = sasl.strongest(offered, order)
        if chosen is None:
            session._finding("auth-mechanism-not-offered",
                          f"server offers {' '.join(offered)}; none usable with the secrets given")
            _auth_fail(session, NOT_OFFERED, f"no mechanism smtp-inspector supports among "
                            f"{' '.join(offered)}")
        session.transcript.note(f"--auth auto: {_why_chosen(chosen, offered)}",
                             tls=session.smtp.secure, step="auth")
        return chosen
    if name not in offered:
        session._finding("auth-mechanism-not-offered", f"{name} is not among {' '.join(offered)}")
        _auth_fail(session, NOT_OFFERED, f"{name} is not offered (the server offers {' '.join(offered)})")
    return name

def _auth_command(session: _Session, command, *, shown: str):
    """One line of the exchange; its reply may take AUTH_ANSWER_WAIT (a penalty is an answer)."""
    wait = max(session.config.timeout, AUTH_ANSWER_WAIT)
    session.wait_s = min(wait, max(0.0, session.deadline - time.monotonic()))
    started = time.monotonic()
    try:
        return session._command(command, min(time.monotonic() + wait, session.deadline), shown=shown)
    finally:
        session.wait_s = None
        took = round(time.monotonic() - started, 3)
        progress = session.auth
        progress.answer_s = max(progress.answer_s or 0.0, took)


def _sasl_exchange(session: _Session, name: str, mechanism: sasl.Mechanism) -> None:
    progress = session.auth
    try:
        first = mechanism.start()
    except sasl.SaslError as exc:
        _auth_fail(session, AUTH_ERROR, str(exc))
    command = commands.auth(name, first.data if first is not None else None)
    shown = f"AUTH {name}"
    if first is not None:
        shown += " " + _shown_response(session, first, command.args[1])
    event = _auth_command(session, command, shown=shown)
    rounds = 0
    while isinstance(event, AuthChallenge):
        rounds += 1
        try:
            if rounds > MAX_SASL_ROUNDS:
                raise sasl.SaslError(f"more than {MAX_SASL_ROUNDS} challenges; giving up")
            try:
                challenge = base64.b64decode(event.challenge_text, validate=True)
            except (binascii.Error, ValueError):
                raise sasl.SaslError(
                    f"334 challenge is not base64: {redaction.quoted(event.challenge_text)}") from None
            session.transcript.note(
                f"server challenge, decoded: {mechanism.describe_challenge(challenge)}",
                tls=session.smtp.secure, step="auth")
            answer = mechanism.challenge(challenge)
        except sasl.SaslError as exc:
            if isinstance(exc, sasl.ServerSignatureInvalid):
                session._finding("scram-server-signature-invalid", str(exc))
            cancel = _auth_command(session, commands.sasl_cancel(), shown="*")
            progress.reply = cancel.reply
            _auth_fail(session, AUTH_ERROR, f"{exc}; exchange cancelled with '*'", reply=cancel.reply)
        response = commands.sasl_response(answer.data)
        event = _auth_command(session, response, shown=_shown_response(session, answer, response.payload))
    reply = event.reply
    progress.reply = reply
    progress.explanation, progress.rule = explain_auth_reply(reply.code, reply.enhanced_code, reply.text)
    if mechanism.server_error:
        said = sasl.describe_json_error(mechanism.server_error.encode())
        progress.explanation += f" (server said: {said})"
    if reply.code == 235:
        try:
            mechanism.accepted()
        except sasl.ServerSignatureInvalid as exc:
            session._finding("scram-server-signature-invalid", str(exc))
            _auth_fail(session, AUTH_ERROR, str(exc), reply=reply)
        progress.status = ACCEPTED
        verified = " (server signature verified)" if mechanism.server_verified else ""
        session._end(OK, reply=reply, detail=f"{name} accepted{verified}")
        return
    status = REJECTED
    session._finding("auth-rejected", f"{name} as {progress.user}: {reply.summary()} "
                  f"({progress.explanation})")
    _auth_fail(session, status, f"{name} rejected: {progress.explanation}", reply=reply)

def _shown_response(session: _Session, message: sasl.SaslMessage, wire: str) -> str:
    """The transcript form of one client line: never the secret, in any encoding."""
    if message.carries_secret:
        session.redactor.add(wire.encode("ascii"))
        session.redactor.add(message.data)
        for part in message.secret_parts:
            session.redactor.add_secret(part)
        return f"[redacted: base64 of {message.shown}]"
    if message.data:
        session.transcript.note(f"client response, decoded: {message.shown}",
                             tls=session.smtp.secure, step="auth")
    else:
        session.transcript.note(f"client response: {message.shown}", tls=session.smtp.secure, step="auth")
    return wire

def _auth_fail(session: _Session, status: str, message: str, *, reply: Reply | None = None):
    progress = session.auth
    progress.status = status
    if not progress.explanation or status != REJECTED:
        progress.explanation = message
    session._fail(message, reply=reply)

def auth_outcome(session: _Session) -> AuthOutcome | None:
    progress = session.auth
    if progress is None:
        request = session.config.auth
        if request is None:
            return None
        progress = AuthProgress(request.mechanism.upper(), request.credentials.user,
                                 status=AUTH_SKIPPED,
                                 explanation=f"not attempted: {session.error or 'the session ended first'}")
    if progress.status == AUTH_ERROR and not progress.explanation:
        progress.explanation = session.error or "the exchange did not finish"
    scrub = session._scrub
    return AuthOutcome(
        requested=progress.requested,
        mechanism=progress.mechanism,
        user=progress.user,
        status=progress.status,
        offered_before_tls=session.caps_before.auth_mechanisms if session.caps_before else None,
        offered_after_tls=session.caps_after.auth_mechanisms if session.caps_after else None,
        reply=session._scrub_reply(progress.reply),
        explanation=scrub(progress.explanation),
        rule=progress.rule,
        server_error=scrub(progress.server_error),
        server_verified=progress.server_verified,
        channel_binding=progress.channel_binding,
        answer_s=progress.answer_s,
    )
