"""One or two sentences per step for ``smtp-inspector demo``: what happens and why."""

STEP_NOTES = {
    "connect": (
        "The client opens a TCP connection to the submission port; here the lab's port stands "
        "in for 587, the port for mail clients (RFC 6409 §3.1). Port 25 is for "
        "server-to-server relay."),
    "greeting": (
        "The server speaks first: a 220 line with its name means it is ready. A client must "
        "wait for the last line of the greeting before sending anything (RFC 5321 §4.3.1)."),
    "ehlo": (
        "EHLO names the client and asks for the server's extensions; each 250 line is one "
        "capability, and only the last line has a space after the code (RFC 5321 §4.1.1.1, §4.2)."),
    "starttls": (
        "STARTTLS asks to switch this same connection to TLS. After the 220 answer the "
        "client must start the handshake at once and ignore anything else the server sent "
        "in the clear (RFC 3207 §4, §4.2)."),
    "tls-handshake": (
        "The TLS handshake agrees on a version and cipher and proves the server holds the "
        "certificate's key (RFC 8446 §2). From here on the marks change from -> <- to ~> <~."),
    "injection-check": (
        "The client sent NOOP in the same packet as STARTTLS, on purpose. A correct server "
        "throws it away when TLS starts; one that answers it inside TLS would also run commands "
        "an attacker slipped in before the handshake (RFC 3207 §4.2, CVE-2011-0411)."),
    "certificate": (
        "The certificate must chain to a trusted root and name the server the client asked "
        "for; mail clients should check both (RFC 7817 §3, RFC 6125 §6)."),
    "ehlo-tls": (
        "Everything learned before TLS is forgotten, so the client sends EHLO again. AUTH "
        "usually appears only now, and STARTTLS must no longer be offered (RFC 3207 §4.2)."),
    "auth": (
        "AUTH proves who the client is with a SASL mechanism; each 334 line is a base64 "
        "challenge and each client line a base64 answer, ending in 235 (accepted) or an "
        "error such as 535 5.7.8 (RFC 4954 §4, §6). Secrets are redacted from this transcript."),
    "quit": "QUIT ends the session politely; the server answers 221 and closes (RFC 5321 §4.1.1.10).",
}
