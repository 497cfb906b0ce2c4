"""``smtp-inspector send``: submit a real message step by step and explain every reply."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from . import SUMMARIES
from .auth_options import add_auth_arguments
from .common import add_html_option, positive_seconds, resolve_target, write_html
from .probe import add_probe_arguments, prepare_save_dir

#: The one line ``smtp-inspector --help`` shows for this command.
SUMMARY = SUMMARIES["send"]

#: The exit codes this command can end with (its --help lists these).
EXIT_CODES = (0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 130)

_DSN_NOTIFY = ("NEVER", "SUCCESS", "FAILURE", "DELAY")


def register(sub) -> None:
    send = sub.add_parser(
        "send", help=SUMMARY,
        description="The probe's session (greeting, EHLO, TLS, certificate, AUTH), then MAIL FROM, "
                    "RCPT TO for each recipient, DATA (or BDAT) and QUIT, each a step with its "
                    "reply, time, meaning and what to do. Extensions (PIPELINING, SIZE, 8BITMIME, "
                    "SMTPUTF8, DSN, CHUNKING, REQUIRETLS) are checked against the EHLO reply "
                    "before anything is sent.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_probe_arguments(send)
    add_html_option(send)
    add_auth_arguments(send, allow_all=False, allow_plaintext=True, auth_help=(
        "log in before MAIL FROM: a mechanism (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1/256/512[-PLUS], "
        "XOAUTH2, OAUTHBEARER) or auto (the strongest offered); without it the message goes "
        "unauthenticated"))
    env = send.add_argument_group("envelope (RFC 5321 §3.3)")
    env.add_argument("--from", dest="sender", required=True, metavar="ADDR",
                     help="MAIL FROM address and From: of the generated message ('' for the null sender)")
    env.add_argument("--to", action="append", default=[], metavar="ADDR", help="recipient (repeatable)")
    env.add_argument("--cc", action="append", default=[], metavar="ADDR", help="recipient shown in Cc:")
    env.add_argument("--bcc", action="append", default=[], metavar="ADDR",
                     help="recipient in the envelope only")
    msg = send.add_argument_group("message (RFC 5322)")
    msg.add_argument("--data", metavar="FILE|-",
                     help="send this RFC 5322 message byte for byte (- reads standard input); "
                          "default: a generated test message")
    msg.add_argument("--fix-line-ends", action="store_true",
                     help="with --data: send bare LF/CR line ends as CRLF (reported); without it "
                          "such a message is refused")
    msg.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                     help="add a header (repeatable)")
    msg.add_argument("--subject", help="Subject: of the generated message")
    msg.add_argument("--body", metavar="TEXT", help="body of the generated message")
    msg.add_argument("--attach", action="append", default=[], metavar="FILE",
                     help="attach a file (MIME; repeatable)")
    ext = send.add_argument_group("extensions")
    ext.add_argument("--bdat", action="store_true",
                     help="send the message with BDAT when CHUNKING is offered (RFC 3030)")
    ext.add_argument("--no-pipelining", dest="pipelining", action="store_false",
                     help="one command at a time even when PIPELINING is offered (RFC 2920)")
    ext.add_argument("--notify", metavar="LIST", type=_notify,
                     help="DSN NOTIFY= for every recipient: NEVER or SUCCESS,FAILURE,DELAY (RFC 3461)")
    ext.add_argument("--ret", choices=("FULL", "HDRS"), type=str.upper, help="DSN RET= (RFC 3461)")
    ext.add_argument("--envid", metavar="ID", help="DSN ENVID= (RFC 3461)")
    ext.add_argument("--requiretls", action="store_true",
                     help="ask for REQUIRETLS (RFC 8689); not sent when the server does not offer it")
    ext.add_argument("--ignore-size-limit", action="store_true",
                     help="send even when the message is bigger than the server's SIZE (to see its reply)")
    ext.add_argument("--retry-greylist", nargs="?", const=60.0, type=positive_seconds, metavar="S",
                     help="after a greylisting reply (450/451 4.7.1), wait S seconds (default 60) and "
                          "retry once in the same session; the wait counts against --deadline")
    send.set_defaults(handler=run)


def _notify(text: str) -> str:
    words = [w.strip().upper() for w in text.split(",")]
    if not all(w in _DSN_NOTIFY for w in words) or ("NEVER" in words and len(words) > 1):
        raise argparse.ArgumentTypeError("NOTIFY is NEVER, or a list of SUCCESS, FAILURE, DELAY")
    return ",".join(words)


def _address(text: str, what: str, *, empty_ok: bool = False) -> str:
    if text == "" and empty_ok:
        return text
    if not text or any(ch in text for ch in "<> \t\r\n\0") or "@" not in text.strip("@"):
        raise UsageError(f"{what} {text!r} is not a mail address (local@domain)")
    return text


def _headers(values) -> tuple[tuple[str, str], ...]:
    out = []
    for value in values:
        name, colon, rest = value.partition(":")
        if not colon or not name or not name.isascii() or any(c in name for c in " \t\r\n") \
                or any(c in rest for c in "\r\n"):
            raise UsageError(f"--header {value!r}: give one 'Name: value' without line breaks")
        out.append((name, rest.strip()))
    return tuple(out)


def _stdin_message(limit: int) -> bytes:
    """``--data -``: standard input, at most ``limit`` bytes (more is refused, not cut)."""
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"the message on standard input is over {limit:,} bytes")
    return data


def transaction_request(args):
    """The TransactionRequest the arguments describe; UsageError before any connection."""
    from ..net.files import MAX_MESSAGE_FILE, read_limited
    from ..probes.message import PreparedMessage, generated_message, prepared_message
    from ..probes.transaction_result import TransactionRequest

    sender = _address(args.sender, "--from", empty_ok=True)
    to = tuple(_address(a, "--to") for a in args.to)
    cc = tuple(_address(a, "--cc") for a in args.cc)
    bcc = tuple(_address(a, "--bcc") for a in args.bcc)
    if not (to or cc or bcc):
        raise UsageError("give at least one recipient (--to, --cc or --bcc)")
    headers = _headers(args.header)
    if args.data is not None:
        if args.body is not None or args.attach or args.subject is not None:
            raise UsageError("--data sends a message as it is: --body, --subject and --attach build "
                             "a generated one")
        raw = _stdin_message(MAX_MESSAGE_FILE) if args.data == "-" else read_limited(
            args.data, what="--data file", limit=MAX_MESSAGE_FILE)
        prepared = prepared_message(raw, fix_line_ends=args.fix_line_ends, headers=headers)
    else:
        if args.fix_line_ends:
            raise UsageError("--fix-line-ends is for --data")
        attachments = tuple((path.rsplit("/", 1)[-1], read_limited(path, what="--attach file",
                                                                          limit=MAX_MESSAGE_FILE))
                            for path in args.attach)
        data = generated_message(sender or "mailer-daemon@smtp-inspector.invalid", to, cc,
                                 subject=args.subject, body=args.body, headers=headers,
                                 attachments=attachments)
        prepared = PreparedMessage(data, True, None)
    return TransactionRequest(
        sender=sender, recipients=tuple(dict.fromkeys(to + cc + bcc)), message=prepared.data,
        bdat=args.bdat, pipelining=args.pipelining, notify=args.notify, ret=args.ret,
        envid=args.envid, requiretls=args.requiretls, retry_greylist=args.retry_greylist,
        ignore_size_limit=args.ignore_size_limit, show_body=args.verbose,
        line_ends_fixed=prepared.fixed)


def run(args) -> int:
    from ..frozen import replace
    from ..probes.session import run_probe
    from .probe import emit, json_document, probe_config, save

    config = replace(probe_config(args), transaction=transaction_request(args))
    save_dir = prepare_save_dir(args.save) if args.save else None
    # once, before any connection: ConnectFailed is exit 10
    resolve_target(config.host, config.timeout, config.source_address)
    if getattr(args, "sniff", False) or getattr(args, "pcap", None):
        from .sniff_output import run_and_emit_sniffed
        result = run_and_emit_sniffed(config, args)
    else:
        result = run_probe(config)
        emit(result, args, teach=False)
        write_html(args, "send", lambda: json_document(result))
    if save_dir is not None:
        save(result, save_dir)
    return int(result.exit_code)

