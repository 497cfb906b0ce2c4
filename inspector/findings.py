"""Findings: stable kebab-case ids with a severity, evidence and the rule they rest on.

The catalogue below is the single list of ids; renderers and the JSON schema
take ids from here. An id never changes meaning once published. Each entry
names (``rule=``) the one function in :mod:`inspector.rules` that decides it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


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

CATALOGUE: dict[str, FindingKind] = {kind.id: kind for kind in _KINDS}

#: finding id -> the step where it is decided (where the HTML ladder pins it; presentation only).
FINDING_STEP = {
    "greeting-rejected": "greeting", "greeting-delayed": "greeting",
    "ehlo-rejected": "ehlo", "starttls-not-offered": "ehlo", "starttls-masked": "ehlo",
    "auth-before-tls": "ehlo", "starttls-stripped": "ehlo",
    "starttls-failed": "starttls", "response-injection": "starttls",
    "command-injection": "injection-check",
    "tls-handshake-failed": "tls-handshake", "tls-legacy-version": "tls-handshake",
    "tls-intercepted": "certificate", "cert-untrusted": "certificate",
    "cert-hostname-mismatch": "certificate", "cert-expired": "certificate",
    "cert-not-yet-valid": "certificate", "cert-expiring-soon": "certificate",
    "cert-weak-key": "certificate", "cert-self-signed": "certificate",
    "cert-sha1-signature": "certificate", "cert-no-san": "certificate",
    "cert-missing-intermediate": "certificate", "cert-chain-order": "certificate",
    "cert-no-server-auth-eku": "certificate", "tlsa-mismatch": "certificate",
    "tlsa-unusable": "certificate",
    "starttls-readvertised": "ehlo-tls",
    "auth-refused-plaintext": "auth", "auth-plaintext-allowed": "auth", "auth-not-offered": "auth",
    "auth-mechanism-not-offered": "auth", "auth-rejected": "auth",
    "scram-server-signature-invalid": "auth", "credentials-exposed": "auth",
}

LIVE, REPLAY = "live", "replay"
_ENCRYPTED_CERTIFICATE = ("in TLS 1.3 the Certificate message is encrypted; replay judges a chain only "
                          "when TLS <= 1.2 sent it in clear")
_CLIENT_CHOICE = ("the client's own decisions (which mechanism, whether to send secrets) and, inside "
                  "TLS, the whole exchange are not visible in a capture")
_PACKETS = "packet-level facts of the capture file (segments, TTLs, holes)"
#: Findings only one side can decide when a live ``probe --sniff --pcap F`` is compared with
#: ``replay F``: id -> (the side that can, why the other cannot). The parity test uses this list.
ONE_SIDED: dict[str, tuple[str, str]] = {
    "packet-capture": (LIVE, "the sniffer's summary of the packets it captured; the replay reads them"),
    "connection-reset": (LIVE, "told from the sniffer's segments; replay judges RSTs by their TTL"),
    "rst-injected": (LIVE, "told from the sniffer's segments and the SYN-ACK's hop distance"),
    "command-injection": (LIVE, "the reply to the pipelined NOOP comes inside TLS, encrypted in the capture"),
    "starttls-readvertised": (LIVE, "the EHLO reply inside TLS is encrypted in the capture"),
    **{fid: (LIVE, _CLIENT_CHOICE) for fid in (
        "auth-refused-plaintext", "auth-plaintext-allowed", "auth-not-offered", "auth-mechanism-not-offered",
        "auth-rejected", "scram-server-signature-invalid")},
    **{fid: (LIVE, _ENCRYPTED_CERTIFICATE) for fid in CATALOGUE if fid.startswith("cert-")},
    "credentials-exposed": (REPLAY, "a live probe sends credentials in clear only with "
                                    "--allow-plaintext-auth, and reports auth-plaintext-allowed then"),
    **{fid: (REPLAY, _PACKETS) for fid in ("rst-suspicious-ttl", "tcp-segment-conflict", "capture-gap")},
}


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
