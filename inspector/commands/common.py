"""Argument types and helpers shared by the commands (argparse only; imported at start-up)."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..smtp.ports import IMPLICIT_TLS_PORTS, TLS_REQUIRED_PORTS  # noqa: F401  (re-exported)

DEFAULT_PORT = 587

#: One line per exit code, for ``--help`` (the README's "Exit codes" table says more).
EXIT_CODE_TEXT = {
    0: "every step succeeded and no finding is an error",
    1: "every step succeeded, but a finding has severity \"error\"",
    2: "bad arguments",
    3: "internal error (a bug in smtp-inspector)",
    4: "needs root or CAP_NET_RAW (interference, probe --sniff)",
    5: "the deadline ran out (or the server kept refusing) before the report was complete",
    10: "connect failed (refused, unreachable, timed out, name not resolved)",
    11: "greeting failed",
    12: "EHLO/HELO failed",
    13: "STARTTLS not offered or refused while TLS was required",
    14: "TLS handshake failed",
    15: "certificate not valid (untrusted, other name, expired)",
    16: "AUTH failed: rejected (e.g. 535 5.7.8), mechanism not offered, refused without TLS, "
        "or the SCRAM server signature was wrong",
    17: "send: MAIL FROM refused, or the message cannot go to this server as it is "
        "(over SIZE, 8-bit or UTF-8 without the extension, REQUIRETLS)",
    18: "send: every recipient refused at RCPT TO",
    19: "send: the message refused (DATA, BDAT, or the reply after the final dot)",
    20: "discover: no candidate gave a submission session with TLS",
    21: "replay: the capture is unreadable, not pcap/pcapng, truncated or corrupt",
    22: "scan --cluster: the Dask scheduler cannot be reached or was lost",
    130: "interrupted (Ctrl-C)",
}


def exit_codes_help(codes=None, *, title: str = "exit codes") -> str:
    """The exit-code block of a ``--help`` epilog: only ``codes`` (default: all).

    An entry is a code (described by :data:`EXIT_CODE_TEXT`) or ``(code, text)``
    where a command means something narrower by it.
    """
    lines = [f"{title}:"]
    for entry in (sorted(EXIT_CODE_TEXT) if codes is None else codes):
        code, text = entry if isinstance(entry, tuple) else (entry, EXIT_CODE_TEXT[entry])
        words, line = text.split(), f"  {code:<4}"
        line += words.pop(0)
        for word in words:  # wrapped by hand: textwrap would cost an import at every start
            if len(line) + 1 + len(word) > 78:
                lines.append(line)
                line = " " * 6 + word
            else:
                line += " " + word
        lines.append(line)
    return "\n".join(lines) + "\n"


#: Every exit code, as ``smtp-inspector --help`` lists them.
EXIT_CODES_HELP = exit_codes_help()


def is_number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit()`` also accepts ``²`` and ``١``, which ``int()`` may refuse."""
    return bool(text) and text.isascii() and text.isdigit()


def is_decimal(text: str) -> bool:
    """An ASCII decimal like ``10``, ``0.5`` or ``.5``: no sign, exponent, ``_``, ``inf`` or ``nan``
    (all of which ``float()`` takes)."""
    whole, dot, fraction = text.partition(".")
    return (whole or fraction) != "" and all(not part or is_number(part) for part in (whole, fraction))


def ascii_int(text: str) -> int:
    """argparse type for a whole number written in ASCII digits."""
    if not is_number(text):
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    return int(text)


