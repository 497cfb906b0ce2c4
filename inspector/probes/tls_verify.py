"""One complete handshake per accepted version: a suite the server picks is usable only if it finishes.

The enumeration (:mod:`inspector.tls.enumerate`) reads only the server's first
flight; a server may pick a suite and then abort (OpenSMTPD 6.8 built with
OpenSSL 3 sends its ServerHello and then alert 80, internal_error, to every
client). Here Python's ssl completes a real handshake (RFC 8446 §4, RFC 5246
§7.3), pinned to one version and offering only the suites the server picked
there. The audit's own default handshake counts for the version it negotiated.
"""

from __future__ import annotations

from ..errors import DeadlineExceeded, InspectorError
from ..findings import Finding
from ..frozen import frozen
from ..net.tls_contexts import pinned_context
from ..tls.enumerate import Unreachable, VersionOutcome
from ..tls.suites import describe_code


@frozen
class Verification:
    version: str
    completed: bool | None       #: None: this Python/OpenSSL cannot offer the version or suites
    cipher: str | None           #: what the complete handshake negotiated
    detail: str


def verify_version(dialer, version: str, openssl_names: list[str]) -> Verification:
    """Open a connection through the audit's dialer and finish one handshake at ``version``."""
    context = pinned_context(version, openssl_names)
    if context is None:
        return Verification(version, None, None, f"this Python/OpenSSL cannot offer {version} "
                            "with the suites the server picked")

    def handshake(connection):
        try:
            facts = connection.start_tls(context, dialer.config.expected_name, until=dialer.until())
        except DeadlineExceeded:
            raise
        except InspectorError as exc:  # the server's answer, not a reason to retry
            return Verification(version, False, None, str(exc))
        session = facts.session
        if session.version != version:
            return Verification(version, False, session.cipher,
                                f"the handshake pinned to {version} negotiated {session.version}")
        return Verification(version, True, session.cipher, f"completed with {session.cipher}")

    return dialer.run(handshake, "verify")  # not counted among the version's enumeration


def from_default_handshake(session) -> Verification:
    """The audit's default handshake, which completed, verifies the version it negotiated."""
    return Verification(session.version, True, session.cipher, f"completed with {session.cipher}")


def verify_all(pool, dialer, outcomes, facts) -> dict[str, Verification]:
    """One complete handshake per version the server picks suites at (tls_verify.py)."""
    checks: dict[str, Verification] = {}
    if facts is not None and facts.session.version in outcomes:
        checks[facts.session.version] = from_default_handshake(facts.session)
    futures = {}
    for version, outcome in outcomes.items():
        if outcome.supported and version not in checks:
            names = [describe_code(code).openssl_name for code in outcome.picks]
            futures[version] = pool.submit(verify_version, dialer, version, [n for n in names if n])
    for version, future in futures.items():
        try:
            checks[version] = future.result()
        except Unreachable as exc:  # the server could not be asked again
            checks[version] = Verification(version, None, None, f"not tried: {exc}")
    return checks


def _first_flight(outcome: VersionOutcome) -> str:
    """What the server's first flights showed at this version, for the finding's evidence."""
    late = next((a for a in outcome.answers if a.kind == "hello" and a.late_alert), None)
    if late is not None:
        return (f"the server sends its ServerHello ({describe_code(late.suite).iana_name}), "
                f"then alert {late.late_alert}")
    return f"the server picks {len(outcome.picks)} suites"


def handshake_findings(outcomes, checks) -> list[Finding]:
    from ..rules.tls_audit import no_handshake_completes, offer_closed

    found = [offer_closed({v: o.closed_on for v, o in outcomes.items()},
                          {v: o.supported for v, o in outcomes.items()}),
             no_handshake_completes({v: _first_flight(o) for v, o in outcomes.items() if o.supported},
                                    {v: c.completed for v, c in checks.items()},
                                    {v: c.detail for v, c in checks.items()})]
    return [f for f in found if f is not None]
