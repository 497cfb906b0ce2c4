"""Rules for one SMTP session: greeting, EHLO, STARTTLS, replies (RFC 5321, RFC 3207).

Each function decides one finding id from events or facts and returns the
finding or None; :func:`judge_event` applies the per-event rules to one event
of the stream that the live client connection and the replay observer both
emit, so ``probe`` and ``replay`` judge with the same code.
"""

from __future__ import annotations

import re

from ..findings import Finding, Severity, make_finding
from ..frozen import frozen
from ..redaction import quoted
from ..smtp.capabilities import Capabilities
from ..smtp.events import (
    ClientCommand,
    ClientPipelined,
    CommandReply,
    ConnectionClosed,
    EhloReply,
    Greeting,
    InjectedData,
    MessageBody,
    ServerGaveUp,
    StartTlsReady,
    TlsRecordEvent,
    TlsStarted,
    UnsolicitedReply,
)
from ..smtp.reply import Reply
from . import plaintext

#: A greeting whose text is mostly asterisks: Cisco PIX/ASA banner masking.
MASKED_BANNER = re.compile(r"^[*\s0-9]*\*{6,}[*\s0-9]*$")
#: A greeting complete after this many seconds is late (RFC 5321 §4.5.3.2.1 allows 5 minutes,
#: but postscreen-style pregreet traps and slow reverse DNS show up as seconds).
GREETING_DELAY_WARNING = 2.0


@frozen
class SessionContext:
    """What the rules need to know about the session besides the events."""

    server: str                    #: "host:port" for the evidence
    tls_required: bool             #: a missing STARTTLS is an error, else a warning
    mode: str = "starttls"         #: "starttls", "implicit" or "plain"
    check_injection: bool = False  #: the client pipelined a NOOP after STARTTLS on purpose


def _tls_severity(required: bool) -> Severity:
    return Severity.ERROR if required else Severity.WARNING


# -- the rules, one per id ---------------------------------------------------------------

def greeting_rejected(greeting: Reply) -> Finding | None:
    """RFC 5321 §3.1: a 554 (or 421) greeting refuses the session."""
    if greeting.code in (421, 554):
        return make_finding("greeting-rejected", greeting.summary())
    return None


def greeting_delayed(elapsed: float, pause: float, lines: int,
                     threshold: float = GREETING_DELAY_WARNING) -> Finding | None:
    """RFC 5321 §4.5.3.2.1: a greeting that came late, or paused between its lines."""
    if elapsed < threshold:
        return None
    how = (f"; {pause:.2f} s passed between its first byte and its last line "
           "(a pregreet pause)") if pause >= 1.0 and lines > 1 else ""
    return make_finding("greeting-delayed", f"greeting complete after {elapsed:.2f} s{how}")


def banner_masked(text: str) -> bool:
    """A greeting text made mostly of asterisks (Cisco PIX/ASA "smtp fixup")."""
    return bool(MASKED_BANNER.match(text.strip() or "-"))


def starttls_masked(*, greeting: Reply | None = None, capabilities: Capabilities | None = None,
                    masked_lines=()) -> Finding | None:
    """RFC 3207 §4: EHLO keywords masked (XXXXXXXA) or a greeting of asterisks (PIX/ASA).

    ``masked_lines``: what ``interference`` already found masked on a port.
    """
    if greeting is not None and greeting.lines and banner_masked(greeting.lines[0].text):
        return make_finding("starttls-masked", f"greeting masked with asterisks: {greeting.summary()!r}")
    lines = tuple(capabilities.masked) if capabilities is not None else tuple(masked_lines)
    if lines:
        return make_finding("starttls-masked", "EHLO lines masked: " + ", ".join(lines))
    return None


def ehlo_rejected(reply: Reply) -> Finding | None:
    """RFC 5321 §4.1.4: a 5xx to EHLO; the client falls back to HELO without extensions."""
    if reply.code is not None and reply.code >= 500:
        return make_finding("ehlo-rejected", f"EHLO got {reply.summary()!r}; trying HELO")
    return None


