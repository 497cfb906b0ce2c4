"""What every SASL mechanism shares (RFC 4422): secrets, credentials, messages, errors, the base class.

:class:`Secret` holds a password or token whose repr and str never show it;
:class:`SaslMessage` is one client response with its teaching form;
:class:`Mechanism` is the base of the mechanisms in :mod:`inspector.smtp.sasl`.
"""

from __future__ import annotations

import hashlib

from ..frozen import field, frozen
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


@frozen
class Credentials:
    user: str
    password: Secret | None = field(default=None, repr=False)
    token: Secret | None = field(default=None, repr=False)


class SaslError(Exception):
    """The exchange cannot go on (malformed challenge, server error). Messages hold no secret."""


class ServerSignatureInvalid(SaslError):
    """SCRAM: the server did not prove that it knows the password (RFC 5802 §3, §5)."""


@frozen
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
