"""``smtp-inspector demo``: a guided probe of the built-in lab server."""

from __future__ import annotations

from . import SUMMARIES
from .common import add_html_option

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["demo"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 130)


def register(sub) -> None:
    demo = sub.add_parser("demo", help=SUMMARY,
                          description="Start the lab server on a free loopback port and walk "
                                      "through an SMTP submission session, step by step.")
    demo.add_argument("--json", action="store_true", help="print the result as JSON")
    add_html_option(demo)
    demo.set_defaults(handler=run)


def run(args) -> int:
    from ..lab import DEMO_PASSWORD, DEMO_USER, LabServer
    from ..net.address import host_port
    from ..probes.auth_step import AuthRequest
    from ..probes.session import STARTTLS, ProbeConfig, run_probe
    from ..smtp.sasl import Credentials, Secret
    from .common import write_html
    from .probe import emit, json_document

    login = AuthRequest(mechanism="AUTO", credentials=Credentials(DEMO_USER, password=Secret(DEMO_PASSWORD)))
    with LabServer() as server:
        config = ProbeConfig(host=server.host, port=server.port, mode=STARTTLS, require_tls=True,
                             ehlo_name="client.demo.invalid", servername=server.hostname,
                             cafile=server.ca_path, timeout=5.0, deadline=20.0, auth=login)
        if not args.json:
            print(f"Demo: the built-in lab server listens on {host_port(server.host, server.port)} as "
                  f"{server.hostname}, with a certificate from its own fresh CA; its port "
                  "stands in for 587, the submission port.\n"
                  f"After TLS the client logs in as {DEMO_USER} with --auth auto (the strongest "
                  "mechanism offered); the password never appears below.\n"
                  "Marks: -> client to server, <- server to client, ~> <~ the same inside TLS, "
                  "=== notes.\n")
        result = run_probe(config)
    emit(result, args, teach=True)
    write_html(args, "demo", lambda: json_document(result))
    return int(result.exit_code)
