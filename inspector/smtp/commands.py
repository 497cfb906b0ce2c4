"""Command encoder (RFC 5321 §4.1.1): refuses anything that could smuggle a second command."""

from __future__ import annotations

import base64
import re

from ..errors import LocalProtocolError
from ..frozen import field, frozen

#: RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
COMMAND_LINE_LIMIT = 512
#: RFC 4954 §4: AUTH lines (initial response, continuations) may be up to 12288 octets.
AUTH_LINE_LIMIT = 12288


@frozen
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
        _check_length(self.verb, line)
        return line


def _check_length(verb: str, line: bytes) -> None:
    if verb.upper() == "AUTH":
        if len(line) > AUTH_LINE_LIMIT:
            raise LocalProtocolError(f"AUTH line is {len(line)} octets; RFC 4954 §4 allows 12288")
    elif len(line) > COMMAND_LINE_LIMIT:
        raise LocalProtocolError(f"{verb} line is {len(line)} octets; RFC 5321 §4.5.3.1.4 allows 512")


@frozen
class SaslResponse(Command):
    """A client line inside an AUTH exchange (RFC 4954 §4): base64, empty, or ``*`` to cancel.

    Its verb stays ``AUTH`` so the reply is matched to the exchange it belongs to.
    """

    verb: str = "AUTH"
    payload: str = field(default="", repr=False)

    def encode(self) -> bytes:
        if self.payload != "*" and not _BASE64.fullmatch(self.payload):
            raise LocalProtocolError("an AUTH response must be base64 or '*'")
        line = self.payload.encode("ascii") + b"\r\n"
        _check_length("AUTH", line)
        return line


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


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


@frozen(repr=False)
class AuthCommand(Command):
    """``AUTH MECH [initial-response]``; the initial response may hold a secret, so repr hides it."""

    def __repr__(self) -> str:
        mechanism = self.args[0] if self.args else ""
        extra = ", [initial response]" if len(self.args) > 1 else ""
        return f"AuthCommand({mechanism!r}{extra})"


def auth(mechanism: str, initial_response: bytes | None = None) -> AuthCommand:
    """``AUTH MECH [initial-response]``; an empty initial response is sent as ``=`` (RFC 4954 §4)."""
    if initial_response is None:
        return AuthCommand("AUTH", (mechanism,))
    encoded = base64.b64encode(initial_response).decode("ascii") or "="
    return AuthCommand("AUTH", (mechanism, encoded))


def sasl_response(data: bytes) -> SaslResponse:
    return SaslResponse(payload=base64.b64encode(data).decode("ascii"))


def sasl_cancel() -> SaslResponse:
    """RFC 4954 §4: ``*`` cancels the exchange; the server answers 501."""
    return SaslResponse(payload="*")
