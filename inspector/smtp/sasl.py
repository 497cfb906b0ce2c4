"""SASL client mechanisms for SMTP AUTH (RFC 4954), sans I/O.

Theory of operation
-------------------
A mechanism object turns server challenges (already base64-decoded bytes)
into responses (raw bytes; the SMTP layer base64-encodes them, RFC 4954 §4).
``start()`` gives the initial response, or None when the server speaks first
(LOGIN, CRAM-MD5); ``challenge(data)`` answers each 334; ``accepted()`` is
called on 235 and raises when the mechanism could not verify the server
(SCRAM, RFC 5802 §5).

Every response is a :class:`SaslMessage` with a ``shown`` form for the
transcript: the teaching view (``<NUL>alice<NUL>[password]``) in which
nothing derived from a secret survives. ``carries_secret`` tells the caller
that the wire bytes must never be stored either. Secrets live in
:class:`Secret`, whose repr and str never show the value.

:class:`inspector.redaction.Redactor` is the last line of defence: it knows
the secrets (and ``SaslMessage.secret_parts``) in every encoding and scrubs
them from any text or bytes kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

from ..redaction import quoted
from .sasl_base import (  # noqa: F401  (the mechanisms' shared parts, re-exported)
    CHANNEL_BINDING,
    PASSWORD_MECHANISMS,
    REDACTED,
    SUPPORTED_MECHANISMS,
    TLS_EXPORTER_NOTE,
    TOKEN_MECHANISMS,
    Credentials,
    Mechanism,
    SaslError,
    SaslMessage,
    Secret,
    ServerSignatureInvalid,
    needs,
    strongest,
    tls_server_end_point,
    visible,
)


class Plain(Mechanism):
    """RFC 4616 §2: ``[authzid] NUL authcid NUL passwd`` in one initial response."""

    name = "PLAIN"

    def __init__(self, user: str, password: Secret) -> None:
        super().__init__()
        self._user, self._password = user, password

    def _message(self) -> SaslMessage:
        data = b"\0" + self._user.encode() + b"\0" + self._password.reveal().encode()
        return SaslMessage(data, f"<NUL>{self._user}<NUL>[password]", carries_secret=True)

    def start(self) -> SaslMessage:
        return self._message()

    def challenge(self, data: bytes) -> SaslMessage:
        # A server that ignored the initial response asks with an empty 334 (RFC 4954 §4).
        self.rounds += 1
        if data or self.rounds > 1:
            return super().challenge(data)
        return self._message()


class Login(Mechanism):
    """The LOGIN mechanism (draft-murchison-sasl-login): username, then password, each on request."""

    name = "LOGIN"

    def __init__(self, user: str, password: Secret) -> None:
        super().__init__()
        self._user, self._password = user, password

    def challenge(self, data: bytes) -> SaslMessage:
        self.rounds += 1
        if self.rounds == 1:
            return SaslMessage(self._user.encode(), self._user)
        if self.rounds == 2:
            return SaslMessage(self._password.reveal().encode(), "[password]", carries_secret=True)
        return super().challenge(data)


class CramMd5(Mechanism):
    """RFC 2195 §2: ``user SP hex(HMAC-MD5(password, challenge))``.

    The digest is not the password, but it lets anyone who holds it guess the
    password offline, so it is redacted like one.
    """

    name = "CRAM-MD5"

    def __init__(self, user: str, password: Secret) -> None:
        super().__init__()
        self._user, self._password = user, password

    def challenge(self, data: bytes) -> SaslMessage:
        self.rounds += 1
        if self.rounds > 1 or not data:
            return super().challenge(data)
        digest = hmac.new(self._password.reveal().encode(), data, hashlib.md5).hexdigest()
        return SaslMessage(f"{self._user} {digest}".encode(),
                           f"{self._user} [HMAC-MD5 digest, redacted: it allows offline password guessing]",
                           carries_secret=True, secret_parts=(digest.encode(),))


class Scram(Mechanism):
    """SCRAM (RFC 5802, RFC 7677) through scramp, including the server-signature check.

    -PLUS variants bind to the TLS channel with ``tls-server-end-point``
    (RFC 5929 §4.1), computed from the server certificate.
    """

    def __init__(self, name: str, user: str, password: Secret,
                 certificate_der: bytes | None = None) -> None:
        super().__init__()
        from scramp import ScramClient, ScramException

        self.name = name
        binding = None
        if name.endswith("-PLUS"):
            if not certificate_der:
                raise SaslError(f"{name} needs the server certificate for channel binding")
            binding = (CHANNEL_BINDING, tls_server_end_point(certificate_der))
            self.channel_binding = CHANNEL_BINDING
        try:
            self._client = ScramClient([name], user, password.reveal(), channel_binding=binding)
        except ScramException as exc:
            raise SaslError(f"{name}: {_scram_reason(exc)}") from None
        self.server_verified = False

    def start(self) -> SaslMessage:
        first = self._client.get_client_first()
        return SaslMessage(first.encode(), first)

    def challenge(self, data: bytes) -> SaslMessage:
        from scramp import ScramException

        self.rounds += 1
        text = _utf8(data, self.name)
        if self.rounds == 1:
            self._check_iterations(text)
            try:
                self._client.set_server_first(text)
                final = self._client.get_client_final()
            except ScramException as exc:
                raise SaslError(f"{self.name} server-first message rejected: {_scram_reason(exc)}") from None
            without_proof, _, proof = final.rpartition(",p=")
            return SaslMessage(final.encode(), f"{without_proof},p=[client proof, redacted]",
                               carries_secret=True, secret_parts=(proof.encode(), f"p={proof}".encode()))
        if self.rounds == 2:
            if text.startswith("e="):
                raise SaslError(f"{self.name}: the server reported error {quoted(text[2:])} (RFC 5802 §7)")
            try:
                self._client.set_server_final(text)
            except ScramException:
                raise ServerSignatureInvalid(
                    f"{self.name}: the server signature (v=) in {quoted(text)} is wrong; "
                    "the server does not know the password (a possible impostor)") from None
            except (KeyError, ValueError):
                raise ServerSignatureInvalid(f"{self.name}: unreadable server-final message "
                                             f"{quoted(text)}") from None
            self.server_verified = True
            return SaslMessage(b"", "(empty response: server signature verified)")
        return super().challenge(data)

    def _check_iterations(self, server_first: str) -> None:
        """RFC 5802 §5.1: ``i=`` PBKDF2 iterations. Refused before starting when they cannot finish
        in the time left (PBKDF2 cannot be interrupted), or are not an ASCII number."""
        found = re.search(r"(?:^|,)i=([^,]*)", server_first)
        if found is None:
            return
        value = found.group(1)
        if not (value.isascii() and value.isdigit()) or len(value) > 12:
            raise SaslError(f"{self.name}: iteration count {quoted(value, 20)} is not a number "
                            "(RFC 5802 §7)")
        iterations = int(value)
        if self.time_left is None:
            return
        left = self.time_left()
        rate = pbkdf2_rate(self.name)
        if iterations > rate * left * 0.8:
            raise SaslError(f"{self.name}: the server asks for {iterations:,} PBKDF2 iterations "
                            f"(RFC 5802 §5.1); at about {rate:,.0f}/s here that takes "
                            f"{iterations / rate:.1f} s, more than the {max(left, 0):.1f} s left "
                            "before the deadline: refused before starting")

    def accepted(self) -> None:
        if not self.server_verified:
            raise ServerSignatureInvalid(
                f"{self.name}: the server said 235 without sending its signature, so it never "
                "proved that it knows the password (RFC 5802 §5)")


_RATES: dict[str, float] = {}


def pbkdf2_rate(mechanism: str) -> float:
    """PBKDF2-HMAC iterations per second of the mechanism's hash on this machine (measured once)."""
    digest = mechanism.removeprefix("SCRAM-").removesuffix("-PLUS").replace("-", "").lower()
    if digest not in _RATES:
        import time

        started = time.perf_counter()
        hashlib.pbkdf2_hmac(digest, b"probe", b"salt-of-16-bytes", 20000)
        _RATES[digest] = 20000 / max(time.perf_counter() - started, 1e-6)
    return _RATES[digest]


