"""The AUTH step of the session probe (RFC 4954): mechanism choice, SASL exchange, verdict.

Kept apart from session.py so that a probe without ``--auth`` never loads the
SASL mechanisms (scramp among them). The functions work on the running
:class:`~inspector.probes.session.ProbeSession` (passed in, never imported):
they send through its ``command`` (which keeps the transcript, with every
secret redacted) and end the step with its ``end``/``fail``. Findings come
from :mod:`inspector.rules.auth`.
"""

from __future__ import annotations

import base64
import binascii
import time

from .. import redaction
from ..rules import auth as rules
from ..smtp import commands, sasl
from ..smtp.auth_replies import explain as explain_auth_reply
from ..smtp.events import AuthChallenge
from ..smtp.reply import Reply
from .auth_results import (  # noqa: F401  (re-exported: the AUTH step's types)
    ACCEPTED,
    AUTH_ANSWER_WAIT,
    AUTH_ERROR,
    AUTH_SKIPPED,
    MAX_SASL_ROUNDS,
    NOT_OFFERED,
    REFUSED,
    REJECTED,
    AuthOutcome,
    AuthProgress,
    AuthRequest,
)
from .steps import OK, SKIPPED


def run_auth_step(session) -> None:
    request = session.config.auth
    creds = request.credentials
    session.redactor = redaction.default()
    for secret in (creds.password, creds.token):
        if secret:
            session.redactor.add_secret(secret)
    session.transcript.redactor = session.redactor
    progress = session.auth = AuthProgress(request.mechanism.upper(), creds.user)
    session.begin("auth", f"authenticating as {creds.user} (--auth {_as_written(request.mechanism)})")
    if session.exit_code is not None:
        progress.status = AUTH_SKIPPED
        progress.explanation = f"not attempted: {session.error}; no secret is sent"
        session.end(SKIPPED, detail=progress.explanation)
        return
    secure = session.smtp.secure
    caps = session.caps_after if secure else session.caps_before
    offered = caps.auth_mechanisms if caps else ()
    if not offered:
        session.finding(rules.auth_not_offered(offered, secure))
        _auth_fail(session, NOT_OFFERED, "the server offers no AUTH mechanism here")
    refused = rules.auth_refused_plaintext(offered, secure=secure, allowed=request.allow_plaintext)
    if refused is not None:
        session.finding(refused)
        _auth_fail(session, REFUSED, "refusing to send credentials without TLS "
                   "(use STARTTLS, implicit TLS, or --allow-plaintext-auth)")
    session.finding(rules.auth_plaintext_allowed(session.config.port, secure=secure,
                                                 allowed=request.allow_plaintext))
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
    mechanism.time_left = lambda: session.until() - time.monotonic()
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


def _choose_mechanism(session, request: AuthRequest, offered) -> str:
    name = request.mechanism.upper()
    creds = request.credentials
    if name == "AUTO":
        order = ((sasl.TOKEN_MECHANISMS if creds.token else ())
                 + (sasl.PASSWORD_MECHANISMS if creds.password else ()))
        if not session.smtp.secure:
            order = tuple(m for m in order if not m.endswith("-PLUS"))
        chosen = sasl.strongest(offered, order)
        if chosen is None:
            session.finding(rules.auth_mechanism_not_offered(None, offered))
            _auth_fail(session, NOT_OFFERED, f"no mechanism smtp-inspector supports among "
                            f"{' '.join(offered)}")
        session.transcript.note(f"--auth auto: {_why_chosen(chosen, offered)}",
                             tls=session.smtp.secure, step="auth")
        return chosen
    missing = rules.auth_mechanism_not_offered(name, offered)
    if missing is not None:
        session.finding(missing)
        _auth_fail(session, NOT_OFFERED, f"{name} is not offered (the server offers {' '.join(offered)})")
    return name

def _auth_command(session, command, *, shown: str):
    """One line of the exchange; its reply may take AUTH_ANSWER_WAIT (a penalty is an answer)."""
    wait = max(session.config.timeout, AUTH_ANSWER_WAIT)
    session.wait_s = min(wait, max(0.0, session.deadline - time.monotonic()))
    started = time.monotonic()
    try:
        return session.command(command, min(time.monotonic() + wait, session.deadline), shown=shown)
    finally:
        session.wait_s = None
        took = round(time.monotonic() - started, 3)
        progress = session.auth
        progress.answer_s = max(progress.answer_s or 0.0, took)


def _sasl_exchange(session, name: str, mechanism: sasl.Mechanism) -> None:
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
                session.finding(rules.scram_server_signature_invalid(str(exc)))
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
            session.finding(rules.scram_server_signature_invalid(str(exc)))
            _auth_fail(session, AUTH_ERROR, str(exc), reply=reply)
        progress.status = ACCEPTED
        verified = " (server signature verified)" if mechanism.server_verified else ""
        session.end(OK, reply=reply, detail=f"{name} accepted{verified}")
        return
    status = REJECTED
    session.finding(rules.auth_rejected(name, progress.user, reply.summary(), progress.explanation,
                                        reply.code))
    _auth_fail(session, status, f"{name} rejected: {progress.explanation}", reply=reply)

def _shown_response(session, message: sasl.SaslMessage, wire: str) -> str:
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

def _auth_fail(session, status: str, message: str, *, reply: Reply | None = None):
    progress = session.auth
    progress.status = status
    if not progress.explanation or status != REJECTED:
        progress.explanation = message
    session.fail(message, reply=reply)

def auth_outcome(session) -> AuthOutcome | None:
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
    scrub = session.scrub
    return AuthOutcome(
        requested=progress.requested,
        mechanism=progress.mechanism,
        user=progress.user,
        status=progress.status,
        offered_before_tls=session.caps_before.auth_mechanisms if session.caps_before else None,
        offered_after_tls=session.caps_after.auth_mechanisms if session.caps_after else None,
        reply=session.scrub_reply(progress.reply),
        explanation=scrub(progress.explanation),
        rule=progress.rule,
        server_error=scrub(progress.server_error),
        server_verified=progress.server_verified,
        channel_binding=progress.channel_binding,
        answer_s=progress.answer_s,
    )