def reply_malformed(*, reply: Reply | None = None, unsolicited: Reply | None = None,
                    error: str | None = None) -> Finding | None:
    """RFC 5321 §4.2: a reply that breaks the grammar, one nobody asked for, or a hard cap passed."""
    if error is not None:
        return make_finding("reply-malformed", error)
    if unsolicited is not None:
        return make_finding("reply-malformed", f"reply nobody asked for: {unsolicited.summary()!r}")
    if reply is not None and reply.anomalies:
        kinds = ", ".join(dict.fromkeys(a.kind for a in reply.anomalies))
        shown = "; ".join(a.describe() for a in reply.anomalies[:3])
        more = f" (+{len(reply.anomalies) - 3} more)" if len(reply.anomalies) > 3 else ""
        return make_finding("reply-malformed", f"{kinds}: {shown}{more}")
    return None


def auth_before_tls(capabilities: Capabilities, secure: bool) -> Finding | None:
    """RFC 4954 §4, RFC 8314 §3: PLAIN/LOGIN offered before TLS invites passwords in clear."""
    if not secure and capabilities.plaintext_auth:
        return make_finding("auth-before-tls",
                            f"AUTH {' '.join(capabilities.auth_mechanisms)} offered before TLS")
    return None


def starttls_readvertised(capabilities: Capabilities, secure: bool, mode: str) -> Finding | None:
    """RFC 3207 §4.2: once TLS runs, STARTTLS must not be offered again."""
    if secure and mode == "starttls" and capabilities.starttls:
        return make_finding("starttls-readvertised", "EHLO inside TLS still lists STARTTLS")
    return None


def starttls_not_offered(capabilities: Capabilities | None, context: SessionContext) -> Finding | None:
    """RFC 3207 §4: the EHLO reply in clear text lists no STARTTLS."""
    if capabilities is None or capabilities.starttls:
        return None
    masked = f" (masked lines: {', '.join(capabilities.masked)})" if capabilities.masked else ""
    return make_finding("starttls-not-offered",
                        f"EHLO reply from {context.server} has no STARTTLS{masked}",
                        severity=_tls_severity(context.tls_required))


def response_injection(*, injected: bytes = b"", non_tls: bytes = b"",
                       context: SessionContext | None = None) -> Finding | None:
    """RFC 3207 §4.2: bytes after the STARTTLS 220 and before the handshake, or instead of it."""
    if injected:
        hint = (" (maybe the reply to the NOOP pipelined by --check-injection, run in plaintext)"
                if context is not None and context.check_injection else "")
        return make_finding("response-injection",
                            f"{len(injected)} bytes after the STARTTLS 220, discarded unread: "
                            f"{quoted(injected, 80)}{hint}")
    if non_tls:
        return make_finding("response-injection",
                            f"non-TLS bytes where the TLS handshake should begin: {quoted(non_tls, 80)}")
    return None


def command_injection(reply: Reply) -> Finding:
    """RFC 3207 §4.2 (CVE-2011-0411): the NOOP pipelined after STARTTLS was answered inside TLS."""
    return make_finding("command-injection", "the NOOP sent in plaintext in the same segment as "
                        f"STARTTLS was answered inside TLS: {reply.summary()!r}")


def tls_not_used(*, starttls_offered: bool, tls_attempted: bool, server: str,
                 why: str = "") -> Finding | None:
    """RFC 8314 §3: the server offered STARTTLS, the client never asked for TLS."""
    if not starttls_offered or tls_attempted:
        return None
    return make_finding("tls-not-used", f"STARTTLS was offered by {server}, but the session went on "
                                        f"in clear text{why}")


# -- one event of the stream ------------------------------------------------------------

