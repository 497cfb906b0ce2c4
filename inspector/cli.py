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

from .commands import COMMAND_MODULES, SUMMARIES
from .commands.common import (  # noqa: F401  (re-exported: the public helpers of the CLI)
    EXIT_CODES_HELP,
    check_ehlo_name,
    check_host_name,
    parse_target,
)
from .errors import ClusterError, ConnectFailed, PrivilegeError, UsageError
from .exitcodes import ExitCode

PROG = "smtp-inspector"


class _OneLineErrorParser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr and exit 2, not the usage block.

    ``--help`` ends with the command's own epilog (kept as written) and the
    exit codes that command can end with (``exit_codes``; all of them for the
    top level).
    """

    exit_codes = None

    def __init__(self, *args, epilog=None, **kwargs):
        kwargs["formatter_class"] = _Formatter
        super().__init__(*args, **kwargs)
        self.raw_epilog = epilog

    def format_help(self) -> str:
        from .commands.common import exit_codes_help

        text = super().format_help()
        if self.raw_epilog:
            text += "\n" + self.raw_epilog.rstrip("\n") + "\n"
        title = "exit codes" if self.prog == PROG else f"exit codes of {self.prog.split()[-1]}"
        return text + "\n" + exit_codes_help(self.exit_codes, title=title)

    def error(self, message: str):
        self.exit(int(ExitCode.USAGE), f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter with the terminal width read once, without importing shutil."""

    _width: int | None = None

    def __init__(self, prog, **kwargs):
        if _Formatter._width is None:
            _Formatter._width = _terminal_columns() - 2
        kwargs.setdefault("width", _Formatter._width)
        super().__init__(prog, **kwargs)


def _terminal_columns() -> int:
    """What ``shutil.get_terminal_size()`` says: $COLUMNS, else the terminal, else 80."""
    import os

    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _untranslated() -> None:
    """argparse's own words in English, like ours, without a gettext catalogue search per string.

    argparse calls gettext for each of its strings as it builds a parser: each
    call searches the locale directories for a catalogue, a few milliseconds
    at every start; and a translated "usage:" next to our English messages
    would be no help either.
    """
    argparse._ = lambda text: text
    argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural


def build_parser(argv=None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names is built in full."""
    from . import __version__

    _untranslated()

    parser = _OneLineErrorParser(
        prog=PROG,
        description="Step-by-step SMTP/TLS inspector: see what a mail server says and why "
                    "sending fails or is insecure.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _chosen_command(sys.argv[1:] if argv is None else argv)
    if chosen is not None:  # the others are never consulted: building their parsers costs milliseconds
        module = importlib.import_module(f".commands.{chosen}", __package__)
        module.register(sub)
        sub.choices[chosen].exit_codes = module.EXIT_CODES
        return parser
    for name, summary in SUMMARIES.items():  # listed in --help; their modules are not imported
        sub.add_parser(name, help=summary)
    return parser


def _chosen_command(argv) -> str | None:
    """The subcommand named on the command line (its first word), if it is one of ours."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMAND_MODULES else None


def error_line(command: str | None, message: str) -> str:
    """The one form of every error line: ``smtp-inspector COMMAND: error: MESSAGE``."""
    return f"{PROG} {command}: error: {message}" if command else f"{PROG}: error: {message}"


def main(argv=None) -> int:
    """Run one command; every byte it writes to stdout and stderr passes the redactor."""
    from .redaction import guarded_output

    with guarded_output():
        return _main(argv)


def _main(argv) -> int:
    import warnings

    # No library warning reaches the user's terminal: what matters becomes a finding.
    warnings.simplefilter("ignore")
    parser = build_parser(argv)
    args, extras = parser.parse_known_args(argv)
    command = getattr(args, "command", None)
    if extras:  # point at the subcommand's --help, whose options the user meant
        target = parser._subparsers._group_actions[0].choices.get(command) if command else parser
        target.error(f"unrecognized arguments: {' '.join(extras)}")
    if not getattr(args, "handler", None):
        parser.print_help()
        return int(ExitCode.USAGE)
    if getattr(args, "deadline", None):
        from .net.files import limit_reads

        limit_reads(args.deadline)   # reading --cafile or a password file counts against it
    try:
        return args.handler(args)
    except UsageError as exc:
        print(error_line(command, str(exc)), file=sys.stderr)
        return int(ExitCode.USAGE)
    except PrivilegeError as exc:
        print(error_line(command, str(exc)), file=sys.stderr)
        return int(ExitCode.PRIVILEGES)
    except ConnectFailed as exc:  # found before any connection: the name does not resolve
        print(error_line(command, str(exc)), file=sys.stderr)
        return int(ExitCode.CONNECT)
    except ClusterError as exc:
        print(error_line(command, str(exc)), file=sys.stderr)
        return int(ExitCode.CLUSTER)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as exc:  # a bug: one line, the traceback only with -v
        if getattr(args, "verbose", False):
            raise
        print(error_line(command, f"internal error: {type(exc).__name__}: {exc} "
                                  "(run again with -v for the traceback; please report it)"),
              file=sys.stderr)
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
