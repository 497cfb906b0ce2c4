"""One module per subcommand.

Each module has ``register(subparsers)``, which adds its parser and sets
``handler`` to a function ``args -> int`` (an exit code), and ``EXIT_CODES``,
the codes it can end with (its ``--help`` lists only those). Modules import
only argparse at load time: whatever a command needs is imported when it
runs, so ``--help`` stays fast and ``probe`` never imports scapy.
"""

#: Subcommands in the order ``--help`` lists them, with the one line it shows for each
#: (kept here so that starting one command does not import the others).
SUMMARIES = {
    "probe": "run one SMTP session step by step and judge it",
    "send": "submit a message step by step (MAIL, RCPT, DATA) and explain every reply",
    "tls": "audit TLS: certificate chain, versions, every accepted cipher suite, groups",
    "ports": "which SMTP ports answer (open/closed/filtered/prohibited/intercepted)",
    "interference": "diagnose blocked, reset, redirected, stripped or intercepted SMTP (root)",
    "replay": "judge the SMTP sessions in a pcap/pcapng capture",
    "discover": "find and verify the SMTP submission settings for an e-mail address",
    "scan": "check many servers or mail domains at once and store the results",
    "history": "show what every stored scan found for one target",
    "diff": "show what changed between two scans",
    "report": "totals of one scan: STARTTLS, certificates, TLS 1.3, DANE, MTA-STS, expiry, findings",
    "demo": "probe the built-in lab server, with explanations",
    "lab": "run the built-in lab server until Ctrl-C",
}

COMMAND_MODULES = tuple(SUMMARIES)
