"""AUTH exchanges in a capture: who tried to log in, in clear or not, and the answer (RFC 4954 §4).

Fed the observer's events; reads the user name (never the secret) from the
client's responses, and gives the redacted form of each client line for the
transcript. Secrets never leave this module.
"""

from __future__ import annotations

import base64
import binascii
import re

from ..rules.auth import AuthAttempt
from ..smtp.commands import SaslResponse
from ..smtp.events import AuthChallenge, ClientCommand, CommandReply


class AuthTracker:
    """Follows AUTH exchanges; ``attempts`` holds the finished ones."""

    def __init__(self) -> None:
        self.attempts: list[AuthAttempt] = []
        self._state: dict | None = None
        #: secrets learned from the client's responses (redaction.Redactor), so that a server
        #: echoing one (in any encoding) is redacted from the session's transcript and findings
        self.redactor = None

    def client_line(self, event: ClientCommand, *, in_clear: bool) -> bytes | None:
        """The transcript form of a client line: None to show it as sent, else its redacted form."""
        command = event.command
        if isinstance(command, SaslResponse):
            state = self._state
            if state is None:
                return b"[redacted SASL response]\r\n"
            self._sasl_user(state, command.payload.encode("ascii", "replace"))
            return f"{self._redacted(state)}\r\n".encode()
        if command.verb.upper() != "AUTH":
            return None
        words = command.args
        mechanism = words[0].upper() if words else "?"
        state = {"mechanism": mechanism, "user": None, "responses": 0, "in_clear": in_clear}
        self._state = state
        if len(words) > 1:
            self._sasl_user(state, words[1].encode("ascii", "replace"))
            return f"AUTH {mechanism} {self._redacted(state)}\r\n".encode()
        return None

    def reply(self, event: CommandReply) -> None:
        if self._state is None or event.command.verb.upper() != "AUTH" or isinstance(event, AuthChallenge):
            return
        state, self._state = self._state, None
        self._finish(state, event.reply.code)

    def close(self) -> None:
        if self._state is not None and self._state["responses"]:
            state, self._state = self._state, None
            self._finish(state, None)

    def _finish(self, state: dict, code: int | None) -> None:
        self.attempts.append(AuthAttempt(state["mechanism"], state["user"], state["in_clear"], code,
                                         state["responses"]))

    def _sasl_user(self, state: dict, b64: bytes) -> None:
        """Read the user name, never the secret, from one client response."""
        state["responses"] += 1
        index = state["responses"]
        try:
            decoded = base64.b64decode(b64, validate=True) if b64 != b"=" else b""
        except (binascii.Error, ValueError):
            state["last_was_user"] = False
            return
        mechanism, user = state["mechanism"], None
        if index == 1:
            if mechanism == "PLAIN":
                parts = decoded.split(b"\0")
                if len(parts) == 3:
                    user = parts[1] or parts[0]
            elif mechanism == "LOGIN":
                user = decoded
            elif mechanism == "CRAM-MD5":
                user = decoded.rpartition(b" ")[0]
            elif mechanism.startswith("SCRAM-"):
                match = re.search(rb"(?:^|,)n=([^,]*)", decoded)
                user = match.group(1) if match else None
            elif mechanism in ("XOAUTH2", "OAUTHBEARER"):
                match = re.search(rb"(?:user=|a=)([^\x01,]*)", decoded)
                user = match.group(1) if match else None
        if user:
            state["user"] = user.decode("utf-8", "backslashreplace")
        state["last_was_user"] = user is not None
        self._learn_secret(mechanism, index, b64, decoded)

    def _learn_secret(self, mechanism: str, index: int, b64: bytes, decoded: bytes) -> None:
        """What the client's response carries that is secret, for the session's redactor."""
        from ..redaction import Redactor

        if self.redactor is None:
            self.redactor = Redactor()
        self.redactor.add(b64)
        if mechanism == "PLAIN":
            secrets = decoded.split(b"\0")[2:]
        elif mechanism == "LOGIN":
            secrets = [decoded] if index > 1 else []
        elif mechanism == "CRAM-MD5":
            secrets = [decoded.rpartition(b" ")[2]]
        elif mechanism.startswith("SCRAM-"):
            secrets = re.findall(rb"(?:^|,)p=([^,]*)", decoded)
        else:
            secrets = re.findall(rb"auth=Bearer ([^\x01]*)", decoded)
        for secret in secrets:
            self.redactor.add_secret(secret)

    @staticmethod
    def _redacted(state: dict) -> str:
        if state.get("last_was_user") and state["mechanism"] == "LOGIN":
            return f"[redacted: user name {state['user']!r}]"
        user = f", user {state['user']!r}" if state.get("user") else ""
        return f"[redacted {state['mechanism']} response{user}]"
