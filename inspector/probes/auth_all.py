"""``probe --auth all``: every mechanism on its own connection, one row each.

A first session without AUTH learns what is offered before and after TLS
(RFC 3207 §4.2: the two lists may differ); then each mechanism smtp-inspector
supports and the server offers gets a fresh session (an AUTH that failed can
leave a server in a state that taints the next try, RFC 4954 §4). Rows for
mechanisms that were not tried say why.

The mechanism sessions run at the same time: a server that delays failed
logins (Dovecot's penalty grows with every failure from an address, up to
15 s) then costs the longest single delay, not their sum, and each row keeps
the server's answer and how long it took. Every session of the command
shares one deadline (``ProbeConfig.deadline_at``), set when the command starts.
"""

from __future__ import annotations

import concurrent.futures
import time

from ..exitcodes import ExitCode
from ..findings import Finding, FindingList, Severity
from ..frozen import frozen, replace
from ..rules.auth import auth_refused_plaintext
from ..smtp import sasl
from .auth_step import ACCEPTED, AUTH_ERROR, AUTH_SKIPPED, NOT_OFFERED, REFUSED, REJECTED
from .session import ProbeConfig, ProbeResult, run_probe

UNSUPPORTED = "unsupported"
#: Mechanism sessions open at once (every mechanism smtp-inspector speaks fits).
MAX_PARALLEL = 12


@frozen
class AuthRow:
    mechanism: str
    offered_before_tls: bool | None      #: None: there was no EHLO before TLS (implicit TLS)
    offered_after_tls: bool | None       #: None: the session never reached TLS
    status: str
    code: int | None
    enhanced_code: str | None
    explanation: str
    rule: str | None
    probe: int | None                    #: index into AuthTable.probes, when a session ran
    answer_s: float | None = None        #: the longest the server took to answer a line of AUTH


@frozen
class AuthTable:
    config: ProbeConfig
    discovery: ProbeResult
    rows: tuple[AuthRow, ...]
    probes: tuple[ProbeResult, ...]
    findings: tuple[Finding, ...]
    exit_code: ExitCode
    error: str | None


def run_auth_all(config: ProbeConfig) -> AuthTable:
    """Try each offered mechanism; never raises for network or protocol trouble."""
    if config.deadline_at is None:
        config = replace(config, deadline_at=time.monotonic() + config.deadline)
    request = config.auth
    discovery = run_probe(replace(config, auth=None))
    findings = FindingList(discovery.findings)
    if discovery.exit_code not in (ExitCode.OK, ExitCode.FINDINGS):
        return AuthTable(config, discovery, (), (), tuple(findings), discovery.exit_code,
                         discovery.error)
    before = discovery.capabilities_before
    after = discovery.capabilities_after
    secure = discovery.tls is not None
    offered_before = set(before.auth_mechanisms) if before else None
    offered_after = set(after.auth_mechanisms) if after else None
    usable = (offered_after if secure else offered_before) or set()
    names = list(sasl.SUPPORTED_MECHANISMS) + sorted(
        m for m in (offered_before or set()) | (offered_after or set()) if m not in sasl.SUPPORTED_MECHANISMS)
    creds = request.credentials

    def row(name, status, explanation, rule=None, code=None, enhanced=None, probe=None, answer_s=None):
        return AuthRow(name, None if offered_before is None else name in offered_before,
                       None if offered_after is None else name in offered_after,
                       status, code, enhanced, explanation, rule, probe, answer_s)

    rows: dict[str, AuthRow] = {}
    to_try: list[str] = []
    for name in names:
        if name not in sasl.SUPPORTED_MECHANISMS:
            rows[name] = row(name, UNSUPPORTED, "offered, but smtp-inspector does not implement it")
        elif name not in usable:
            where = "before TLS only" if offered_before and name in offered_before else ""
            rows[name] = row(name, NOT_OFFERED, f"offered {where}; not tried" if where else "not offered")
        elif not secure and not request.allow_plaintext:
            rows[name] = row(name, REFUSED, "not tried: no TLS, and credentials are not sent in clear "
                             "(--allow-plaintext-auth overrides)", "RFC 8314 §3")
        elif not (creds.token if sasl.needs(name) == "token" else creds.password):
            how = ("SMTP_INSPECTOR_TOKEN or --token-file" if sasl.needs(name) == "token"
                   else "SMTP_INSPECTOR_PASSWORD or --password-file")
            rows[name] = row(name, AUTH_SKIPPED, f"not tried: no {sasl.needs(name)} given ({how})")
        else:
            to_try.append(name)

    probes = _run_concurrently(config, request, to_try)
    for index, (name, result) in enumerate(zip(to_try, probes, strict=True)):
        outcome = result.auth
        if outcome is None:  # pragma: no cover - the session always reports AUTH when asked
            rows[name] = row(name, AUTH_ERROR, result.error or "no AUTH step", probe=index)
            continue
        rows[name] = row(name, outcome.status, outcome.explanation, outcome.rule, outcome.code,
                         outcome.enhanced_code, probe=index, answer_s=outcome.answer_s)
        findings.extend(result.findings)
    ordered = tuple(rows[name] for name in names)
    refused = auth_refused_plaintext(tuple(sorted(usable)), secure=secure,
                                     allowed=request.allow_plaintext)
    if refused is not None:
        findings.add(refused)
    from ..rules.auth_all import answer_delayed

    delayed = answer_delayed([(r.mechanism, _reply(r), r.answer_s) for r in ordered if r.probe is not None])
    if delayed is not None:
        findings.add(delayed)
    exit_code, error = _verdict(ordered, probes, findings)
    return AuthTable(config, discovery, ordered, tuple(probes), findings.freeze(), exit_code, error)


def _run_concurrently(config: ProbeConfig, request, names: list[str]) -> list[ProbeResult]:
    """One session per mechanism, all at once, under the command's one deadline."""
    if not names:
        return []
    configs = [replace(config, auth=replace(request, mechanism=name)) for name in names]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(names)),
                                                 thread_name_prefix="auth-all")
    try:
        return list(pool.map(run_probe, configs))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _reply(row: AuthRow) -> str | None:
    return " ".join(str(part) for part in (row.code, row.enhanced_code) if part) or None


def _verdict(rows, probes, findings) -> tuple[ExitCode, str | None]:
    for result in probes:
        if result.exit_code not in (ExitCode.OK, ExitCode.FINDINGS, ExitCode.AUTH):
            return result.exit_code, result.error
    failed = [r.mechanism for r in rows if r.status in (REJECTED, AUTH_ERROR, REFUSED)]
    if failed:
        return ExitCode.AUTH, f"auth: not accepted: {', '.join(failed)}"
    if not any(r.status == ACCEPTED for r in rows):
        return ExitCode.AUTH, "auth: no mechanism was accepted"
    if any(f.severity is Severity.ERROR for f in findings):
        return ExitCode.FINDINGS, None
    return ExitCode.OK, None
