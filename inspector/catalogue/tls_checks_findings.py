"""Part of the finding catalogue (:mod:`inspector.catalogue` reads it): the ids of ``tls``'s
vulnerability and protocol-feature checks (issue 20), decided in
:mod:`inspector.rules.tls_vulnerabilities`.

Rows: (id, severity, title, rfc, rule) as in :class:`inspector.catalogue.kind.FindingKind`.
"""

TLS_CHECK_KINDS = [
    ("tls-insecure-renegotiation", "error",
     "The server does not support secure renegotiation (no renegotiation_info): "
     "renegotiation can be spliced (CVE-2009-3555)", "RFC 5746 §3.6",
     "tls_vulnerabilities.insecure_renegotiation"),
    ("tls-client-renegotiation", "warning",
     "The server accepts client-initiated renegotiation (one client can make it redo the "
     "handshake's public-key work at will: a denial-of-service lever)",
     "RFC 5746 §1; RFC 5246 §7.4.1.1",
     "tls_vulnerabilities.client_renegotiation"),
    ("tls-fallback-scsv-ignored", "warning",
     "The server answers a downgraded ClientHello carrying TLS_FALLBACK_SCSV instead of "
     "refusing it with inappropriate_fallback", "RFC 7507 §3",
     "tls_vulnerabilities.fallback_scsv_ignored"),
    ("tls-heartbleed", "error",
     "Heartbleed: the server answers an over-long heartbeat request with its memory "
     "(CVE-2014-0160)", "RFC 6520 §4; CVE-2014-0160",
     "tls_vulnerabilities.heartbleed"),
    ("tls-ccs-injection", "error",
     "CCS injection: the server takes a ChangeCipherSpec before the key exchange "
     "(CVE-2014-0224)", "RFC 5246 §7.1; CVE-2014-0224",
     "tls_vulnerabilities.ccs_injection"),
    ("tls-robot", "error",
     "ROBOT: the server answers malformed RSA premaster secrets differently (a Bleichenbacher "
     "oracle; Böck, Somorovsky, Young 2018)", "RFC 5246 §7.4.7.1; CVE-2017-13099",
     "tls_vulnerabilities.robot"),
    ("tls-compression", "error",
     "The server uses TLS compression (CRIME, CVE-2012-4929)", "RFC 7457 §2.6; RFC 9325 §3.3",
     "tls_vulnerabilities.compression"),
    ("tls-sweet32", "warning",
     "The server accepts 64-bit block ciphers (SWEET32, CVE-2016-2183)", "RFC 9325 §4.1",
     "tls_vulnerabilities.sweet32"),
    ("tls-logjam", "warning",
     "The server uses DHE groups under 2048 bits (LOGJAM, CVE-2015-4000)",
     "RFC 9325 §4.1; RFC 7919",
     "tls_vulnerabilities.logjam"),
    ("tls-export-ciphers", "error",
     "The server accepts export cipher suites (FREAK CVE-2015-0204, LOGJAM)", "RFC 9325 §4.1",
     "tls_vulnerabilities.export_ciphers"),
    ("tls-poodle", "error",
     "The server accepts SSL 3.0 with CBC suites (POODLE, CVE-2014-3566)", "RFC 7568 §3",
     "tls_vulnerabilities.poodle"),
    ("tls-rc4", "error",
     "The server accepts RC4 cipher suites", "RFC 7465 §2",
     "tls_vulnerabilities.rc4"),
    ("tls-no-extended-master-secret", "warning",
     "The server does not support the extended master secret", "RFC 7627 §5.2",
     "tls_vulnerabilities.no_extended_master_secret"),
    ("tls-ocsp-stapled-invalid", "warning",
     "The stapled OCSP response is not a current 'good' response for the certificate",
     "RFC 6066 §8; RFC 6960 §4.2.2.1",
     "tls_vulnerabilities.ocsp_stapled_invalid"),
    ("tls-rpt-missing", "info",
     "The domain publishes no TLS-RPT record (_smtp._tls TXT v=TLSRPTv1)", "RFC 8460 §3",
     "tls_vulnerabilities.tls_rpt_missing"),
]