class XOAuth2(Mechanism):
    """Google/Microsoft XOAUTH2: ``user=U ^A auth=Bearer T ^A ^A``.

    On a bad token the server sends a 334 with a base64 JSON error; the
    client answers with an empty line and then gets the final failure.
    """

    name = "XOAUTH2"

    def __init__(self, user: str, token: Secret) -> None:
        super().__init__()
        self._user, self._token = user, token

    def start(self) -> SaslMessage:
        data = f"user={self._user}\x01auth=Bearer {self._token.reveal()}\x01\x01".encode()
        return SaslMessage(data, f"user={self._user}^Aauth=Bearer [token]^A^A", carries_secret=True)

    def challenge(self, data: bytes) -> SaslMessage:
        self.rounds += 1
        if self.rounds > 1:
            return super().challenge(data)
        self.server_error = _utf8(data, self.name)
        return SaslMessage(b"", "(empty response, acknowledging the error)")

    def describe_challenge(self, data: bytes) -> str:
        return describe_json_error(data)


class OAuthBearer(Mechanism):
    """RFC 7628 §3.1: GS2 header ``n,a=USER,`` then ``^Ahost=H^Aport=P^Aauth=Bearer T^A^A``.

    An error arrives as a 334 JSON challenge; the client must answer with a
    single ^A (RFC 7628 §3.2.3) before the server sends the final failure.
    """

    name = "OAUTHBEARER"

    def __init__(self, user: str, token: Secret, host: str, port: int) -> None:
        super().__init__()
        self._user, self._token, self._host, self._port = user, token, host, port

    def start(self) -> SaslMessage:
        authzid = _saslname(self._user)
        head = f"n,a={authzid},\x01host={self._host}\x01port={self._port}\x01"
        data = (head + f"auth=Bearer {self._token.reveal()}\x01\x01").encode()
        return SaslMessage(data, visible(head.encode()) + "auth=Bearer [token]^A^A", carries_secret=True)

    def challenge(self, data: bytes) -> SaslMessage:
        self.rounds += 1
        if self.rounds > 1:
            return super().challenge(data)
        self.server_error = _utf8(data, self.name)
        return SaslMessage(b"\x01", "^A (RFC 7628 §3.2.3: acknowledging the error)")

    def describe_challenge(self, data: bytes) -> str:
        return describe_json_error(data)


