"""The lab's accounts and the SASL mechanisms aiosmtpd lacks (RFC 4954; CRAM-MD5, SCRAM, OAuth).

aiosmtpd implements PLAIN and LOGIN itself (checked by :func:`authenticate`);
:class:`LabSaslMechanisms` adds CRAM-MD5 (RFC 2195), SCRAM-SHA-* and
SCRAM-SHA-256-PLUS with tls-server-end-point channel binding (RFC 5802,
RFC 7677, RFC 5929; scramp's server side), XOAUTH2 and OAUTHBEARER (RFC 7628).
aiosmtpd finds the ``auth_*`` methods by name on the protocol class.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword, auth_mechanism

DEMO_USER = "demo@lab.test"
DEMO_PASSWORD = "demo-password"
#: The bearer token the lab accepts for XOAUTH2 and OAUTHBEARER.
DEMO_TOKEN = "demo-oauth-token"

# The mechanisms aiosmtpd implements itself, in the order we advertise them.
AUTH_MECHANISMS = ("PLAIN", "LOGIN")
#: Every mechanism the lab can serve (pass a selection as ``auth_mechanisms=``):
#: aiosmtpd's PLAIN and LOGIN plus the lab's own CRAM-MD5, SCRAM (scramp's
#: server side; -PLUS with tls-server-end-point, RFC 5929) and OAuth handlers.
ALL_AUTH_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256",
                       "SCRAM-SHA-256-PLUS", "XOAUTH2", "OAUTHBEARER")
#: The error challenge of a rejected bearer token (RFC 7628 §3.2.2).
OAUTH_ERROR = {"status": "401", "schemes": "bearer", "scope": "https://mail.lab.test/"}


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    lab = server.lab
    if (
        isinstance(auth_data, LoginPassword)
        and hmac.compare_digest(auth_data.login, lab.user.encode())
        and hmac.compare_digest(auth_data.password, lab.password.encode())
    ):
        return AuthResult(success=True, auth_data=auth_data)
    # handled=False and no message: aiosmtpd answers
    # "535 5.7.8 Authentication credentials invalid".
    return AuthResult(success=False, handled=False)



class LabSaslMechanisms:
    """Mixin for the lab's SMTP protocol: the mechanisms beyond PLAIN and LOGIN.

    Needs ``self.lab`` (the LabServer: user, password, token, certificates),
    ``self.hostname``, ``self.fault``, ``self.tls_active`` and aiosmtpd's
    ``push`` and ``challenge_auth``.
    """

    # -- extra SASL mechanisms (aiosmtpd finds auth_* methods by name) --------

    async def _initial_or_challenge(self, args: list[str], challenge: bytes = b""):
        """The initial response (RFC 4954 §4, "=" means empty) or the answer to a 334."""
        if len(args) > 1:
            if args[1] == "=":
                return b""
            try:
                return base64.b64decode(args[1], validate=True)
            except ValueError:
                await self.push("501 5.5.2 Can't decode base64")
                return MISSING
        return await self.challenge_auth(challenge)

    @auth_mechanism("CRAM-MD5")
    async def auth_CRAM_MD5(self, _, args: list[str]) -> AuthResult:
        challenge = f"<{secrets.randbelow(10**9)}.{int(time.time())}@{self.hostname}>".encode()
        answer = await self.challenge_auth(challenge)
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        user, _, digest = answer.decode("utf-8", "replace").rpartition(" ")
        expected = hmac.new(self.lab.password.encode(), challenge, hashlib.md5).hexdigest()
        ok = hmac.compare_digest(user, self.lab.user) and hmac.compare_digest(digest, expected)
        return AuthResult(success=ok, handled=False)

    async def _oauth(self, args: list[str], mechanism: str) -> AuthResult:
        blob = await self._initial_or_challenge(args)
        if blob is MISSING:
            return AuthResult(success=False, handled=True)
        fields = blob.split(b"\x01")
        user = token = None
        head = fields[0]
        if mechanism == "OAUTHBEARER":  # RFC 7628 §3.1: "n,a=USER," GS2 header first
            for part in head.split(b","):
                if part.startswith(b"a="):
                    user = part[2:].replace(b"=2C", b",").replace(b"=3D", b"=")
        for part in fields:
            if part.startswith(b"user="):
                user = part[5:]
            elif part.lower().startswith(b"auth=bearer "):
                token = part[12:]
        if user == self.lab.user.encode() and token is not None and hmac.compare_digest(
                token, self.lab.token.encode()):
            return AuthResult(success=True, auth_data=user)
        # RFC 7628 §3.2.2: a JSON error as a 334 challenge, the client's ^A (or,
        # for XOAUTH2, an empty line), then the final failure.
        await self.challenge_auth(json.dumps(OAUTH_ERROR).encode())
        await self.push("535 5.7.8 Username and token not accepted")
        return AuthResult(success=False, handled=True)

    @auth_mechanism("XOAUTH2")
    async def auth_XOAUTH2(self, _, args: list[str]) -> AuthResult:
        return await self._oauth(args, "XOAUTH2")

    @auth_mechanism("OAUTHBEARER")
    async def auth_OAUTHBEARER(self, _, args: list[str]) -> AuthResult:
        return await self._oauth(args, "OAUTHBEARER")

    async def _scram(self, args: list[str], name: str) -> AuthResult:
        from scramp import ScramException, ScramMechanism

        lab = self.lab
        mechanism = ScramMechanism(name)
        info = mechanism.make_auth_info(lab.password, iteration_count=4096)

        def lookup(username: str):
            if username != lab.user:
                raise ScramException("unknown user")
            return info

        binding = None
        if name.endswith("-PLUS"):
            binding = ("tls-server-end-point", lab.certificates.cert_pem.decode("ascii"))
        server = mechanism.make_server(lookup, channel_binding=binding)
        first = await self._initial_or_challenge(args)
        if first is MISSING:
            return AuthResult(success=False, handled=True)
        try:
            server.set_client_first(first.decode("utf-8"))
            final = await self.challenge_auth(server.get_server_first().encode())
            if final is MISSING:
                return AuthResult(success=False, handled=True)
            server.set_client_final(final.decode("utf-8"))
        except (ScramException, UnicodeDecodeError):
            return AuthResult(success=False, handled=False)  # 535 5.7.8
        server_final = server.get_server_final()
        if self.fault == "scram-bad-signature":
            server_final = "v=" + base64.b64encode(secrets.token_bytes(32)).decode()
        answer = await self.challenge_auth(server_final.encode())
        if answer is MISSING:  # the client cancelled with "*": aiosmtpd sent 501
            return AuthResult(success=False, handled=True)
        return AuthResult(success=True, auth_data=lab.user)

    @auth_mechanism("SCRAM-SHA-1")
    async def auth_SCRAM_SHA_1(self, _, args: list[str]) -> AuthResult:
        return await self._scram(args, "SCRAM-SHA-1")

    @auth_mechanism("SCRAM-SHA-256")
    async def auth_SCRAM_SHA_256(self, _, args: list[str]) -> AuthResult:
        return await self._scram(args, "SCRAM-SHA-256")

    @auth_mechanism("SCRAM-SHA-256-PLUS")
    async def auth_SCRAM_SHA_256_PLUS(self, _, args: list[str]) -> AuthResult:
        if not self.tls_active:
            await self.push("538 5.7.11 Encryption required for requested authentication mechanism")
            return AuthResult(success=False, handled=True)
        return await self._scram(args, "SCRAM-SHA-256-PLUS")

