"""``smtp-inspector probe``: one SMTP session, step by step."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from . import SUMMARIES
from .auth_options import add_auth_arguments, auth_request
from .common import (
    IMPLICIT_TLS_PORTS,
    SOURCE_ADDRESS_HELP,
    TLS_REQUIRED_PORTS,
    add_html_option,
    checked_target,
    input_file,
    positive_seconds,
    resolve_target,
    source_address_option,
    write_html,
)

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["probe"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 130)


def register(sub) -> None:
    probe = sub.add_parser(
        "probe", help=SUMMARY,
        description="Connect, read the greeting, EHLO, STARTTLS or implicit TLS, check the "
                    "certificate, EHLO again, QUIT; print the transcript, tables and findings.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_probe_arguments(probe)
    add_html_option(probe)
    add_auth_arguments(probe, allow_all=True)
    probe.set_defaults(handler=run)


def add_probe_arguments(probe) -> None:
    """The session options of ``probe``, shared by ``send`` (target, TLS, names, output)."""
    probe.add_argument("target", metavar="HOST[:PORT]", help="server (default port 587)")
    mode = probe.add_mutually_exclusive_group()
    mode.add_argument("--starttls", dest="mode", action="store_const", const="starttls",
                      help="plaintext, then STARTTLS (default except on 465)")
    mode.add_argument("--implicit-tls", dest="mode", action="store_const", const="implicit",
                      help="TLS from the first byte (default on 465)")
    mode.add_argument("--plain", dest="mode", action="store_const", const="plain",
                      help="no TLS at all")
    probe.add_argument("--require-tls", action=argparse.BooleanOptionalAction, default=None,
                       help="stop if TLS cannot be set up (default: on for 587, 465 and a forced "
                            "TLS mode)")
    probe.add_argument("--ehlo", metavar="NAME", help="EHLO name (default: our address literal)")
    probe.add_argument("--source-address", metavar="ADDR", help=SOURCE_ADDRESS_HELP)
    probe.add_argument("--timeout", type=positive_seconds, default=10.0, metavar="S",
                       help="per-step timeout in seconds (default 10)")
    probe.add_argument("--deadline", type=positive_seconds, default=60.0, metavar="S",
                       help="deadline for the whole probe in seconds (default 60)")
    probe.add_argument("--servername", metavar="NAME",
                       help="SNI and the name the certificate must carry (default: HOST)")
    probe.add_argument("--cafile", metavar="PATH", help="trust only these CA certificates (PEM)")
    probe.add_argument("--insecure", action="store_true",
                       help="don't fail on an unverifiable certificate (still reported)")
    probe.add_argument("--check-injection", action="store_true",
                       help="test the server for plaintext command injection (CVE-2011-0411): send "
                            "STARTTLS and NOOP in one segment and report command-injection if the "
                            "NOOP is answered inside TLS (waits up to 1 s after the handshake)")
    probe.add_argument("--json", action="store_true", help="print the result as JSON")
    probe.add_argument("--save", metavar="DIR", help="also write the transcript as JSON and text")
    probe.add_argument("-v", "--verbose", action="store_true",
                       help="show every chunk as it crossed the socket")
    probe.add_argument("--sniff", action="store_true",
                       help="capture the session's packets (root): TTLs, segments, RSTs as findings")
    probe.add_argument("--pcap", metavar="FILE", help="with --sniff: write the packets to FILE (pcap)")


def probe_config(args):
    """The ProbeConfig that ``probe``'s arguments describe; UsageError before any connection."""
    from ..probes.session import IMPLICIT, STARTTLS, ProbeConfig

    host, port = checked_target(args)
    mode = args.mode or (IMPLICIT if port in IMPLICIT_TLS_PORTS else STARTTLS)
    require_tls = args.require_tls
    if require_tls is None:
        require_tls = mode != "plain" and (port in TLS_REQUIRED_PORTS or args.mode is not None)
    if mode == "plain" and require_tls:
        raise UsageError("--plain and --require-tls contradict each other")
    if getattr(args, "check_injection", False) and mode != STARTTLS:
        raise UsageError("--check-injection tests STARTTLS; it cannot be used with --plain or "
                         "implicit TLS")
    if args.cafile:
        from ..certs import load_trust_anchors
        # A bad file is a usage error, found before connecting.
        load_trust_anchors(input_file(args.cafile, "--cafile"))
    return ProbeConfig(host=host, port=port, mode=mode, require_tls=require_tls,
                       ehlo_name=args.ehlo, timeout=args.timeout, deadline=args.deadline,
                       servername=args.servername, cafile=args.cafile, insecure=args.insecure,
                       check_injection=getattr(args, "check_injection", False),
                       auth=auth_request(args), source_address=source_address_option(args))


