"""Findings: stable kebab-case ids with a severity, evidence and the rule they rest on.

The catalogue below is the single list of ids; renderers and the JSON schema
take ids from here. An id never changes meaning once published.
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
                "The server refused the session in its greeting (554 or 421)", "RFC 5321 §3.1"),
    FindingKind("greeting-delayed", Severity.WARNING,
                "The greeting came late or paused between lines (pregreet trap or slow DNS)",
                "RFC 5321 §4.5.3.2.1"),
    FindingKind("ehlo-rejected", Severity.WARNING,
                "EHLO was refused; the session fell back to HELO without extensions",
                "RFC 5321 §4.1.4"),
    FindingKind("reply-malformed", Severity.WARNING,
                "A reply broke the SMTP reply grammar", "RFC 5321 §4.2"),
    FindingKind("starttls-not-offered", Severity.WARNING,
                "The server does not offer STARTTLS", "RFC 3207 §4"),
    FindingKind("starttls-masked", Severity.ERROR,
                "EHLO keywords or the greeting are masked (XXXXXXXA / asterisks): "
                "an ESMTP-inspecting firewall stands in the path", "RFC 3207 §4"),
    FindingKind("starttls-failed", Severity.ERROR,
                "The server did not accept STARTTLS", "RFC 3207 §4"),
    FindingKind("response-injection", Severity.ERROR,
                "Bytes arrived after the STARTTLS 220 reply and before the TLS handshake",
                "RFC 3207 §4.2"),
    FindingKind("command-injection", Severity.ERROR,
                "The server ran a command pipelined after STARTTLS inside TLS "
                "(plaintext command injection, CVE-2011-0411 class)", "RFC 3207 §4.2"),
    FindingKind("tls-handshake-failed", Severity.ERROR,
                "The TLS handshake failed", "RFC 8446 §4; RFC 3207 §4.1"),
    FindingKind("starttls-readvertised", Severity.WARNING,
                "STARTTLS is still offered inside TLS", "RFC 3207 §4.2"),
    FindingKind("auth-before-tls", Severity.WARNING,
                "Plaintext AUTH mechanisms (PLAIN/LOGIN) are offered before TLS",
                "RFC 4954 §4; RFC 8314 §3"),
    FindingKind("auth-without-tls-possible", Severity.ERROR,
                "Password mechanisms (PLAIN/LOGIN) are offered where no TLS is possible "
                "(STARTTLS not offered or refused): a password can only cross in clear",
                "RFC 8314 §3; RFC 4954 §4"),
    FindingKind("auth-refused-plaintext", Severity.ERROR,
                "AUTH was not attempted: the session has no TLS and a password would cross in clear",
                "RFC 8314 §3; RFC 4954 §4"),
    FindingKind("auth-plaintext-allowed", Severity.WARNING,
                "Credentials were sent without TLS (--allow-plaintext-auth)", "RFC 8314 §3; RFC 4954 §4"),
    FindingKind("auth-not-offered", Severity.ERROR,
                "The server offers no AUTH mechanism at this point of the session", "RFC 4954 §3"),
    FindingKind("auth-mechanism-not-offered", Severity.ERROR,
                "The requested AUTH mechanism is not offered by the server", "RFC 4954 §3"),
    FindingKind("auth-rejected", Severity.ERROR,
                "The server rejected the authentication", "RFC 4954 §6"),
    FindingKind("scram-server-signature-invalid", Severity.ERROR,
                "SCRAM: the server's final signature is wrong or missing; it does not know the "
                "password (a possible impostor)", "RFC 5802 §5, §9"),
    FindingKind("auth-answer-delayed", Severity.INFO,
                "The server took seconds to answer AUTH: it delays logins (a failed-login penalty)",
                "RFC 4954 §6"),
    FindingKind("tls-not-used", Severity.INFO,
                "The session ran without TLS (--plain)", "RFC 8314 §3"),
    FindingKind("tls-legacy-version", Severity.WARNING,
                "TLS below version 1.2 was negotiated", "RFC 8996 §2; RFC 8997 §3"),
    FindingKind("cert-untrusted", Severity.ERROR,
                "The certificate chain does not lead to a trusted root", "RFC 5280 §6"),
    FindingKind("cert-hostname-mismatch", Severity.ERROR,
                "The certificate does not name the server", "RFC 6125 §6; RFC 7817 §3"),
    FindingKind("cert-expired", Severity.ERROR,
                "The certificate has expired", "RFC 5280 §4.1.2.5"),
    FindingKind("cert-not-yet-valid", Severity.ERROR,
                "The certificate is not valid yet", "RFC 5280 §4.1.2.5"),
    FindingKind("cert-expiring-soon", Severity.WARNING,
                "The certificate expires within 30 days", "RFC 5280 §4.1.2.5"),
    FindingKind("cert-weak-key", Severity.WARNING,
                "The certificate key is too small (RSA < 2048 bits, EC < 256 bits)",
                "RFC 9325 §4.3"),
    FindingKind("cert-self-signed", Severity.WARNING,
                "The certificate is self-signed", "RFC 5280 §6.1"),
    FindingKind("cert-sha1-signature", Severity.WARNING,
                "The certificate is signed with SHA-1", "RFC 9155 §5"),
    FindingKind("cert-no-san", Severity.WARNING,
                "The certificate has no subjectAltName; web PKI verifiers (browsers, Go, "
                "cryptography) ignore the CN that OpenSSL clients still fall back to",
                "RFC 6125 §6.4.4"),
    # discover: submission settings and the domain's inbound mail (TLSA ids are with the certificates)
    FindingKind("discover-port-25", Severity.WARNING,
                "Only port 25 gave a working submission session; 465/587 are the submission ports",
                "RFC 8314 §3.3; RFC 6409 §3.1"),
    FindingKind("discover-certificate-invalid", Severity.ERROR,
                "The recommended server's certificate is not trusted or names another host",
                "RFC 8314 §3.3; RFC 6125 §6"),
    FindingKind("autoconfig-invalid", Severity.WARNING,
                "An autoconfig document was refused (malformed, DTD/entities, too large)",
                "Mozilla autoconfig config-v1.1"),
    FindingKind("autoconfig-http", Severity.WARNING,
                "Settings came from autoconfig over plain HTTP and could have been altered on the way",
                "RFC 8314 §5.1"),
    FindingKind("mta-sts-record-invalid", Severity.ERROR,
                "The _mta-sts TXT record is malformed or not unique", "RFC 8461 §3.1"),
    FindingKind("mta-sts-policy-invalid", Severity.ERROR,
                "The MTA-STS policy could not be fetched over validated HTTPS or is malformed",
                "RFC 8461 §3.2, §3.3"),
    FindingKind("mta-sts-mx-mismatch", Severity.ERROR,
                "An MX host is not matched by the MTA-STS policy's mx patterns", "RFC 8461 §4.1"),
    FindingKind("mta-sts-mx-certificate", Severity.ERROR,
                "An MX named by an MTA-STS policy has no valid certificate for its name",
                "RFC 8461 §4.2"),
    FindingKind("mta-sts-testing", Severity.INFO,
                "The MTA-STS policy is in testing mode: failures are reported, not enforced",
                "RFC 8461 §5"),
    FindingKind("mx-null", Severity.INFO,
                "The domain publishes a null MX (MX 0 .): it accepts no mail", "RFC 7505 §3"),
    FindingKind("dnssec-unauthenticated", Severity.WARNING,
                "TLSA records came without the DNSSEC AD flag: DANE does not apply",
                "RFC 7672 §2.2; RFC 4035 §3.2.3"),
    # Path interference (``ports``, ``interference``, ``probe --sniff``): interference.md §2 B, §4.
    FindingKind("silently-dropped", Severity.ERROR,
                "SYNs to this port get no answer while the control port on the same address answers: "
                "a filter on the path drops them", "RFC 9293 §3.5"),
    FindingKind("icmp-prohibited", Severity.ERROR,
                "A router answered with ICMP destination unreachable (administratively prohibited): "
                "a filter refuses this port", "RFC 1812 §5.2.7.1; RFC 792"),
    FindingKind("rst-injected", Severity.ERROR,
                "A TCP RST came from nearer than the host (other hop distance or fingerprint): "
                "a firewall or injector resets this port", "RFC 9293 §3.5.2"),
    FindingKind("transparent-proxy", Severity.ERROR,
                "Something other than the host answers on this port (fewer hops, another fingerprint, "
                "greeting or certificate): a transparent proxy or redirect", "RFC 3207 §4; RFC 9293 §3.5"),
    FindingKind("starttls-stripped", Severity.ERROR,
                "STARTTLS is offered on another port of the same host but missing here: "
                "the path removed it", "RFC 3207 §4; RFC 8314 §3"),
    FindingKind("tls-intercepted", Severity.ERROR,
                "The certificate key differs from the control port's (or from --expect-spki): "
                "TLS is terminated and re-signed on this path", "RFC 8314 §3; RFC 7672 §3"),
    FindingKind("connection-reset", Severity.WARNING,
                "A TCP RST ended the session (the packet capture shows who sent it)", "RFC 9293 §3.5.2"),
    FindingKind("packet-capture", Severity.INFO,
                "Packets of the session were captured (segments, TTLs, RSTs)", "RFC 9293 §3.1"),
    # Seen in captures (replay):
    FindingKind("credentials-exposed", Severity.ERROR,
                "AUTH ran in clear text: the user name (and for PLAIN/LOGIN the password) "
                "crossed the wire readable", "RFC 4954 §4; RFC 8314 §3"),
    FindingKind("rst-suspicious-ttl", Severity.ERROR,
                "A TCP RST arrived with a TTL unlike the other packets of the side it claims "
                "to come from (an injected reset)", "RFC 9293 §3.5.3; RFC 5961 §3"),
    FindingKind("tcp-segment-conflict", Severity.WARNING,
                "A retransmitted TCP segment carried different bytes than the first copy "
                "(an injected or rewritten segment)", "RFC 9293 §3.10.7.4"),
    FindingKind("capture-gap", Severity.INFO,
                "Bytes of the session are missing from the capture; the transcript has a hole",
                "RFC 9293 §3.4"),
    FindingKind("cert-missing-intermediate", Severity.ERROR,
                "The server does not send the intermediate certificate its leaf needs",
                "RFC 5246 §7.4.2; RFC 8446 §4.4.2"),
    FindingKind("cert-chain-order", Severity.WARNING,
                "The certificates are not sent in issuer order", "RFC 5246 §7.4.2"),
    FindingKind("cert-no-server-auth-eku", Severity.ERROR,
                "The certificate's extended key usage does not allow TLS server authentication",
                "RFC 5280 §4.2.1.12"),
    FindingKind("cert-profile-nonconforming", Severity.WARNING,
                "OpenSSL-based clients trust the chain, but it departs from a stricter profile "
                "(RFC 5280 conformance, CA/Browser Forum web PKI) whose verifiers reject it",
                "RFC 5280 §4.2; CA/B Forum BR §7.1"),
    FindingKind("tlsa-mismatch", Severity.ERROR,
                "No usable TLSA record matches the certificate chain", "RFC 7672 §3.1; RFC 6698 §2.1"),
    FindingKind("tlsa-unusable", Severity.WARNING,
                "A TLSA record has a usage or parameters SMTP clients do not use (PKIX-TA/PKIX-EE, "
                "unknown selector or matching type)", "RFC 7672 §3.1.3; RFC 6698 §2.1"),
    FindingKind("cipher-weak", Severity.ERROR,
                "The server accepts weak cipher suites (export, RC4, DES/3DES, NULL or anonymous)",
                "RFC 7465 §2; RFC 9325 §4.1"),
    FindingKind("cipher-no-forward-secrecy", Severity.WARNING,
                "The server accepts cipher suites without forward secrecy (static RSA/DH key exchange)",
                "RFC 9325 §4.1"),
    FindingKind("tls13-not-supported", Severity.WARNING,
                "The server does not support TLS 1.3", "RFC 9325 §3.1.1"),
    FindingKind("tls-offer-closed", Severity.WARNING,
                "The server closes the connection when offered some key exchanges first (e.g. DHE "
                "without DH parameters) instead of picking a suite it can use or refusing with an alert",
                "RFC 5246 §7.4.1.3; RFC 8446 §4.1.1"),
    FindingKind("tls-no-handshake-completes", Severity.ERROR,
                "The server picks cipher suites at a TLS version, but no complete handshake at that "
                "version finishes (e.g. ServerHello, then alert internal_error)",
                "RFC 8446 §4; RFC 5246 §7.3"),
    FindingKind("no-server-cipher-order", Severity.INFO,
                "The server follows the client's cipher-suite order instead of its own",
                "RFC 9325 §4.2"),
]

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