def parse_target(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port``, ``[v6]`` or a bare IPv6 address (RFC 3986 §3.2.2).

    ``::1:2525`` is refused: it is both the address ``::1:2525`` and ``::1``
    with port 2525. ``host:`` (an empty port) is refused too.
    """
    text = text.strip()
    if not text:
        raise UsageError("empty target")
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not host or not bracket or (rest and not rest.startswith(":")):
            raise UsageError(f"cannot read target {text!r}; write an IPv6 address as [IPv6]:PORT")
        if not _is_ipv6(host):
            raise UsageError(f"{host!r} in brackets is not an IPv6 address")
        if rest == ":":
            raise UsageError(f"empty port in {text!r}: give [{host}]:PORT or leave out the colon")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        if not port_text:
            raise UsageError(f"empty port in {text!r}: give {host}:PORT or leave out the colon")
    else:
        host, port_text = text, ""
        if ":" in text:
            head, _, tail = text.rpartition(":")
            if tail.isdigit() and 0 < int(tail) < 65536 and _is_ipv6(head):
                raise UsageError(f"{text!r} is ambiguous: write [{head}]:{tail} for port {tail} "
                                 f"of {head}, or [{text}] for the address {text}")
            if not _is_ipv6(text):
                raise UsageError(f"cannot read target {text!r}; write an IPv6 address as [IPv6]:PORT")
    if not host:
        raise UsageError(f"no host in target {text!r}")
    if not port_text:
        return host, default_port
    if not is_number(port_text) or not 0 < int(port_text) < 65536:
        raise UsageError(f"port must be a number from 1 to 65535, not {port_text!r}")
    return host, int(port_text)


def _is_ipv6(text: str) -> bool:
    from ..net.address import is_ipv6

    return is_ipv6(text)


def check_host_name(name: str, what: str) -> str:
    """A DNS name (IDNA-encodable, RFC 1035 §2.3.4 lengths) or an IP address; else UsageError."""
    from ..net.address import is_ip_address

    if is_ip_address(name):
        return name
    try:  # the idna codec only for names that need it: it costs an import at every start
        ascii_name = name.rstrip(".") if name.isascii() else name.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise UsageError(f"{what} {name!r} is not a valid host name") from None
    labels = ascii_name.split(".")
    if (not ascii_name or len(ascii_name) > 253
            or not all(label and len(label) <= 63 and all(ch.isalnum() or ch in "-_" for ch in label)
                       for label in labels)):
        raise UsageError(f"{what} {name!r} is not a valid host name")
    return name


def check_host_only(name: str, command: str, port_option: str = "--ports") -> str:
    """The HOST of ``ports``/``interference``/``lab``: a name or address without a port."""
    if name.startswith("[") and name.endswith("]") and _is_ipv6(name[1:-1]):
        return name[1:-1]
    host, sep, port = name.rpartition(":")
    if sep and port.isdigit() and (host.count(":") == 0 or host.startswith("[")):
        raise UsageError(f"{command} takes a host without a port: write {command} "
                         f"{host.strip('[]')} {port_option} {port}")
    return check_host_name(name, "host")


def resolve_target(host: str, timeout: float, source_address: str | None = None) -> tuple[str, ...]:
    """Resolve the target once, before any connection; ConnectFailed (exit 10) when it does not.

    With ``--source-address``, a target with no address of that family is a usage error (exit 2).
    """
    from ..net.source import reachable_from, source_family
    from ..net.transport import resolve_once

    addresses = resolve_once(host, min(timeout, 30.0))
    if not reachable_from(source_address, addresses):
        raise UsageError(f"--source-address {source_address} is {source_family(source_address)}, but {host} "
                         f"has only {source_family(addresses[0])} addresses ({', '.join(addresses)})")
    return addresses


SOURCE_ADDRESS_HELP = ("connect from this local address (one of this machine's; give one whose reverse DNS "
                       "names the operator)")


def source_address_option(args) -> str | None:
    """``--source-address``, checked (bound once) before anything is sent; UsageError (exit 2) else."""
    source = getattr(args, "source_address", None)
    if source is None:
        return None
    from ..net.source import check_source_address

    return check_source_address(source)


def check_ehlo_name(name: str) -> str:
    """RFC 5321 §4.1.1.1: EHLO takes a domain or an address literal like [192.0.2.1]."""
    if name.startswith("[") and name.endswith("]") and name[1:-1] and all(
            ch.isalnum() or ch in ".:-" for ch in name[1:-1]):
        return name
    return check_host_name(name, "--ehlo")


def positive_number(text: str, *, at_most: float, meaning: str) -> float:
    """A decimal number more than 0 and at most ``at_most``; ``meaning`` says what it must be."""
    if not is_decimal(text.strip()):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= at_most:
        raise argparse.ArgumentTypeError(f"must be {meaning}, not {text}")
    return value


def positive_seconds(text: str) -> float:
    return positive_number(text, at_most=86400, meaning="more than 0 and at most 86400 seconds")


def port_list(text: str) -> list[int]:
    """``25,465,587``: distinct ports from 1 to 65535 (at most 64, to stay a diagnosis, not a scan)."""
    ports = []
    for item in text.split(","):
        item = item.strip()
        if not is_number(item) or not 0 < int(item) < 65536:
            raise argparse.ArgumentTypeError(f"not a port number: {item!r}")
        ports.append(int(item))
    ports = list(dict.fromkeys(ports))
    if not 0 < len(ports) <= 64:
        raise argparse.ArgumentTypeError("give 1 to 64 ports")
    return ports


def require_raw_sockets(what: str) -> None:
    """Raise PrivilegeError (exit 4) unless raw sockets can be opened."""
    from ..errors import PrivilegeError
    from ..packets.tcp_probes import have_raw_sockets

    if not have_raw_sockets():
        raise PrivilegeError(f"{what} needs raw sockets: run as root or with CAP_NET_RAW")


def port_number(text: str) -> int:
    if not is_number(text) or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def checked_target(args, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``args.target`` as (host, port), with ``--servername`` and ``--ehlo`` checked too.

    Every check runs before any connection, so a typo is a usage error (exit 2).
    """
    host, port = parse_target(args.target, default_port)
    check_host_name(host, "host")
    if getattr(args, "servername", None) is not None:
        check_host_name(args.servername, "--servername")
    if getattr(args, "ehlo", None) is not None:
        check_ehlo_name(args.ehlo)
    return host, port


def add_html_option(parser) -> None:
    """``--html FILE``: the shared option of probe, tls, replay, discover and demo."""
    parser.add_argument("--html", metavar="FILE", type=html_path,
                        help="also write a self-contained HTML report (ladder diagram of the session, "
                             "tables, findings) to FILE")


def html_path(text: str) -> str:
    """A file we can create: its directory exists (checked before any connection)."""
    import os

    directory = os.path.dirname(os.path.abspath(text))
    if not text or os.path.isdir(text) or not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write a report to {text!r}")
    return text


def write_html(args, kind: str, document) -> None:
    """With ``--html``: render ``document()`` (the command's JSON document) to the file."""
    if getattr(args, "html", None):
        from ..render.html import write
        write(args.html, kind, document())
def input_file(path: str, what: str, error=UsageError) -> str:
    """``path`` if it is a regular file we can open; else ``error`` with one line saying why.

    Checked before reading: a directory, a FIFO (whose open() would wait for a
    writer forever), a socket or a device (``/dev/zero`` never ends) is refused.
    """
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        from ..net.transport import os_reason
        raise error(f"cannot read {what} {path}: {os_reason(exc)}") from None
    if stat.S_ISDIR(mode):
        raise error(f"{what} {path} is a directory, not a file")
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise error(f"{what} {path} is {kind}, not a regular file")
    return path