def run(args) -> int:
    from ..probes.session import run_probe

    config = probe_config(args)
    save_dir = prepare_save_dir(args.save) if args.save else None
    # once, before any connection: ConnectFailed is exit 10
    resolve_target(config.host, config.timeout, config.source_address)
    sniffing = getattr(args, "sniff", False) or getattr(args, "pcap", None)
    if config.auth is not None and config.auth.mechanism == "ALL":
        if sniffing:
            raise UsageError("--sniff captures one session, but --auth all opens one per mechanism")
        return run_all(config, args, save_dir)
    if sniffing:
        from .sniff_output import run_and_emit_sniffed
        result = run_and_emit_sniffed(config, args)
    else:
        result = run_probe(config)
        emit(result, args, teach=False)
        write_html(args, "probe", lambda: json_document(result))
    if save_dir is not None:
        save(result, save_dir)
    return int(result.exit_code)


def json_document(result) -> dict:
    """The ``--json`` document of a probe (or of ``send``/``demo``: with the transaction)."""
    from ..render.send_output import session_document
    return session_document(result)


def emit(result, args, *, teach: bool) -> None:
    """Print a ProbeResult as JSON (``--json``) or as the text report."""
    if args.json:
        from ..render.json_output import dumps
        if result.config.transaction is not None:
            from ..render.send_output import dumps
        print(dumps(result))
    else:
        from ..render.text import render_probe
        print(render_probe(result, teach=teach, verbose=getattr(args, "verbose", False)))


def prepare_save_dir(path: str):
    import pathlib
    directory = pathlib.Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from ..net.transport import os_reason
        raise UsageError(f"cannot create --save directory {path}: {os_reason(exc)}") from None
    if not directory.is_dir():
        raise UsageError(f"--save {path!r} is not a directory")
    return directory


def save(result, directory) -> None:
    import time

    from ..redaction import save_text
    from ..render.json_output import dumps
    from ..render.text import render_probe

    cfg = result.config
    if cfg.transaction is not None:
        from ..render.send_output import dumps
    stem = f"{cfg.host.replace(':', '_')}-{cfg.port}-{time.strftime('%Y%m%dT%H%M%S')}"
    save_text(directory / f"{stem}.json", dumps(result) + "\n")
    save_text(directory / f"{stem}.txt", render_probe(result) + "\n")
    print(f"saved {directory / stem}.json and .txt", file=sys.stderr)


def run_all(config, args, save_dir) -> int:
    """``--auth all``: the mechanism table (text or JSON), saved like a probe with --save."""
    import time

    from ..probes.auth_all import run_auth_all
    from ..redaction import save_text
    from ..render.json_output import auth_table as dumps_auth_table_document
    from ..render.json_output import dumps_auth_table
    from ..render.text import render_auth_table

    table = run_auth_all(config)
    if args.json:
        print(dumps_auth_table(table))
    else:
        print(render_auth_table(table, verbose=args.verbose))
    write_html(args, "auth-table", lambda: dumps_auth_table_document(table))
    if save_dir is not None:
        stem = f"{config.host.replace(':', '_')}-{config.port}-auth-all-{time.strftime('%Y%m%dT%H%M%S')}"
        save_text(save_dir / f"{stem}.json", dumps_auth_table(table) + "\n")
        save_text(save_dir / f"{stem}.txt", render_auth_table(table, verbose=True) + "\n")
        print(f"saved {save_dir / stem}.json and .txt", file=sys.stderr)
    return int(table.exit_code)
