"""The lab server's faults as data: one row per fault, read by the server, ``lab --help`` and the README.

A fault imitates a broken or hostile path between a client and a server. Each
row says what the server does, and the two facts the rest of the lab derives
from it: whether STARTTLS is offered and whether AUTH is offered (and accepted)
before TLS. What ``probe`` reports against it is the findings whose catalogue
entries name the fault (``lab_faults=``). This module imports nothing heavy, so
``smtp-inspector lab --help`` can list the faults without loading aiosmtpd.
"""

from __future__ import annotations

from typing import NamedTuple

from ..findings import CATALOGUE


class Fault(NamedTuple):
    name: str
    does: str                  #: what the server does (one line)
    shown_with: str = ""       #: the options ``probe`` needs to report it (none: always)
    starttls: bool = True      #: STARTTLS is offered and works (the TLS mode a client can use)
    auth_in_clear: bool = False  #: AUTH is offered and accepted before TLS
    transaction: bool = False  #: acts only inside a mail transaction (``send``); ``probe`` never gets there

    @property
    def reported_as(self) -> str:
        """What ``probe`` (or, for a transaction fault, ``send``) reports: the ids planted by it."""
        ids = " or ".join(kind.id for kind in CATALOGUE.values() if self.name in kind.lab_faults)
        return f"{ids} (with {self.shown_with})" if self.shown_with else ids


FAULT_TABLE: tuple[Fault, ...] = (
    Fault("strip-starttls",
          "STARTTLS is not advertised and the command gets 502 5.5.1 (a path that removed it silently)",
          starttls=False),
    Fault("mask-starttls",
          "Cisco ASA 'inspect esmtp' imitation: banner masked with '*', STARTTLS advertised as "
          "XXXXXXXA, the command gets 502 5.5.2",
          starttls=False),
    Fault("starttls-454",
          "STARTTLS is advertised but the command gets 454 4.7.0 TLS not available due to "
          "temporary reason",
          starttls=False),
    Fault("inject-after-starttls",
          "extra plaintext lines are sent in the same write as the STARTTLS 220 reply (response "
          "injection, cf. CVE-2011-0411); TLS then proceeds"),
    Fault("plain-auth-before-tls",
          "AUTH PLAIN LOGIN is advertised and accepted before TLS (credentials can cross the wire "
          "in clear text)",
          auth_in_clear=True),
    Fault("slow-greeting",
          "pregreet pattern: a '220-' continuation line at once, the final '220 ' line only after "
          "a delay"),
    Fault("execute-pipelined-starttls",
          "plaintext command injection (CVE-2011-0411): commands pipelined after STARTTLS are kept "
          "and run inside TLS instead of being discarded",
          "--check-injection"),
    Fault("no-starttls-plain-auth",
          "no STARTTLS at all, but AUTH PLAIN LOGIN is advertised and accepted in clear text (a "
          "client must refuse to send its password)",
          "--auth", starttls=False, auth_in_clear=True),
    Fault("scram-bad-signature",
          "SCRAM answers with a wrong server signature (v=): an impostor that does not know the "
          "password",
          "--auth SCRAM-SHA-256"),
    Fault("pipelining-out-of-order",
          "the reply to MAIL FROM is held back and sent after the first RCPT's reply: a pipelined "
          "group answered out of order (RFC 2920 §3.1)",
          transaction=True),
    Fault("pipelining-missing-reply",
          "the first RCPT TO gets no reply at all: a pipelined group with a reply missing",
          transaction=True),
)

#: Fault name -> what the server does (the one-line description).
FAULTS: dict[str, str] = {fault.name: fault.does for fault in FAULT_TABLE}
FAULTS_BY_NAME: dict[str, Fault] = {fault.name: fault for fault in FAULT_TABLE}
#: Faults that act only inside a mail transaction (``send``); ``probe`` never gets that far.
TRANSACTION_FAULTS: tuple[str, ...] = tuple(fault.name for fault in FAULT_TABLE if fault.transaction)

#: Delay between the two lines of the greeting under the ``slow-greeting`` fault.
SLOW_GREETING_SECONDS = 2.5

#: The exact bytes written, in one write, as the STARTTLS reply under the
#: ``inject-after-starttls`` fault.
INJECTED_AFTER_STARTTLS = (
    b"220 2.0.0 Ready to start TLS\r\n250-lab.injected\r\n250 AUTH PLAIN LOGIN\r\n"
)


def starttls_offered(fault: str | None) -> bool:
    """STARTTLS appears in EHLO and works: false for the faults that strip, mask or refuse it."""
    return fault is None or FAULTS_BY_NAME[fault].starttls


def starttls_advertised(fault: str | None) -> bool:
    """The word STARTTLS is in the EHLO reply (starttls-454 advertises it, then refuses it)."""
    return fault not in ("strip-starttls", "mask-starttls", "no-starttls-plain-auth")


def auth_in_clear(fault: str | None) -> bool:
    return fault is not None and FAULTS_BY_NAME[fault].auth_in_clear


def fault_help() -> str:
    """The fault list for ``lab --help``: every row of the table, name and behaviour."""
    import textwrap

    lines = ["faults (--fault NAME):"]
    for fault in FAULT_TABLE:
        lines.append(f"  {fault.name}")
        command = "send" if fault.transaction else "probe"
        lines += textwrap.wrap(f"{fault.does}; {command} reports {fault.reported_as}", 78,
                               initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


__all__ = ["FAULTS", "FAULTS_BY_NAME", "FAULT_TABLE", "INJECTED_AFTER_STARTTLS", "SLOW_GREETING_SECONDS",
           "TRANSACTION_FAULTS", "Fault", "auth_in_clear", "fault_help", "starttls_advertised",
           "starttls_offered"]
