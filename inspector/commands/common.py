"""Argument types and helpers shared by the commands (argparse only; imported at start-up)."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..smtp.ports import IMPLICIT_TLS_PORTS, TLS_REQUIRED_PORTS  # noqa: F401  (re-exported)

DEFAULT_PORT = 587

EXIT_CODES_HELP = """exit codes:
  0   every step succeeded and no finding is an error
  1   every step succeeded, but a finding has severity "error"
  2   bad arguments
  3   internal error (a bug in smtp-inspector)
  4   needs root or CAP_NET_RAW (interference, probe --sniff)
  5   the deadline ran out (or the server kept refusing) before the report was
      complete (tls, ports, interference)
  10  connect failed        11  greeting failed      12  EHLO/HELO failed
  13  STARTTLS failed       14  TLS handshake failed 15  certificate not valid
  16  AUTH failed: rejected (e.g. 535 5.7.8), mechanism not offered, refused
      without TLS (see --allow-plaintext-auth), or the SCRAM server signature
      was wrong
  20  discover: no submission server with TLS
  21  replay: capture unreadable, not pcap/pcapng, truncated or corrupt
  22  scan --cluster: the Dask scheduler unreachable or lost
  130 interrupted
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


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be between 0 and 86400 seconds, not {text}")
    return value


def port_list(text: str) -> list[int]:
    """``25,465,587``: distinct ports from 1 to 65535 (at most 64, to stay a diagnosis, not a scan)."""
    ports = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or not 0 < int(item) < 65536:
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
    if not text.isdigit() or not 0 <= int(text) < 65536:
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
