"""Command encoder (RFC 5321 §4.1.1): refuses anything that could smuggle a second command."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LocalProtocolError

#: RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
COMMAND_LINE_LIMIT = 512


@dataclass(frozen=True)
class Command:
    verb: str
    args: tuple[str, ...] = ()

    def encode(self) -> bytes:
        """Wire form ``VERB SP args CRLF``.

        Raises:
            LocalProtocolError: CR, LF or NUL inside the verb or an argument, a
                verb that is not a plain word, or a line over 512 octets.
        """
        if not self.verb.isascii() or not self.verb.replace("-", "").isalnum():
            raise LocalProtocolError(f"not an SMTP verb: {self.verb!r}")
        for arg in self.args:
            if any(ch in arg for ch in "\r\n\0"):
                raise LocalProtocolError(f"CR, LF or NUL inside an argument of {self.verb}: {arg!r}")
        line = " ".join((self.verb, *self.args)).encode("utf-8") + b"\r\n"
        if len(line) > COMMAND_LINE_LIMIT:
            raise LocalProtocolError(
                f"{self.verb} line is {len(line)} octets; RFC 5321 §4.5.3.1.4 allows 512")
        return line


def ehlo(name: str) -> Command:
    return Command("EHLO", (name,))


def helo(name: str) -> Command:
    return Command("HELO", (name,))


def starttls() -> Command:
    return Command("STARTTLS")


def noop() -> Command:
    return Command("NOOP")


def quit_() -> Command:
    return Command("QUIT")
