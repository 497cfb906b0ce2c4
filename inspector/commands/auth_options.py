"""Authentication options shared by ``probe`` and ``discover`` (RFC 4954).

Secrets never come from the command line: ``--password``/``--token`` are
refused without echoing the value; the password comes from
``$SMTP_INSPECTOR_PASSWORD``, ``--password-file`` or a prompt on a terminal,
a bearer token from ``$SMTP_INSPECTOR_TOKEN`` or ``--token-file``.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError


def add_auth_arguments(parser, *, allow_all: bool, allow_plaintext: bool | None = None,
                       user_help: str = "user name for --auth", auth_help: str | None = None) -> None:
    """The ``authentication`` argument group.

    ``allow_all`` (``probe``) offers ``--auth all``; ``allow_plaintext`` (default:
    the same as ``allow_all``; ``send`` sets it) offers ``--allow-plaintext-auth``.
    ``discover`` logs in only where TLS came up, so it has neither. ``auth_help``
    words ``--auth`` for a command with one session (``send``).
    """
    auth = parser.add_argument_group(
        "authentication (RFC 4954)",
        "Secrets never go on the command line: the password comes from $SMTP_INSPECTOR_PASSWORD, "
        "--password-file or a prompt (terminal only); a token from $SMTP_INSPECTOR_TOKEN or "
        "--token-file. Secrets are redacted from all output and saved files.")
    if allow_all:
        auth.add_argument("--auth", metavar="MECH|auto|all", type=auth_choice,
                          help="authenticate after EHLO: a mechanism (PLAIN, LOGIN, CRAM-MD5, "
                               "SCRAM-SHA-1/256/512[-PLUS], XOAUTH2, OAUTHBEARER), auto (the strongest "
                               "offered) or all (each offered mechanism on its own connection, as a "
                               "table)")
    else:
        auth.add_argument("--auth", metavar="MECH|auto", type=auth_choice_single,
                          help=auth_help or "also log in on each candidate that offers AUTH after TLS: "
                                            "a mechanism or auto (the strongest offered)")
    auth.add_argument("--user", metavar="NAME", help=user_help)
    auth.add_argument("--password-file", metavar="PATH", help="read the password from this file")
    auth.add_argument("--token-file", metavar="PATH", help="read the OAuth bearer token from this file")
    if allow_all if allow_plaintext is None else allow_plaintext:
        auth.add_argument("--allow-plaintext-auth", action="store_true",
                          help="send credentials even without TLS (reported as a warning)")
    for flag in ("--password", "--token"):
        auth.add_argument(flag, nargs="?", action=RefuseSecretOnCommandLine, help=argparse.SUPPRESS)


class RefuseSecretOnCommandLine(argparse.Action):
    """``--password``/``--token``: refused without echoing the value (it would land in logs)."""

    def __call__(self, parser, namespace, values, option_string=None):
        what = "password" if option_string == "--password" else "token"
        env = "SMTP_INSPECTOR_PASSWORD" if what == "password" else "SMTP_INSPECTOR_TOKEN"
        parser.exit(2, f"{parser.prog}: error: {option_string} is not accepted: a {what} on the "
                       f"command line is visible to other users and kept in shell history; "
                       f"use ${env} or --{what}-file PATH\n")


class Mechanism(str):
    """A mechanism name in upper case (``PLAIN``) that remembers how it was written (``given``)."""

    given: str

    def __new__(cls, value: str, given: str):
        self = super().__new__(cls, value)
        self.given = given
        return self


def auth_choice(text: str) -> str:
    """--auth value: ``auto``, ``all`` or a mechanism smtp-inspector implements."""
    from ..smtp.sasl import SUPPORTED_MECHANISMS

    value = text.strip().upper()
    if value in ("AUTO", "ALL") or value in SUPPORTED_MECHANISMS:
        return Mechanism(value, text.strip())
    raise argparse.ArgumentTypeError(
        f"unknown mechanism {text!r}; choose auto, all or one of {', '.join(SUPPORTED_MECHANISMS)}")


def auth_choice_single(text: str) -> str:
    """Like :func:`auth_choice`, without ``all`` (one login per candidate)."""
    value = auth_choice(text)
    if value == "ALL":
        raise argparse.ArgumentTypeError("all is for probe; here choose auto or one mechanism")
    return value


def auth_request(args):
    """The AuthRequest that ``--auth`` and the secrets describe; None without ``--auth``."""
    import os

    mechanism = getattr(args, "auth", None)
    if mechanism is None:
        given = (getattr(args, name, None) for name in ("user", "password_file", "token_file"))
        if any(given):
            raise UsageError("--user, --password-file and --token-file need --auth")
        return None
    from ..probes.auth_step import AuthRequest
    from ..smtp.sasl import Credentials, Secret, needs

    if not args.user:
        raise UsageError("--auth needs --user NAME")
    if any(ch in args.user for ch in "\r\n\0"):
        raise UsageError("--user must not contain CR, LF or NUL")
    password = _secret_from(args.password_file, "--password-file", os.environ.get("SMTP_INSPECTOR_PASSWORD"))
    token = _secret_from(args.token_file, "--token-file", os.environ.get("SMTP_INSPECTOR_TOKEN"))
    wanted = needs(mechanism) if mechanism not in ("AUTO", "ALL") else None
    if wanted == "token" and token is None:
        raise UsageError(f"--auth {mechanism} needs a token: set SMTP_INSPECTOR_TOKEN or use "
                         "--token-file PATH")
    if password is None and (wanted == "password" or (wanted is None and token is None)):
        password = _prompt_password(args.user, mechanism)
    from ..redaction import default as redactor

    for secret in (password, token):
        if secret:
            redactor().add_secret(secret)   # from here on, no output can show it
    return AuthRequest(mechanism=mechanism,
                       credentials=Credentials(args.user, password=password and Secret(password),
                                               token=token and Secret(token)),
                       allow_plaintext=getattr(args, "allow_plaintext_auth", False))


def _secret_from(path: str | None, flag: str, env_value: str | None) -> str | None:
    """A file given on the command line wins over the environment; one trailing newline is dropped."""
    if path is None:
        return env_value or None
    from ..net.files import MAX_SECRET_FILE, read_limited
    from .common import input_file

    input_file(path, flag)
    data = read_limited(path, what=flag, limit=MAX_SECRET_FILE)
    try:
        value = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{flag} {path!r} is not UTF-8 text") from None
    value = value[:-1] if value.endswith("\n") else value
    value = value[:-1] if value.endswith("\r") else value
    if not value:
        raise UsageError(f"{flag} {path!r} is empty")
    if any(ch in value for ch in "\r\n\0"):
        raise UsageError(f"{flag} {path!r} holds more than one line")
    return value


def _prompt_password(user: str, mechanism: str) -> str:
    """Ask on the terminal without echo; without a terminal, a usage error (never a hang)."""
    import getpass

    if not sys.stdin.isatty():
        raise UsageError(f"--auth {getattr(mechanism, 'given', mechanism)} needs a password: set "
                         "SMTP_INSPECTOR_PASSWORD, "
                         "use --password-file PATH, or run on a terminal to be asked")
    try:
        value = getpass.getpass(f"Password for {user}: ")
    except EOFError:
        value = ""
    if not value:
        raise UsageError("no password entered")
    return value
