"""Catalogue part: the server's certificate chain and its TLSA records.

Decided in :mod:`inspector.rules` (certificates.py).
"""

from __future__ import annotations

from .kind import LIVE, FindingKind, OneSided, Severity

_CHAIN_ENCRYPTED = OneSided(LIVE, "in TLS 1.3 the Certificate message is encrypted; replay judges a chain "
                                  "only when TLS <= 1.2 sent it in clear")

KINDS = [
    FindingKind("cert-untrusted", Severity.ERROR,
                "The certificate chain does not lead to a trusted root", "RFC 5280 §6",
                rule="certificates.cert_untrusted", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-hostname-mismatch", Severity.ERROR,
                "The certificate does not name the server", "RFC 6125 §6; RFC 7817 §3",
                rule="certificates.cert_hostname_mismatch", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-expired", Severity.ERROR,
                "The certificate has expired", "RFC 5280 §4.1.2.5",
                rule="certificates.cert_expired", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-not-yet-valid", Severity.ERROR,
                "The certificate is not valid yet", "RFC 5280 §4.1.2.5",
                rule="certificates.cert_not_yet_valid", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-expiring-soon", Severity.WARNING,
                "The certificate expires within 30 days", "RFC 5280 §4.1.2.5",
                rule="certificates.cert_expiring_soon", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-weak-key", Severity.WARNING,
                "The certificate key is too small (RSA < 2048 bits, EC < 256 bits)",
                "RFC 9325 §4.3",
                rule="certificates.cert_weak_key", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-self-signed", Severity.WARNING,
                "The certificate is self-signed", "RFC 5280 §6.1",
                rule="certificates.cert_self_signed", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-sha1-signature", Severity.WARNING,
                "The certificate is signed with SHA-1", "RFC 9155 §5",
                rule="certificates.cert_sha1_signature", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-no-san", Severity.WARNING,
                "The certificate has no subjectAltName; web PKI verifiers (browsers, Go, "
                "cryptography) ignore the CN that OpenSSL clients still fall back to",
                "RFC 6125 §6.4.4",
                rule="certificates.cert_no_san", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-missing-intermediate", Severity.ERROR,
                "The server does not send the intermediate certificate its leaf needs",
                "RFC 5246 §7.4.2; RFC 8446 §4.4.2",
                rule="certificates.cert_missing_intermediate", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-chain-order", Severity.WARNING,
                "The certificates are not sent in issuer order", "RFC 5246 §7.4.2",
                rule="certificates.cert_chain_order", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-no-server-auth-eku", Severity.ERROR,
                "The certificate's extended key usage does not allow TLS server authentication",
                "RFC 5280 §4.2.1.12",
                rule="certificates.cert_no_server_auth_eku", step="certificate",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("cert-profile-nonconforming", Severity.WARNING,
                "OpenSSL-based clients trust the chain, but it departs from a stricter profile "
                "(RFC 5280 conformance, CA/Browser Forum web PKI) whose verifiers reject it",
                "RFC 5280 §4.2; CA/B Forum BR §7.1",
                rule="certificates.cert_profile_nonconforming",
                one_sided=_CHAIN_ENCRYPTED),
    FindingKind("tlsa-mismatch", Severity.ERROR,
                "No usable TLSA record matches the certificate chain", "RFC 7672 §3.1; RFC 6698 §2.1",
                rule="certificates.tlsa_mismatch", step="certificate"),
    FindingKind("tlsa-unusable", Severity.WARNING,
                "A TLSA record has a usage or parameters SMTP clients do not use (PKIX-TA/PKIX-EE, "
                "unknown selector or matching type)", "RFC 7672 §3.1.3; RFC 6698 §2.1",
                rule="certificates.tlsa_unusable", step="certificate"),
]
