"""Rules about what crosses in clear and how STARTTLS ended (RFC 3207, RFC 4954 §4, RFC 8314 §3).

Pure functions: facts of a session (capabilities, the STARTTLS reply, whether
TLS was possible) in, a finding (or a verdict) out. ``probe`` and ``replay``
judge with the same functions.

Decided here:
- ``starttls-failed``: :func:`starttls_failed`
- ``auth-without-tls-possible``: :func:`auth_without_tls_possible`
- the ``--check-injection`` verdict when the pipelined STARTTLS is refused:
  :func:`pipelined_starttls_refusal`
"""

from __future__ import annotations

from ..findings import Finding, make_finding
from ..frozen import frozen
from ..smtp.capabilities import Capabilities
from ..smtp.reply import Reply

#: How STARTTLS ended, as :func:`auth_without_tls_possible` needs it.
TLS_NOT_OFFERED, TLS_REFUSED, TLS_ESTABLISHED = "not-offered", "refused", "established"


def starttls_failed(answer: str | None, *, ended: str | None = None) -> Finding:
    """``starttls-failed``: STARTTLS was advertised, sent, and not answered 220 (RFC 3207 §4).

    An error on every port: on a submission port TLS is required, and on an
    opportunistic port (25, 2525, ...) the server promised TLS in its EHLO and
    then withheld it, so every client falls back to clear text (RFC 3207 §4.1:
    454 is "TLS not available due to temporary reason").
    """
    if answer is None:
        return make_finding("starttls-failed", f"STARTTLS got no reply; the connection ended ({ended})")
    return make_finding("starttls-failed", f"STARTTLS answered {answer!r}")


def auth_without_tls_possible(caps: Capabilities | None, tls: str, where: str) -> Finding | None:
    """``auth-without-tls-possible``: password mechanisms offered where no TLS can be had.

    RFC 8314 §3 / RFC 4954 §4: PLAIN and LOGIN carry the password readable. When
    the EHLO offers them and STARTTLS is not offered (or refused), a client that
    logs in here can only send its password in clear.
    """
    if caps is None or tls == TLS_ESTABLISHED or not caps.plaintext_auth:
        return None
    why = "STARTTLS is not offered" if tls == TLS_NOT_OFFERED else "STARTTLS was refused"
    return make_finding("auth-without-tls-possible",
                        f"AUTH {' '.join(caps.plaintext_auth)} offered on {where} and {why}: "
                        "a password can only cross in clear here")


@frozen
class InjectionVerdict:
    injectable: bool | None   #: None: not decided by this connection
    detail: str


def pipelined_starttls_refusal(reply: Reply | None, closed: bool) -> InjectionVerdict:
    """The verdict when the server refused ``STARTTLS`` sent with a pipelined ``NOOP``.

    RFC 3207 §4.2 and RFC 2920 §3.1: STARTTLS must be the last command of a
    group; a server that sees more input after it may refuse (OpenSMTPD: "500
    5.5.1 Invalid command: Pipelining not supported", then it closes). Such a
    server never starts TLS with plaintext commands waiting, so nothing can be
    injected: it is not injectable. Whether STARTTLS itself works is a separate
    question, answered by a second session without pipelining.
    """
    answer = "no reply" if reply is None else repr(reply.summary())
    how = " and closed the connection" if closed else ""
    if reply is not None and reply.code is not None and reply.code >= 500:
        return InjectionVerdict(False, f"not injectable: the server refused STARTTLS followed by a "
                                f"pipelined NOOP ({answer}){how}, so no plaintext command can reach "
                                "the TLS session (RFC 3207 §4.2)")
    return InjectionVerdict(None, f"not tested: STARTTLS with a pipelined NOOP got {answer}{how}")