def make_mechanism(name: str, credentials: Credentials, *, host: str = "", port: int = 0,
                   certificate_der: bytes | None = None) -> Mechanism:
    """The client object for one mechanism.

    Raises:
        SaslError: unsupported mechanism, missing secret, or no channel binding possible.
    """
    name = name.upper()
    secret = credentials.token if needs(name) == "token" else credentials.password
    if name not in SUPPORTED_MECHANISMS:
        raise SaslError(f"{name} is not supported by smtp-inspector")
    if not secret:
        raise SaslError(f"{name} needs a {needs(name)}")
    user = credentials.user
    if name == "PLAIN":
        return Plain(user, secret)
    if name == "LOGIN":
        return Login(user, secret)
    if name == "CRAM-MD5":
        return CramMd5(user, secret)
    if name == "XOAUTH2":
        return XOAuth2(user, secret)
    if name == "OAUTHBEARER":
        return OAuthBearer(user, secret, host, port)
    return Scram(name, user, secret, certificate_der)


def describe_json_error(data: bytes) -> str:
    """An OAuth error challenge (RFC 7628 §3.2.2) as ``status 401, schemes bearer, ...``."""
    try:
        document = json_loads_bounded(data)
    except ValueError:
        return visible(data)
    if not isinstance(document, dict):
        return visible(data)
    return "error: " + ", ".join(f"{key} {value}" for key, value in document.items())


#: Nesting a JSON document from a server may have (RFC 7628 §3.2.2 errors are flat objects).
MAX_JSON_DEPTH = 32


def json_loads_bounded(data: bytes, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` for untrusted bytes: ValueError (never RecursionError) past ``max_depth``."""
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:          # backslash
                escaped = True
            elif byte == 0x22:          # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):      # [ {
            depth += 1
            if depth > max_depth:
                raise ValueError(f"JSON nested deeper than {max_depth} levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return json.loads(data)


def _saslname(user: str) -> str:
    """RFC 5801 §4: ``,`` and ``=`` in an authzid become ``=2C`` and ``=3D``."""
    return user.replace("=", "=3D").replace(",", "=2C")


def _utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError(f"{name}: challenge is not UTF-8: {quoted(data, 40)}") from None


def _scram_reason(exc: Exception) -> str:
    # scramp's messages never contain the password; keep only the first line.
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# -- redaction -----------------------------------------------------------------

def base64_forms(secret: bytes) -> tuple[bytes, ...]:
    """The base64 characters that depend only on ``secret``, at each of the 3 alignments.

    Wherever ``secret`` sits inside a base64-encoded message, one of these
    strings appears in the encoding (RFC 4648 §4: 3 bytes → 4 characters).
    """
    forms = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret)
        start = -(-8 * offset // 6)                 # first character made of secret bits only
        end = (8 * (offset + len(secret))) // 6     # last character not touched by what follows
        if end > start:
            forms.append(encoded[start:end])
    return tuple(forms)


#: The redactor moved to inspector/redaction.py (one redaction function for every output).
from ..redaction import Redactor  # noqa: E402,F401  (re-exported)
