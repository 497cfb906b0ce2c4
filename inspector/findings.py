"""Findings: stable kebab-case ids with a severity, evidence and the rule they rest on.

The catalogue below is the single list of ids; renderers and the JSON schema
take ids from here. An id never changes meaning once published. Each entry
names (``rule=``) the one function in :mod:`inspector.rules` that decides it.
Where each id applies (the step the HTML ladder pins it to, the side of a
live/replay comparison that can see it) is in :mod:`inspector.finding_scope`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .findings_tls_checks import TLS_CHECK_KINDS


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class FindingKind:
    id: str
    severity: Severity
    title: str
    rfc: str
    #: the one function that decides this id, as ``module.function`` under ``inspector.rules``
    rule: str = ""


@dataclass(frozen=True)
class Finding:
    """One observation that deserves a person's attention."""

    id: str
    severity: Severity
    title: str
    rfc: str
    evidence: str


_KINDS = [
    FindingKind("greeting-rejected", Severity.ERROR,
                "The server refused the session in its greeting (554 or 421)", "RFC 5321 §3.1",
                rule="session.greeting_rejected"),
    FindingKind("greeting-delayed", Severity.WARNING,
                "The greeting came late or paused between lines (pregreet trap or slow DNS)",
                "RFC 5321 §4.5.3.2.1",
                rule="session.greeting_delayed"),
    FindingKind("ehlo-rejected", Severity.WARNING,
                "EHLO was refused; the session fell back to HELO without extensions",
                "RFC 5321 §4.1.4",
                rule="session.ehlo_rejected"),
    FindingKind("reply-malformed", Severity.WARNING,
                "A reply broke the SMTP reply grammar", "RFC 5321 §4.2",
                rule="session.reply_malformed"),
    FindingKind("starttls-not-offered", Severity.WARNING,
                "The server does not offer STARTTLS", "RFC 3207 §4",
                rule="session.starttls_not_offered"),
    FindingKind("starttls-masked", Severity.ERROR,
                "EHLO keywords or the greeting are masked (XXXXXXXA / asterisks): "
                "an ESMTP-inspecting firewall stands in the path", "RFC 3207 §4",
                rule="session.starttls_masked"),
    FindingKind("starttls-failed", Severity.ERROR,
                "The server did not accept STARTTLS", "RFC 3207 §4",
                rule="plaintext.starttls_failed"),
    FindingKind("response-injection", Severity.ERROR,
                "Bytes arrived after the STARTTLS 220 reply and before the TLS handshake",
                "RFC 3207 §4.2",
                rule="session.response_injection"),
    FindingKind("command-injection", Severity.ERROR,
                "The server ran a command pipelined after STARTTLS inside TLS "
                "(plaintext command injection, CVE-2011-0411 class)", "RFC 3207 §4.2",
                rule="session.command_injection"),
    FindingKind("tls-handshake-failed", Severity.ERROR,
                "The TLS handshake failed", "RFC 8446 §4; RFC 3207 §4.1",
                rule="tls.tls_handshake_failed"),
    FindingKind("starttls-readvertised", Severity.WARNING,
                "STARTTLS is still offered inside TLS", "RFC 3207 §4.2",
                rule="session.starttls_readvertised"),
    FindingKind("auth-before-tls", Severity.WARNING,
                "Plaintext AUTH mechanisms (PLAIN/LOGIN) are offered before TLS",
                "RFC 4954 §4; RFC 8314 §3",
                rule="session.auth_before_tls"),
    FindingKind("auth-without-tls-possible", Severity.ERROR,
                "Password mechanisms (PLAIN/LOGIN) are offered where no TLS is possible "
                "(STARTTLS not offered or refused): a password can only cross in clear",
                "RFC 8314 §3; RFC 4954 §4",
                rule="plaintext.auth_without_tls_possible"),
    FindingKind("auth-refused-plaintext", Severity.ERROR,
                "AUTH was not attempted: the session has no TLS and a password would cross in clear",
                "RFC 8314 §3; RFC 4954 §4",
                rule="auth.auth_refused_plaintext"),
    FindingKind("auth-plaintext-allowed", Severity.WARNING,
                "Credentials were sent without TLS (--allow-plaintext-auth)", "RFC 8314 §3; RFC 4954 §4",
                rule="auth.auth_plaintext_allowed"),
    FindingKind("auth-not-offered", Severity.ERROR,
                "The server offers no AUTH mechanism at this point of the session", "RFC 4954 §3",
                rule="auth.auth_not_offered"),
    FindingKind("auth-mechanism-not-offered", Severity.ERROR,
                "The requested AUTH mechanism is not offered by the server", "RFC 4954 §3",
                rule="auth.auth_mechanism_not_offered"),
    FindingKind("auth-rejected", Severity.ERROR,
                "The server rejected the authentication", "RFC 4954 §6",
                rule="auth.auth_rejected"),
    FindingKind("scram-server-signature-invalid", Severity.ERROR,
                "SCRAM: the server's final signature is wrong or missing; it does not know the "
                "password (a possible impostor)", "RFC 5802 §5, §9",
                rule="auth.scram_server_signature_invalid"),
    FindingKind("auth-answer-delayed", Severity.INFO,
                "The server took seconds to answer AUTH: it delays logins (a failed-login penalty)",
                "RFC 4954 §6",
                rule="auth_all.answer_delayed"),
    # The mail transaction (``send``): MAIL, RCPT, DATA/BDAT; decided in rules/transaction.py
    FindingKind("mail-rejected", Severity.ERROR, "MAIL FROM was refused (4xx: temporarily)",
                "RFC 5321 §4.1.1.2", rule="transaction.mail_rejected"),
    FindingKind("recipient-rejected", Severity.ERROR, "A recipient was refused at RCPT TO (4xx: temporarily)",
                "RFC 5321 §4.1.1.3", rule="transaction.recipient_rejected"),
    FindingKind("message-rejected", Severity.ERROR,
                "The message was refused (DATA, BDAT or the reply after the end-of-data dot)",
                "RFC 5321 §4.1.1.4; RFC 3030 §2", rule="transaction.message_rejected"),
    FindingKind("greylisted", Severity.WARNING, "The server deferred the first attempt (greylisting)",
                "RFC 6647 §2.1", rule="transaction.greylisted"),
    FindingKind("submission-without-auth", Severity.ERROR,
                "A submission port accepted recipients without authentication",
                "RFC 6409 §4.3; RFC 8314 §3.3", rule="transaction.submission_without_auth"),
    FindingKind("recipient-bounced-in-data", Severity.WARNING,
                "Recipients accepted at RCPT TO, then the message was refused in the DATA reply",
                "RFC 5321 §3.3", rule="transaction.recipient_bounced_in_data"),
    FindingKind("queue-id", Severity.INFO, "The server queued the message under this id", "RFC 5321 §4.2.2",
                rule="transaction.queue_id"),
    FindingKind("message-over-size-limit", Severity.ERROR,
                "The message is bigger than the SIZE the server advertises", "RFC 1870 §6",
                rule="transaction.message_over_size_limit"),
    FindingKind("smtputf8-not-offered", Severity.ERROR,
                "Non-ASCII addresses need SMTPUTF8, which the server does not offer", "RFC 6531 §3.3",
                rule="transaction.smtputf8_not_offered"),
    FindingKind("8bitmime-not-offered", Severity.ERROR,
                "The message has 8-bit data and the server does not offer 8BITMIME", "RFC 6152 §3",
                rule="transaction.eightbitmime_not_offered"),
    FindingKind("chunking-not-offered", Severity.WARNING,
                "BDAT was asked for, but the server does not offer CHUNKING", "RFC 3030 §2",
                rule="transaction.chunking_not_offered"),
    FindingKind("dsn-not-offered", Severity.WARNING,
                "Delivery status notification parameters were asked for, but DSN is not offered",
                "RFC 3461 §4", rule="transaction.dsn_not_offered"),
    FindingKind("requiretls-not-offered", Severity.ERROR,
                "REQUIRETLS was asked for, but the server or the session cannot honour it", "RFC 8689 §4.1",
                rule="transaction.requiretls_not_offered"),
    FindingKind("pipelining-reply-mismatch", Severity.ERROR,
                "A reply does not fit the command it answers: the pipelined group was answered out "
                "of order or with a reply missing", "RFC 2920 §3.1", rule="transaction.reply_out_of_order"),
    FindingKind("pipelining-reply-missing", Severity.ERROR, "Commands of the transaction got no reply",
                "RFC 2920 §3.1", rule="transaction.replies_missing"),
    FindingKind("line-ends-fixed", Severity.WARNING,
                "The message had bare LF or CR line ends; they were sent as CRLF", "RFC 5321 §2.3.8",
                rule="transaction.line_ends_fixed"),
    FindingKind("tls-not-used", Severity.INFO,
                "The server offered STARTTLS, but the session ran without TLS (the client did not "
                "ask, or --plain)", "RFC 8314 §3",
                rule="session.tls_not_used"),
    FindingKind("tls-legacy-version", Severity.WARNING,
                "TLS below version 1.2 was negotiated", "RFC 8996 §2; RFC 8997 §3",
                rule="tls.tls_legacy_version"),
    FindingKind("cert-untrusted", Severity.ERROR,
                "The certificate chain does not lead to a trusted root", "RFC 5280 §6",
                rule="certificates.cert_untrusted"),
    FindingKind("cert-hostname-mismatch", Severity.ERROR,
                "The certificate does not name the server", "RFC 6125 §6; RFC 7817 §3",
                rule="certificates.cert_hostname_mismatch"),
    FindingKind("cert-expired", Severity.ERROR,
                "The certificate has expired", "RFC 5280 §4.1.2.5",
                rule="certificates.cert_expired"),
    FindingKind("cert-not-yet-valid", Severity.ERROR,
                "The certificate is not valid yet", "RFC 5280 §4.1.2.5",
                rule="certificates.cert_not_yet_valid"),
    FindingKind("cert-expiring-soon", Severity.WARNING,
                "The certificate expires within 30 days", "RFC 5280 §4.1.2.5",
                rule="certificates.cert_expiring_soon"),
    FindingKind("cert-weak-key", Severity.WARNING,
                "The certificate key is too small (RSA < 2048 bits, EC < 256 bits)",
                "RFC 9325 §4.3",
                rule="certificates.cert_weak_key"),
    FindingKind("cert-self-signed", Severity.WARNING,
                "The certificate is self-signed", "RFC 5280 §6.1",
                rule="certificates.cert_self_signed"),
    FindingKind("cert-sha1-signature", Severity.WARNING,
                "The certificate is signed with SHA-1", "RFC 9155 §5",
                rule="certificates.cert_sha1_signature"),
    FindingKind("cert-no-san", Severity.WARNING,
                "The certificate has no subjectAltName; web PKI verifiers (browsers, Go, "
                "cryptography) ignore the CN that OpenSSL clients still fall back to",
                "RFC 6125 §6.4.4",
                rule="certificates.cert_no_san"),
    # discover: submission settings and the domain's inbound mail (TLSA ids are with the certificates)
    FindingKind("discover-port-25", Severity.WARNING,
                "Only port 25 gave a working submission session; 465/587 are the submission ports",
                "RFC 8314 §3.3; RFC 6409 §3.1",
                rule="discovery.recommended_server"),
    FindingKind("discover-certificate-invalid", Severity.ERROR,
                "The recommended server's certificate is not trusted or names another host",
                "RFC 8314 §3.3; RFC 6125 §6",
                rule="discovery.recommended_server"),
    FindingKind("autoconfig-invalid", Severity.WARNING,
                "An autoconfig document was refused (malformed, DTD/entities, too large)",
                "Mozilla autoconfig config-v1.1",
                rule="discovery.autoconfig_document"),
    FindingKind("autoconfig-http", Severity.WARNING,
                "Settings came from autoconfig over plain HTTP and could have been altered on the way",
                "RFC 8314 §5.1",
                rule="discovery.autoconfig_document"),
    FindingKind("mta-sts-record-invalid", Severity.ERROR,
                "The _mta-sts TXT record is malformed or not unique", "RFC 8461 §3.1",
                rule="discovery.mta_sts"),
    FindingKind("mta-sts-policy-invalid", Severity.ERROR,
                "The MTA-STS policy could not be fetched over validated HTTPS or is malformed",
                "RFC 8461 §3.2, §3.3",
                rule="discovery.mta_sts"),
    FindingKind("mta-sts-mx-mismatch", Severity.ERROR,
                "An MX host is not matched by the MTA-STS policy's mx patterns", "RFC 8461 §4.1",
                rule="discovery.mta_sts"),
    FindingKind("mta-sts-mx-certificate", Severity.ERROR,
                "An MX named by an MTA-STS policy has no valid certificate for its name",
                "RFC 8461 §4.2",
                rule="discovery.mta_sts"),
    FindingKind("mta-sts-testing", Severity.INFO,
                "The MTA-STS policy is in testing mode: failures are reported, not enforced",
                "RFC 8461 §5",
                rule="discovery.mta_sts"),
    FindingKind("dnssec-unauthenticated", Severity.WARNING,
                "TLSA records came without the DNSSEC AD flag: DANE does not apply",
                "RFC 7672 §2.2; RFC 4035 §3.2.3",
                rule="discovery.dnssec_unauthenticated"),
    FindingKind("mx-null", Severity.INFO,
                "The domain publishes a null MX (MX 0 .): it accepts no mail", "RFC 7505 §3",
                rule="discovery.null_mx"),
    # Path interference (``ports``, ``interference``, ``probe --sniff``; README "Is the path interfering?")
    FindingKind("silently-dropped", Severity.ERROR,
                "SYNs to this port get no answer while the control port on the same address answers: "
                "a filter on the path drops them", "RFC 9293 §3.5",
                rule="interference.silently_dropped"),
    FindingKind("icmp-prohibited", Severity.ERROR,
                "A router answered with ICMP destination unreachable (administratively prohibited): "
                "a filter refuses this port", "RFC 1812 §5.2.7.1; RFC 792",
                rule="interference.icmp_prohibited"),
    FindingKind("rst-injected", Severity.ERROR,
                "A TCP RST came from nearer than the host (other hop distance or fingerprint): "
                "a firewall or injector resets this port", "RFC 9293 §3.5.2",
                rule="interference.rst_injected"),
    FindingKind("transparent-proxy", Severity.ERROR,
                "Something other than the host answers on this port (fewer hops, another fingerprint, "
                "greeting or certificate): a transparent proxy or redirect", "RFC 3207 §4; RFC 9293 §3.5",
                rule="interference.transparent_proxy"),
    FindingKind("starttls-stripped", Severity.ERROR,
                "STARTTLS is offered on another port of the same host but missing here: "
                "the path removed it", "RFC 3207 §4; RFC 8314 §3",
                rule="interference.starttls_stripped"),
    FindingKind("tls-intercepted", Severity.ERROR,
                "The certificate key differs from the control port's (or from --expect-spki): "
                "TLS is terminated and re-signed on this path", "RFC 8314 §3; RFC 7672 §3",
                rule="interference.tls_intercepted"),
    FindingKind("connection-reset", Severity.WARNING,
                "A TCP RST ended the session (the packet capture shows who sent it)", "RFC 9293 §3.5.2",
                rule="packets.session_reset"),
    FindingKind("packet-capture", Severity.INFO,
                "Packets of the session were captured (segments, TTLs, RSTs)", "RFC 9293 §3.1",
                rule="packets.packet_capture"),
    # Seen in captures (replay):
    FindingKind("credentials-exposed", Severity.ERROR,
                "AUTH ran in clear text: the user name (and for PLAIN/LOGIN the password) "
                "crossed the wire readable", "RFC 4954 §4; RFC 8314 §3",
                rule="auth.credentials_exposed"),
    FindingKind("rst-suspicious-ttl", Severity.ERROR,
                "A TCP RST arrived with a TTL unlike the other packets of the side it claims "
                "to come from (an injected reset)", "RFC 9293 §3.5.3; RFC 5961 §3",
                rule="packets.rst_suspicious_ttl"),
    FindingKind("tcp-segment-conflict", Severity.WARNING,
                "A retransmitted TCP segment carried different bytes than the first copy "
                "(an injected or rewritten segment)", "RFC 9293 §3.10.7.4",
                rule="packets.tcp_segment_conflict"),
    FindingKind("capture-gap", Severity.INFO,
                "Bytes of the session are missing from the capture; the transcript has a hole",
                "RFC 9293 §3.4",
                rule="packets.capture_gap"),
    FindingKind("cert-missing-intermediate", Severity.ERROR,
                "The server does not send the intermediate certificate its leaf needs",
                "RFC 5246 §7.4.2; RFC 8446 §4.4.2",
                rule="certificates.cert_missing_intermediate"),
    FindingKind("cert-chain-order", Severity.WARNING,
                "The certificates are not sent in issuer order", "RFC 5246 §7.4.2",
                rule="certificates.cert_chain_order"),
    FindingKind("cert-no-server-auth-eku", Severity.ERROR,
                "The certificate's extended key usage does not allow TLS server authentication",
                "RFC 5280 §4.2.1.12",
                rule="certificates.cert_no_server_auth_eku"),
    FindingKind("cert-profile-nonconforming", Severity.WARNING,
                "OpenSSL-based clients trust the chain, but it departs from a stricter profile "
                "(RFC 5280 conformance, CA/Browser Forum web PKI) whose verifiers reject it",
                "RFC 5280 §4.2; CA/B Forum BR §7.1",
                rule="certificates.cert_profile_nonconforming"),
    FindingKind("tlsa-mismatch", Severity.ERROR,
                "No usable TLSA record matches the certificate chain", "RFC 7672 §3.1; RFC 6698 §2.1",
                rule="certificates.tlsa_mismatch"),
    FindingKind("tlsa-unusable", Severity.WARNING,
                "A TLSA record has a usage or parameters SMTP clients do not use (PKIX-TA/PKIX-EE, "
                "unknown selector or matching type)", "RFC 7672 §3.1.3; RFC 6698 §2.1",
                rule="certificates.tlsa_unusable"),
    FindingKind("cipher-weak", Severity.ERROR,
                "The server accepts weak cipher suites (export, RC4, DES/3DES, NULL or anonymous)",
                "RFC 7465 §2; RFC 9325 §4.1",
                rule="tls_audit.cipher_weak"),
    FindingKind("cipher-no-forward-secrecy", Severity.WARNING,
                "The server accepts cipher suites without forward secrecy (static RSA/DH key exchange)",
                "RFC 9325 §4.1",
                rule="tls_audit.cipher_no_forward_secrecy"),
    FindingKind("tls13-not-supported", Severity.WARNING,
                "The server does not support TLS 1.3", "RFC 9325 §3.1.1",
                rule="tls_audit.tls13_not_supported"),
    FindingKind("tls-offer-closed", Severity.WARNING,
                "The server closes the connection when offered some key exchanges first (e.g. DHE "
                "without DH parameters) instead of picking a suite it can use or refusing with an alert",
                "RFC 5246 §7.4.1.3; RFC 8446 §4.1.1",
                rule="tls_audit.offer_closed"),
    FindingKind("tls-no-handshake-completes", Severity.ERROR,
                "The server picks cipher suites at a TLS version, but no complete handshake at that "
                "version finishes (e.g. ServerHello, then alert internal_error)",
                "RFC 8446 §4; RFC 5246 §7.3",
                rule="tls_audit.no_handshake_completes"),
    FindingKind("no-server-cipher-order", Severity.INFO,
                "The server follows the client's cipher-suite order instead of its own",
                "RFC 9325 §4.2",
                rule="tls_audit.no_server_cipher_order"),
]

