"""Command line: ``smtp-inspector COMMAND``.

Start-up stays light: argparse and the command modules (inspector/commands/),
which import what they need only when they run, so ``--help`` is fast and
``probe`` never imports scapy. Errors become one line and a documented exit
code here, at one boundary.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .commands import COMMAND_MODULES
from .commands.common import (  # noqa: F401  (re-exported: the public helpers of the CLI)
    EXIT_CODES_HELP,
    check_ehlo_name,
    check_host_name,
    parse_target,
)
from .errors import ClusterError, PrivilegeError, UsageError
from .exitcodes import ExitCode

PROG = "smtp-inspector"


class _OneLineErrorParser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr and exit 2, not the usage block."""

    def error(self, message: str):
        self.exit(int(ExitCode.USAGE), f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv=None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names is built in full."""
    from . import __version__

    parser = _OneLineErrorParser(
        prog=PROG,
        description="Step-by-step SMTP/TLS inspector: see what a mail server says and why "
                    "sending fails or is insecure.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _chosen_command(sys.argv[1:] if argv is None else argv)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f".commands.{name}", __package__)
        if chosen in (None, name):
            module.register(sub)
        else:  # only listed: building every command's options costs milliseconds at each start
            sub.add_parser(name, help=module.SUMMARY)
    return parser


def _chosen_command(argv) -> str | None:
    """The subcommand named on the command line (its first word), if it is one of ours."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMAND_MODULES else None


def main(argv=None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return int(ExitCode.USAGE)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except PrivilegeError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return int(ExitCode.PRIVILEGES)
    except ClusterError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return int(ExitCode.CLUSTER)
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