def judge_event(event, *, secure: bool, context: SessionContext,
                capabilities: Capabilities | None = None) -> list[Finding]:
    """The findings one client-connection (or observer) event supports on its own.

    ``capabilities``: the last EHLO reply in clear text (for what a refused STARTTLS leaves).
    Each event type goes only to the rules that read it (most of a session's events, the
    client's commands and message bodies, to none).
    """
    kind = type(event)
    judge = _JUDGES.get(kind)
    if judge is None:
        judge = _JUDGES[kind] = _judge_for(kind)
    if judge is _no_rule:
        return []
    found = judge(event, secure, context, capabilities)
    return [f for f in found if f is not None] if found else found


def event_judge(kind: type):
    """The rules of :func:`judge_event` for one event type, as ``judge(event, secure, context,
    capabilities)`` returning findings (None entries included), or None when no rule reads that
    type: a caller that sees many events looks this up once per type."""
    judge = _JUDGES.get(kind)
    if judge is None:
        judge = _JUDGES[kind] = _judge_for(kind)
    return None if judge is _no_rule else judge


def _no_rule(event, secure, context, capabilities) -> list:
    return []


def _malformed(reply: Reply) -> list:
    """reply-malformed for a reply that breaks the grammar (RFC 5321 §4.2); most do not."""
    return [reply_malformed(reply=reply)] if isinstance(reply, Reply) and reply.anomalies else []


def _judge_greeting(event, secure, context, capabilities) -> list:
    reply = event.reply
    return _malformed(reply) + [starttls_masked(greeting=reply), greeting_rejected(reply)]


def _judge_unsolicited(event, secure, context, capabilities) -> list:
    return [reply_malformed(reply=event.reply), reply_malformed(unsolicited=event.reply)]


def _judge_ehlo(event, secure, context, capabilities) -> list:
    caps = event.capabilities
    return _malformed(event.reply) + [starttls_masked(capabilities=caps), auth_before_tls(caps, secure),
                                      starttls_readvertised(caps, secure, context.mode)]


def _judge_reply(event, secure, context, capabilities) -> list:
    reply = event.reply
    found = _malformed(reply)
    verb = event.command.verb.upper()
    if verb == "EHLO":
        found.append(ehlo_rejected(reply))
    elif verb == "STARTTLS" and not isinstance(event, StartTlsReady):
        found.append(plaintext.starttls_failed(reply.summary()))
        found.append(plaintext.auth_without_tls_possible(capabilities, plaintext.TLS_REFUSED,
                                                         context.server))
    return found


def _judge_injected(event, secure, context, capabilities) -> list:
    return [response_injection(injected=event.data, context=context)]


def _judge_gave_up(event, secure, context, capabilities) -> list:
    return [reply_malformed(error=event.reason)]


def _judge_closed(event, secure, context, capabilities) -> list:
    if any(c.verb.upper() == "STARTTLS" for c in event.unanswered):
        return [plaintext.starttls_failed(None, ended="closed")]
    return []


def _judge_any(event, secure, context, capabilities) -> list:
    """An event type of no known kind: whatever it holds that the rules read."""
    reply = getattr(event, "reply", None)
    return [reply_malformed(reply=reply)] if isinstance(reply, Reply) else []


#: Event type -> its judge; the first time a type is seen, found from the event classes.
_JUDGES: dict[type, object] = {kind: _no_rule for kind in (ClientCommand, MessageBody, TlsStarted,
                                                           TlsRecordEvent, ClientPipelined)}
_BY_KIND = ((Greeting, _judge_greeting), (UnsolicitedReply, _judge_unsolicited),
            (EhloReply, _judge_ehlo), (CommandReply, _judge_reply), (InjectedData, _judge_injected),
            (ServerGaveUp, _judge_gave_up), (ConnectionClosed, _judge_closed))


def _judge_for(kind: type):
    return next((judge for base, judge in _BY_KIND if issubclass(kind, base)), _judge_any)
