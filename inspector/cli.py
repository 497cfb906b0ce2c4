"""Command line: ``smtp-inspector probe|demo|lab``.

Start-up stays light: argparse only. Each command imports what it needs when
it runs, so ``--help`` is fast and ``probe`` never imports scapy.
"""

from __future__ import annotations

import argparse
import sys

from .errors import UsageError
from .exitcodes import ExitCode

PROG = "smtp-inspector"
DEFAULT_PORT = 587
IMPLICIT_TLS_PORTS = (465,)
TLS_REQUIRED_PORTS = (465, 587)

EXIT_CODES_HELP = """exit codes:
  0   every step succeeded and no finding is an error
  1   every step succeeded, but a finding has severity "error"
  2   bad arguments
  3   internal error (a bug in smtp-inspector)
  10  connect failed        11  greeting failed      12  EHLO/HELO failed
  13  STARTTLS failed       14  TLS handshake failed 15  certificate not valid
  16  AUTH failed           130 interrupted
"""


def parse_target(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    text = text.strip()
    if not text:
        raise UsageError("empty target")
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not host or not bracket or (rest and not rest.startswith(":")):
            raise UsageError(f"cannot read target {text!r}; use [IPv6]:PORT")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise UsageError(f"no host in target {text!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"port must be a number from 1 to 65535, not {port_text!r}")
    return host, int(port_text)


def check_host_name(name: str, what: str) -> str:
    """A DNS name (IDNA-encodable, RFC 1035 §2.3.4 lengths) or an IP address; else UsageError."""
    import ipaddress

    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        pass
    try:
        ascii_name = name.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise UsageError(f"{what} {name!r} is not a valid host name") from None
    labels = ascii_name.split(".")
    if (not ascii_name or len(ascii_name) > 253
            or not all(label and all(ch.isalnum() or ch in "-_" for ch in label) for label in labels)):
        raise UsageError(f"{what} {name!r} is not a valid host name")
    return name


def check_ehlo_name(name: str) -> str:
    """RFC 5321 §4.1.1.1: EHLO takes a domain or an address literal like [192.0.2.1]."""
    if name.startswith("[") and name.endswith("]") and name[1:-1] and all(
            ch.isalnum() or ch in ".:-" for ch in name[1:-1]):
        return name
    return check_host_name(name, "--ehlo")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be between 0 and 86400 seconds, not {text}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Step-by-step SMTP/TLS inspector: see what a mail server says and why "
                    "sending fails or is insecure.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    probe = sub.add_parser(
        "probe", help="run one SMTP session step by step and judge it",
        description="Connect, read the greeting, EHLO, STARTTLS or implicit TLS, check the "
                    "certificate, EHLO again, QUIT; print the transcript, tables and findings.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    probe.add_argument("--timeout", type=_positive_float, default=10.0, metavar="S",
                       help="per-step timeout in seconds (default 10)")
    probe.add_argument("--deadline", type=_positive_float, default=60.0, metavar="S",
                       help="deadline for the whole probe in seconds (default 60)")
    probe.add_argument("--servername", metavar="NAME",
                       help="SNI and the name the certificate must carry (default: HOST)")
    probe.add_argument("--cafile", metavar="PATH", help="trust only these CA certificates (PEM)")
    probe.add_argument("--insecure", action="store_true",
                       help="don't fail on an unverifiable certificate (still reported)")
    probe.add_argument("--json", action="store_true", help="print the result as JSON")
    probe.add_argument("--save", metavar="DIR", help="also write the transcript as JSON and text")
    probe.add_argument("-v", "--verbose", action="store_true",
                       help="show every chunk as it crossed the socket")
    probe.set_defaults(handler=_cmd_probe)

    demo = sub.add_parser("demo", help="probe the built-in lab server, with explanations",
                          description="Start the lab server on a free loopback port and walk "
                                      "through an SMTP submission session, step by step.")
    demo.add_argument("--json", action="store_true", help="print the result as JSON")
    demo.set_defaults(handler=_cmd_demo)

    lab = sub.add_parser("lab", help="run the built-in lab server until Ctrl-C",
                         description="A real SMTP server on loopback, optionally with a fault "
                                     "that imitates a broken or hostile path.")
    lab.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    lab.add_argument("--port", type=_port, default=2525, help="port (default 2525, 0 = any free)")
    lab.add_argument("--fault", metavar="NAME",
                     help="strip-starttls, mask-starttls, starttls-454, inject-after-starttls, "
                          "plain-auth-before-tls, slow-greeting")
    lab.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte")
    lab.set_defaults(handler=_cmd_lab)
    return parser


def _probe_config(args):
    from .probes.session import IMPLICIT, STARTTLS, ProbeConfig

    host, port = parse_target(args.target)
    check_host_name(host, "host")
    if args.servername is not None:
        check_host_name(args.servername, "--servername")
    if args.ehlo is not None:
        check_ehlo_name(args.ehlo)
    mode = args.mode or (IMPLICIT if port in IMPLICIT_TLS_PORTS else STARTTLS)
    require_tls = args.require_tls
    if require_tls is None:
        require_tls = mode != "plain" and (port in TLS_REQUIRED_PORTS or args.mode is not None)
    if mode == "plain" and require_tls:
        raise UsageError("--plain and --require-tls contradict each other")
    if args.cafile:
        from .certs import load_trust_anchors
        load_trust_anchors(args.cafile)  # a bad file is a usage error, found before connecting
    return ProbeConfig(host=host, port=port, mode=mode, require_tls=require_tls,
                       ehlo_name=args.ehlo, timeout=args.timeout, deadline=args.deadline,
                       servername=args.servername, cafile=args.cafile, insecure=args.insecure)


def _cmd_probe(args) -> int:
    from .probes.session import run_probe

    config = _probe_config(args)
    save_dir = _prepare_save_dir(args.save) if args.save else None
    result = run_probe(config)
    _emit(result, args, teach=False)
    if save_dir is not None:
        _save(result, save_dir)
    return int(result.exit_code)


def _cmd_demo(args) -> int:
    from .lab import LabServer
    from .probes.session import STARTTLS, ProbeConfig, run_probe

    with LabServer() as server:
        config = ProbeConfig(host=server.host, port=server.port, mode=STARTTLS, require_tls=True,
                             ehlo_name="client.demo.invalid", servername=server.hostname,
                             cafile=server.ca_path, timeout=5.0, deadline=20.0)
        if not args.json:
            print(f"Demo: the built-in lab server listens on {server.host}:{server.port} as "
                  f"{server.hostname}, with a certificate from its own fresh CA.\n"
                  "Marks: -> client to server, <- server to client, ~> <~ the same inside TLS, "
                  "=== notes.\n")
        result = run_probe(config)
    _emit(result, args, teach=True)
    return int(result.exit_code)


def _cmd_lab(args) -> int:
    from .lab import FAULTS
    from .lab.run import run_lab

    if args.fault is not None and args.fault not in FAULTS:
        raise UsageError(f"unknown fault {args.fault!r}; choose from {', '.join(FAULTS)}")
    return run_lab(host=args.host, port=args.port, fault=args.fault,
                   implicit_tls=args.implicit_tls)


def _emit(result, args, *, teach: bool) -> None:
    if args.json:
        from .render.json_output import dumps
        print(dumps(result))
    else:
        from .render.text import render_probe
        print(render_probe(result, teach=teach, verbose=getattr(args, "verbose", False)))


def _prepare_save_dir(path: str):
    import pathlib
    directory = pathlib.Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --save directory {path!r}: {exc.strerror}") from None
    if not directory.is_dir():
        raise UsageError(f"--save {path!r} is not a directory")
    return directory


def _save(result, directory) -> None:
    import time

    from .render.json_output import dumps
    from .render.text import render_probe

    cfg = result.config
    stem = f"{cfg.host.replace(':', '_')}-{cfg.port}-{time.strftime('%Y%m%dT%H%M%S')}"
    (directory / f"{stem}.json").write_text(dumps(result) + "\n")
    (directory / f"{stem}.txt").write_text(render_probe(result) + "\n")
    print(f"saved {directory / stem}.json and .txt", file=sys.stderr)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return int(ExitCode.USAGE)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as exc:  # a bug: one line, the traceback only with -v
        if getattr(args, "verbose", False):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} "
              "(run again with -v for the traceback; please report it)", file=sys.stderr)
        return int(ExitCode.INTERNAL)


def run() -> None:
    """Console entry point: ``main()``, then exit without interpreter finalisation.

    Tearing down cryptography's and ssl's module state costs 10-18 ms at exit,
    a sixth of a loopback probe; everything of ours is written and flushed by
    then, so the process can end at once.
    """
    import os

    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)
