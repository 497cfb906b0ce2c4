"""Where each finding applies: the step it belongs to, and who can see it.

:data:`FINDING_STEP` is presentation only (the HTML ladder pins a finding to
the step whose reply or event its rule judged). :data:`ONE_SIDED` is the
parity policy: the findings only a live probe or only a replay of its capture
can decide, and why (``tests/test_parity.py`` leaves them out of the
comparison). The ids are those of :data:`inspector.findings.CATALOGUE`.
"""

from __future__ import annotations

from .findings import CATALOGUE

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
    # send: the transaction's steps (MAIL, RCPT, DATA/BDAT)
    "mail-rejected": "mail", "message-over-size-limit": "mail", "smtputf8-not-offered": "mail",
    "8bitmime-not-offered": "mail", "dsn-not-offered": "mail", "requiretls-not-offered": "mail",
    "pipelining-reply-mismatch": "mail", "pipelining-reply-missing": "mail", "greylisted": "mail",
    "recipient-rejected": "rcpt", "submission-without-auth": "rcpt",
    "message-rejected": "data", "recipient-bounced-in-data": "data", "queue-id": "data",
    "chunking-not-offered": "data", "line-ends-fixed": "data",
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
    **{fid: (LIVE, "only send runs a mail transaction; probe and replay stop before MAIL")
       for fid, kind in CATALOGUE.items() if kind.rule.startswith("transaction.")},
    **{fid: (LIVE, _ENCRYPTED_CERTIFICATE) for fid in CATALOGUE if fid.startswith("cert-")},
    "credentials-exposed": (REPLAY, "a live probe sends credentials in clear only with "
                                    "--allow-plaintext-auth, and reports auth-plaintext-allowed then"),
    **{fid: (REPLAY, _PACKETS) for fid in ("rst-suspicious-ttl", "tcp-segment-conflict", "capture-gap")},
}
