"""``smtp-inspector discover ADDRESS``: find and verify the submission settings for an address."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from . import SUMMARIES
from .auth_options import add_auth_arguments, auth_request
from .common import (
    add_html_option,
    check_ehlo_name,
    check_host_name,
    input_file,
    positive_seconds,
    write_html,
)

DISCOVER_HELP = """\
sources: SRV _submissions._tcp / _submission._tcp (RFC 6186, RFC 8314), Mozilla
autoconfig over HTTPS, the MX host's domain, and guesses smtp./mail./<domain> on
465 (implicit TLS), 587 and 25 (STARTTLS). Every candidate is probed as soon
as its source names it, the best-ranked first (no source waits for another);
the best is printed as settings to copy into a mail client, then every
candidate with the reason it was not chosen, and those the deadline left
untried. A lookup that got no answer is "unknown", never "none". Inbound: MX
(a null MX, RFC 7505, means no mail), MTA-STS (RFC 8461), DANE TLSA (RFC 7672)
with the DNSSEC AD flag as the DNS server reported it.

exit codes of discover: 0 recommendation verified, no error finding;
  1 a recommendation, but a finding has severity "error" (e.g. its certificate,
  MTA-STS, TLSA); 2 bad arguments; 16 (with --auth) the recommended server
  refused the login; 20 no candidate gave a session with TLS.
"""


#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["discover"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, 1, 2, 3, 16, 20, 130)


def register(sub) -> None:
    parser = sub.add_parser(
        "discover", help=SUMMARY,
        description="Find the outgoing-mail settings for ADDRESS the way a mail client's account "
                    "wizard should, prove them by connecting, and explain every rejected candidate.",
        epilog=DISCOVER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("email", metavar="ADDRESS", help="e-mail address, e.g. alice@example.org")
    parser.add_argument("--dns-server", metavar="IP[:PORT]",
                        help="ask this DNS server (default: the first nameserver in /etc/resolv.conf)")
    parser.add_argument("--timeout", type=positive_seconds, default=5.0, metavar="S",
                        help="per step / per query timeout in seconds (default 5)")
    parser.add_argument("--deadline", type=positive_seconds, default=60.0, metavar="S",
                        help="deadline for the whole discovery in seconds (default 60)")
    parser.add_argument("--cafile", metavar="PATH",
                        help="trust only these CA certificates (PEM), for SMTP and HTTPS alike")
    parser.add_argument("--allow-http", action="store_true",
                        help="also fetch autoconfig over plain http:// (reported as a warning)")
    parser.add_argument("--concurrency", type=_concurrency, default=4, metavar="N",
                        help="probes running at once (default 4; starts are 100 ms apart)")
    parser.add_argument("--ehlo", metavar="NAME", help="EHLO name (default: our address literal)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    out.add_argument("--format", choices=("text", "json", "autoconfig"), default=None,
                     help="text (default), json, or autoconfig (a Thunderbird config-v1.1.xml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks for internal errors")
    add_html_option(parser)
    add_auth_arguments(parser, allow_all=False, user_help="user name for --auth (default: ADDRESS)")
    parser.set_defaults(handler=run)


def _concurrency(text: str) -> int:
    from .common import is_number

    if not is_number(text) or not 1 <= int(text) <= 32:
        raise argparse.ArgumentTypeError(f"must be a number from 1 to 32, not {text!r}")
    return int(text)


def check_email(text: str) -> str:
    """local@domain with a valid domain (RFC 5321 §4.1.2); UsageError else."""
    local, at, domain = text.strip().rpartition("@")
    if not at or not local or not domain or any(ch.isspace() or ord(ch) < 32 for ch in local):
        raise UsageError(f"{text!r} is not an e-mail address (local@domain)")
    check_host_name(domain, "domain")
    if "." not in domain.strip("."):
        raise UsageError(f"domain {domain!r} of {text!r} has no dot")
    return f"{local}@{domain.rstrip('.').lower()}"


def options_from(args):
    from ..discover.dns import parse_dns_server, system_dns_server
    from ..discover.engine import DiscoverOptions

    email = check_email(args.email)
    server = parse_dns_server(args.dns_server) if args.dns_server else system_dns_server()
    if args.ehlo is not None:
        check_ehlo_name(args.ehlo)
    if args.cafile:
        from ..certs import load_trust_anchors
        # A bad file is a usage error, found before any query.
        load_trust_anchors(input_file(args.cafile, "--cafile"))
    verify_login = None
    if args.auth is not None:
        from ..discover.probing import login_check

        args.user = args.user or email
        verify_login = login_check(auth_request(args))
    return DiscoverOptions(email=email, dns_server=server, timeout=args.timeout, deadline=args.deadline,
                           cafile=args.cafile, allow_http=args.allow_http, concurrency=args.concurrency,
                           ehlo_name=args.ehlo, verify_login=verify_login)


def _json_document(result) -> dict:
    from ..render.discover_json import to_dict
    return to_dict(result)


def run(args) -> int:
    import sys

    from ..discover.engine import discover

    options = options_from(args)
    result = discover(options)
    fmt = "json" if args.json else (args.format or "text")
    if fmt == "json":
        from ..render.discover_json import dumps
        print(dumps(result))
    elif fmt == "autoconfig":
        if result.recommendation is None:
            reason = result.error.replace("see the table for each reason", "run without --format autoconfig "
                                          "to see each reason")
            print(f"smtp-inspector discover: error: {reason}", file=sys.stderr)
        else:
            from ..discover.autoconfig import render_autoconfig
            sys.stdout.write(render_autoconfig(result.domain, result.recommendation))
    else:
        from ..render.discover_text import render_discover
        print(render_discover(result))
    write_html(args, "discover", lambda: _json_document(result))
    return int(result.exit_code)
