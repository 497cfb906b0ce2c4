"""Catalogue part: ``discover``: submission settings and the domain's inbound mail (MTA-STS, DNSSEC, null MX).

Decided in :mod:`inspector.rules` (discovery.py).
"""

from __future__ import annotations

from .kind import FindingKind, Severity

KINDS = [
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
]
