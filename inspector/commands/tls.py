"""``smtp-inspector tls``: certificate chain, protocol versions, cipher suites and groups."""

from __future__ import annotations

import argparse

from . import SUMMARIES
from .common import (
    IMPLICIT_TLS_PORTS,
    SOURCE_ADDRESS_HELP,
    add_html_option,
    checked_target,
    input_file,
    is_number,
    positive_number,
    positive_seconds,
    resolve_target,
    source_address_option,
    write_html,
)


def _positive_int(text: str) -> int:
    if not is_number(text) or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64, not {text!r}")
    return int(text)


def _rate(text: str) -> float:
    return positive_number(text, at_most=100000, meaning="a positive number of connections per minute")


#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["tls"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, 1, 2, 3, 5, 10, 11, 12, 13, 14, 130)


def register(sub) -> None:
    tls = sub.add_parser(
        "tls", help=SUMMARY,
        description="Check the certificate chain, then find every accepted protocol version (SSLv3 to "
                    "TLS 1.3), cipher suite (the full IANA registry, including export, RC4, NULL and "
                    "anonymous suites) and key-exchange group with crafted ClientHellos, using about one "
                    "connection per accepted suite. Then the vulnerability and feature checks: secure and "
                    "client-initiated renegotiation, TLS_FALLBACK_SCSV, Heartbleed, CCS injection, ROBOT, "
                    "compression (CRIME), SWEET32, LOGJAM, export suites (FREAK), POODLE, RC4, session "
                    "resumption (IDs, tickets, TLS 1.3), extended master secret, encrypt-then-MAC, OCSP "
                    "stapling, certificate transparency, signature algorithms, REQUIRETLS and, with "
                    "--domain, TLS-RPT. STARTTLS except on 465 (implicit TLS).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    tls.add_argument("target", metavar="HOST[:PORT]", help="server (default port 587)")
    mode = tls.add_mutually_exclusive_group()
    mode.add_argument("--starttls", dest="mode", action="store_const", const="starttls",
                      help="plaintext SMTP, then STARTTLS (default except on 465)")
    mode.add_argument("--implicit-tls", dest="mode", action="store_const", const="implicit",
                      help="TLS from the first byte (default on 465)")
    tls.add_argument("--servername", metavar="NAME", help="SNI and the name the certificate must carry")
    tls.add_argument("--cafile", metavar="PATH", help="trust only these CA certificates (PEM)")
    tls.add_argument("--tlsa", metavar='"U S M HEX"', action="append", default=[],
                     help="a TLSA record to match against the chain (DANE, RFC 7672); repeatable")
    tls.add_argument("--ehlo", metavar="NAME", help="EHLO name (default: our address literal)")
    tls.add_argument("--source-address", metavar="ADDR", help=SOURCE_ADDRESS_HELP)
    tls.add_argument("--concurrency", type=_positive_int, default=4, metavar="N",
                     help="connections open at once (default 4)")
    tls.add_argument("--rate", type=_rate, metavar="N", help="at most N new connections per minute")
    tls.add_argument("--versions", metavar="LIST",
                     help="comma-separated subset of SSLv3,TLSv1,TLSv1.1,TLSv1.2,TLSv1.3 (default: all)")
    tls.add_argument("--timeout", type=positive_seconds, default=10.0, metavar="S",
                     help="per-step timeout in seconds (default 10)")
    tls.add_argument("--deadline", type=positive_seconds, default=120.0, metavar="S",
                     help="deadline for the whole audit in seconds (default 120)")
    tls.add_argument("--no-attacks", dest="attacks", action="store_false",
                     help="skip the checks that send deliberately malformed records: Heartbleed "
                          "(CVE-2014-0160), CCS injection (CVE-2014-0224) and ROBOT (Bleichenbacher oracle)")
    tls.add_argument("--domain", metavar="DOMAIN",
                     help="the mail domain the server serves: look up its TLS-RPT record "
                          "(TXT _smtp._tls.DOMAIN, RFC 8460)")
    tls.add_argument("--dns-server", metavar="IP[:PORT]",
                     help="DNS server for --domain (default: the first of /etc/resolv.conf)")
    tls.add_argument("--json", action="store_true", help="print the result as JSON")
    add_html_option(tls)
    tls.set_defaults(handler=run)


def audit_config(args):
    """The TlsAuditConfig the arguments describe; UsageError before any connection."""
    from ..certs import load_trust_anchors, parse_tlsa
    from ..errors import UsageError
    from ..probes.tls_audit import ALL_VERSIONS, IMPLICIT, STARTTLS, TlsAuditConfig

    host, port = checked_target(args)
    if args.cafile:
        load_trust_anchors(input_file(args.cafile, "--cafile"))
    versions = ALL_VERSIONS
    if args.versions:
        versions = tuple(v.strip() for v in args.versions.split(",") if v.strip())
        unknown = [v for v in versions if v not in ALL_VERSIONS]
        if unknown or not versions:
            raise UsageError(f"--versions: unknown version(s) {', '.join(unknown) or '(none)'}; "
                             f"choose from {','.join(ALL_VERSIONS)}")
    mode = args.mode or (IMPLICIT if port in IMPLICIT_TLS_PORTS else STARTTLS)
    dns_server = None
    if args.domain:
        from ..discover.dns import parse_dns_server, system_dns_server
        dns_server = parse_dns_server(args.dns_server) if args.dns_server else system_dns_server()
    elif args.dns_server:
        raise UsageError("--dns-server is used only with --domain")
    return TlsAuditConfig(host=host, port=port, mode=mode, servername=args.servername, cafile=args.cafile,
                          tlsa=tuple(parse_tlsa(text) for text in args.tlsa), ehlo_name=args.ehlo,
                          timeout=args.timeout, deadline=args.deadline, concurrency=args.concurrency,
                          rate=args.rate, versions=versions, attacks=args.attacks, domain=args.domain,
                          dns_server=dns_server, source_address=source_address_option(args))


def _json_document(result) -> dict:
    from ..render.tls_audit import tls_audit_result
    return tls_audit_result(result)


def run(args) -> int:
    from ..probes.tls_audit import run_tls_audit

    config = audit_config(args)
    # once, before any connection: ConnectFailed is exit 10
    resolve_target(config.host, config.timeout, config.source_address)
    result = run_tls_audit(config)
    if args.json:
        from ..render.tls_audit import dumps
        print(dumps(result))
    else:
        from ..render.tls_audit import render_tls_audit
        print(render_tls_audit(result))
    write_html(args, "tls", lambda: _json_document(result))
    return int(result.exit_code)
