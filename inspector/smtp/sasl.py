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
from dataclasses import dataclass, field

from ..redaction import quoted

#: Password mechanisms, strongest first: what ``--auth auto`` prefers (RFC 5802, RFC 7677,
#: RFC 5929 channel binding first; CRAM-MD5 before PLAIN/LOGIN because the password
#: itself never crosses the wire, even inside TLS).
PASSWORD_MECHANISMS = (
    "SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1",
    "CRAM-MD5", "PLAIN", "LOGIN",
)
#: Bearer-token mechanisms, strongest first (RFC 7628 is the standard; XOAUTH2 Google's).
TOKEN_MECHANISMS = ("OAUTHBEARER", "XOAUTH2")
SUPPORTED_MECHANISMS = PASSWORD_MECHANISMS + TOKEN_MECHANISMS

#: Channel-binding types (RFC 5056) and whether smtp-inspector can compute them.
CHANNEL_BINDING = "tls-server-end-point"   # RFC 5929 §4: from the server certificate
TLS_EXPORTER_NOTE = ("tls-exporter channel binding (RFC 9266) needs the TLS keying-material "
                     "exporter, which Python's ssl module does not offer; using "
                     "tls-server-end-point (RFC 5929 §4) instead")

REDACTED = "[redacted]"


class Secret:
    """A password or token. ``repr``, ``str`` and ``format`` never show it; ``reveal()`` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class Credentials:
    user: str
    password: Secret | None = field(default=None, repr=False)
    token: Secret | None = field(default=None, repr=False)


class SaslError(Exception):
    """The exchange cannot go on (malformed challenge, server error). Messages hold no secret."""


class ServerSignatureInvalid(SaslError):
    """SCRAM: the server did not prove that it knows the password (RFC 5802 §3, §5)."""


@dataclass(frozen=True)
class SaslMessage:
    data: bytes = field(repr=False)   #: the response, raw (may hold a secret: never store it)
    shown: str                        #: the teaching form, with every secret part redacted
    carries_secret: bool = False      #: True when ``data`` depends on a secret
    #: the parts of ``data`` derived from a secret that a server could echo alone (the CRAM-MD5
    #: digest, the SCRAM proof): redacted in every encoding, like the secret itself
    secret_parts: tuple[bytes, ...] = field(default=(), repr=False)


def needs(mechanism: str) -> str:
    """``"password"`` or ``"token"``: which secret a mechanism uses."""
    return "token" if mechanism.upper() in TOKEN_MECHANISMS else "password"


def strongest(offered, mechanisms) -> str | None:
    """The first of ``mechanisms`` (ordered strongest first) that the server offers."""
    offered = {m.upper() for m in offered}
    return next((m for m in mechanisms if m in offered), None)


def visible(data: bytes) -> str:
    """Bytes as teaching text: NUL and ^A shown by name, other controls escaped."""
    text = data.decode("utf-8", "backslashreplace")
    return text.replace("\x00", "<NUL>").replace("\x01", "^A")


def tls_server_end_point(certificate_der: bytes) -> bytes:
    """RFC 5929 §4.1: hash of the server certificate with its signature's hash
    function; MD5 and SHA-1 are replaced by SHA-256.

    Raises:
        SaslError: the signature algorithm has no single hash (e.g. Ed25519),
            for which RFC 5929 defines no binding.
    """
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(certificate_der)
        algorithm = cert.signature_hash_algorithm
    except Exception as exc:  # malformed or unsupported certificate: say so, never crash
        raise SaslError(f"cannot compute tls-server-end-point: {type(exc).__name__}") from None
    if algorithm is None:
        raise SaslError("tls-server-end-point is undefined for a certificate signed without "
                        "a separate hash (RFC 5929 §4.1)")
    name = algorithm.name.lower()
    if name in ("md5", "sha1"):
        name = "sha256"
    return hashlib.new(name, certificate_der).digest()


class Mechanism:
    """Base class: one authentication exchange; one object per attempt."""

    name = ""

    def __init__(self) -> None:
        #: SCRAM: True once the server signature checked out; None for other mechanisms.
        self.server_verified: bool | None = None
        #: OAuth: the decoded error challenge (JSON text) the server sent, if any.
        self.server_error: str | None = None
        #: Channel binding used (SCRAM-*-PLUS), else None.
        self.channel_binding: str | None = None
        #: ``() -> seconds`` left before the caller's deadline: CPU-bound steps check it first.
        self.time_left = None
        self.rounds = 0

    def start(self) -> SaslMessage | None:
        return None

    def challenge(self, data: bytes) -> SaslMessage:
        raise SaslError(f"{self.name}: unexpected challenge {quoted(visible(data))}")

    def accepted(self) -> None:
        """Called on 235; raises when the server's success cannot be trusted."""

    def describe_challenge(self, data: bytes) -> str:
        return visible(data) if data else "(empty challenge)"


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