#: The TLS vulnerability checks' part of the catalogue (its own module: this one is at 400 lines).
_KINDS += [FindingKind(i, Severity(sev), title, rfc, rule=rule) for i, sev, title, rfc, rule in
           TLS_CHECK_KINDS]

CATALOGUE: dict[str, FindingKind] = {kind.id: kind for kind in _KINDS}

def make_finding(finding_id: str, evidence: str, *, severity: Severity | None = None) -> Finding:
    """Build a finding from the catalogue; ``severity`` overrides the default."""
    kind = CATALOGUE[finding_id]
    return Finding(
        id=kind.id,
        severity=severity or kind.severity,
        title=kind.title,
        rfc=kind.rfc,
        evidence=evidence,
    )


def worst_severity(findings) -> Severity | None:
    order = [Severity.INFO, Severity.WARNING, Severity.ERROR]
    worst = None
    for f in findings:
        if worst is None or order.index(f.severity) > order.index(worst):
            worst = f.severity
    return worst


class FindingList:
    """The one de-duplication policy, used by every engine that gathers findings.

    A finding equal in id and evidence to one already kept is dropped; at most
    :attr:`PER_ID` findings of one id are kept (a hostile stream must not grow
    the list without bound). Order of first appearance is kept.
    """

    PER_ID = 5

    def __init__(self, findings=()) -> None:
        self._items: list[Finding] = []
        self.extend(findings)

    def add(self, finding: Finding | None) -> None:
        if finding is None:
            return
        if any(f.id == finding.id and f.evidence == finding.evidence for f in self._items):
            return
        if sum(1 for f in self._items if f.id == finding.id) >= self.PER_ID:
            return
        self._items.append(finding)

    def extend(self, findings) -> None:
        for finding in findings:
            self.add(finding)

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def freeze(self) -> tuple[Finding, ...]:
        return tuple(self._items)
