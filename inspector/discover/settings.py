"""One candidate's probe → an Assessment for the ranking, and the chosen one → settings for a client.

Words for failures are the table's (``reason``): why a session is of no use to
a mail client (RFC 8314 §3: never without TLS), or why the candidate was not
tried at all (its address unknown, or the deadline).
"""

from __future__ import annotations

from ..exitcodes import ExitCode
from ..probes.session import ProbeResult
from .candidates import Candidate
from .dns import Resolution
from .ranking import Assessment
from .results import Recommendation

DEADLINE_BEFORE_LOOKUP = "not tried: the overall deadline was reached before its name was looked up"

#: SASL mechanisms in the order we recommend them over TLS, and what mail clients call them.
MECHANISM_PREFERENCE = ("PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "XOAUTH2",
                        "OAUTHBEARER")
CLIENT_TERMS = {"PLAIN": ("Normal password", "password-cleartext"),
                "LOGIN": ("Normal password", "password-cleartext"),
                "SCRAM-SHA-256": ("Encrypted password", "password-encrypted"),
                "SCRAM-SHA-1": ("Encrypted password", "password-encrypted"),
                "CRAM-MD5": ("Encrypted password", "password-encrypted"),
                "XOAUTH2": ("OAuth2", "OAuth2"), "OAUTHBEARER": ("OAuth2", "OAuth2")}


def unresolved_reason(resolution: Resolution | None) -> str:
    """Why a name gave no address: absent (NXDOMAIN, NODATA), or unknown, so not tried."""
    if resolution is None:
        return DEADLINE_BEFORE_LOOKUP
    if resolution.lookup.unknown:
        return f"not tried: its address is {resolution.lookup.detail}"
    return f"name does not resolve: {resolution.lookup.detail}"


def assess(index: int, c: Candidate, resolution: Resolution | None, outcome) -> Assessment:
    common = dict(index=index, label=c.label, port=c.port, source_rank=c.source_rank,
                  srv_priority=c.srv_priority, srv_weight=c.srv_weight)
    if resolution is None or not resolution.addresses:
        return Assessment(failure=unresolved_reason(resolution), tls="none", cert_problem=None,
                          auth_mechanisms=(), login=None, **common)
    if outcome is None or outcome.result is None:
        why = outcome.skipped if outcome else "not probed"
        return Assessment(failure=why, tls="none", cert_problem=None, auth_mechanisms=(), login=None,
                          **common)
    result = outcome.result
    tls = result.config.mode if result.tls is not None else "none"
    caps = result.capabilities_after if result.tls is not None else result.capabilities_before
    return Assessment(failure=_failure(result), tls=tls, cert_problem=certificate_problem(result),
                      auth_mechanisms=tuple(caps.auth_mechanisms) if caps else (),
                      login=outcome.login, **common)


def _failure(result: ProbeResult) -> str | None:
    """Why the session is of no use to a mail client, in the words of the table."""
    if result.exit_code in (ExitCode.OK, ExitCode.FINDINGS, ExitCode.CERTIFICATE):
        if result.step("ehlo-tls") is None and result.step("ehlo") is None:
            return "no EHLO answer"
        return None
    message = (result.error or "").partition(": ")[2] or (result.error or "failed")
    step = (result.error or "").partition(":")[0]
    if step == "connect":
        return f"port blocked or closed: {message}"
    if step == "starttls":
        caps = result.capabilities_before
        if caps is not None and not caps.starttls:
            return "no STARTTLS offered (RFC 3207)"
        return f"STARTTLS refused: {message}"
    if step == "tls-handshake":
        return f"TLS handshake failed: {message}"
    if step in ("greeting", "ehlo", "ehlo-tls"):
        return f"no working SMTP session ({step}): {message}"
    return message


def certificate_problem(result: ProbeResult) -> str | None:
    if result.tls is None:
        return None
    report = result.certificate
    if report is None:
        return "no certificate checked"
    if not report.hostname_match:
        names = ", ".join(report.chain[0].sans[:4]) if report.chain else "(none)"
        return f"certificate for another name ({names}), not {report.servername}"
    if not report.trusted:
        return f"certificate not trusted: {report.trust_error}"
    return None


def recommend(chosen, email: str):
    """The settings block: host, port, TLS mode, the client's name for the mechanism, the user name."""
    c, a, result = chosen.candidate, chosen.assessment, chosen.probe
    offered = a.auth_mechanisms
    mechanism = next((m for m in MECHANISM_PREFERENCE if m in offered), offered[0] if offered else None)
    if mechanism is None:
        authentication, ac_auth = "none offered (the server accepts no login here)", "none"
    else:
        term, ac_auth = CLIENT_TERMS.get(mechanism, (mechanism, "password-cleartext"))
        authentication = f"{term} (SASL {mechanism}; offered: {' '.join(offered)})"
    local = email.partition("@")[0]
    if c.username and c.username == local:
        username, form, placeholder = local, "local part only, from autoconfig", "%EMAILLOCALPART%"
    elif c.username and c.username != email:
        username, form, placeholder = c.username, "as autoconfig gives it", c.username
    elif c.username:
        username, form, placeholder = email, "full e-mail address, from autoconfig", "%EMAILADDRESS%"
    else:
        username, form, placeholder = email, "full e-mail address, assumed: no source says otherwise", \
            "%EMAILADDRESS%"
    tls_version = result.tls.version if result and result.tls else None
    return Recommendation(c.host, c.port, a.tls, offered, authentication, ac_auth, username, form,
                          placeholder, tls_version, a.cert_problem, c.sources, a.login)
