"""The probe's configuration, steps and result (frozen data; no I/O)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exitcodes import ExitCode
from ..findings import Finding
from ..frozen import frozen
from ..net.transport import TlsSession
from ..rules.session import GREETING_DELAY_WARNING
from ..smtp.capabilities import Capabilities
from ..smtp.reply import Reply
from ..transcript import Entry

if TYPE_CHECKING:
    from ..certs import CertificateReport
    from .auth_results import AuthOutcome, AuthRequest
    from .transaction_result import TransactionOutcome, TransactionRequest

STARTTLS, IMPLICIT, PLAIN = "starttls", "implicit", "plain"
OK, FAILED, SKIPPED = "ok", "failed", "skipped"

#: Which exit code a failed step maps to (QUIT never fails a probe).
STEP_EXIT_CODES = {
    "connect": ExitCode.CONNECT,
    "greeting": ExitCode.GREETING,
    "ehlo": ExitCode.EHLO,
    "starttls": ExitCode.STARTTLS,
    "tls-handshake": ExitCode.TLS,
    "certificate": ExitCode.CERTIFICATE,
    "ehlo-tls": ExitCode.EHLO,
    "injection-check": ExitCode.TLS,   #: the TLS session broke right after the handshake
    "auth": ExitCode.AUTH,
    "mail": ExitCode.MAIL,
    "rcpt": ExitCode.RCPT,
    "data": ExitCode.DATA,
}


class StepFailed(Exception):
    """Stops the session after a step failed (raised by ``ProbeSession.fail``, caught in ``run``)."""


@frozen
class ProbeConfig:
    host: str
    port: int = 587
    mode: str = STARTTLS
    require_tls: bool = True
    ehlo_name: str | None = None       #: default: our address literal (RFC 5321 §4.1.4)
    timeout: float = 10.0              #: per step, seconds
    deadline: float = 60.0             #: whole probe, seconds
    #: the command's one deadline (time.monotonic()), shared by every connection of
    #: ``--auth all``; None: ``deadline`` seconds from the start of this session
    deadline_at: float | None = None
    servername: str | None = None      #: SNI and the name the certificate must carry
    cafile: str | None = None
    insecure: bool = False
    source_address: str | None = None  #: the local address to connect from (--source-address)
    greeting_delay_warning: float = GREETING_DELAY_WARNING
    #: send ``STARTTLS\r\nNOOP\r\n`` in one segment to test the server (RFC 3207 §4.2)
    check_injection: bool = False
    auth: AuthRequest | None = None    #: run the AUTH step after EHLO (RFC 4954)
    #: ``send``: MAIL, RCPT, DATA/BDAT after AUTH (RFC 5321 §3.3)
    transaction: TransactionRequest | None = None

    @property
    def expected_name(self) -> str:
        return self.servername or self.host


@frozen
class Step:
    name: str
    status: str
    duration_ms: float | None
    reply: Reply | None = None
    detail: str | None = None


@frozen
class ProbeResult:
    config: ProbeConfig
    started_at: str
    peer_address: str | None
    steps: tuple[Step, ...]
    transcript: tuple[Entry, ...]
    capabilities_before: Capabilities | None
    capabilities_after: Capabilities | None
    tls: TlsSession | None
    certificate: CertificateReport | None
    findings: tuple[Finding, ...]
    exit_code: ExitCode
    error: str | None
    #: certificates as the server sent them, leaf first (DANE TLSA matching, RFC 6698 §2.1)
    chain_der: tuple[bytes, ...] = ()
    auth: AuthOutcome | None = None
    transaction: TransactionOutcome | None = None

    def step(self, name: str) -> Step | None:
        """The last step of that name (tls-handshake can appear once per mode)."""
        return next((s for s in reversed(self.steps) if s.name == name), None)

    @property
    def finding_ids(self) -> set[str]:
        return {f.id for f in self.findings}
