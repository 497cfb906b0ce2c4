"""A small, real SMTP server on loopback, with switchable faults.

The lab server is what ``smtp-inspector demo`` and the test-suite probe. It is
built on :class:`aiosmtpd.smtp.SMTP` (subclassed: greeting, EHLO, STARTTLS),
runs its own asyncio loop in a daemon thread and binds its listening socket
itself, so ``port=0`` works (aiosmtpd's ``Controller`` cannot do that
reliably, aiosmtpd issue #388).

Faults imitate broken or hostile paths between a client and a server; see
:data:`FAULTS`.  Raw transport writes are used only where aiosmtpd cannot
express a fault (the split pregreet banner, bytes injected after the STARTTLS
reply).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
from typing import Any, NamedTuple, Self

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, auth_mechanism, syntax

from inspector.lab.certs import (
    DEFAULT_LAB_HOSTNAME,
    LabCertificates,
    make_lab_certificates,
)

__all__ = [
    "ALL_AUTH_MECHANISMS",
    "DEMO_PASSWORD",
    "DEMO_TOKEN",
    "DEMO_USER",
    "FAULTS",
    "INJECTED_AFTER_STARTTLS",
    "SLOW_GREETING_SECONDS",
    "TRANSACTION_FAULTS",
    "LabMessage",
    "LabServer",
]

log = logging.getLogger(__name__)

FAULTS: dict[str, str] = {
    "strip-starttls": (
        "STARTTLS is not advertised and the command gets 502 5.5.1 "
        "(a path that removed it silently)"
    ),
    "mask-starttls": (
        "Cisco ASA 'inspect esmtp' imitation: banner masked with '*', STARTTLS "
        "advertised as XXXXXXXA, the command gets 502 5.5.2"
    ),
    "starttls-454": (
        "STARTTLS is advertised but the command gets "
        "454 4.7.0 TLS not available due to temporary reason"
    ),
    "inject-after-starttls": (
        "extra plaintext lines are sent in the same write as the STARTTLS 220 "
        "reply (response injection, cf. CVE-2011-0411); TLS then proceeds"
    ),
    "plain-auth-before-tls": (
        "AUTH PLAIN LOGIN is advertised and accepted before TLS "
        "(credentials can cross the wire in clear text)"
    ),
    "execute-pipelined-starttls": (
        "plaintext command injection (CVE-2011-0411): commands pipelined after "
        "STARTTLS are kept and run inside TLS instead of being discarded"
    ),
    "slow-greeting": (
        "pregreet pattern: a '220-' continuation line at once, "
        "the final '220 ' line only after a delay"
    ),
    "no-starttls-plain-auth": (
        "no STARTTLS at all, but AUTH PLAIN LOGIN is advertised and accepted "
        "in clear text (a client must refuse to send its password)"
    ),
    "scram-bad-signature": (
        "SCRAM answers with a wrong server signature (v=): an impostor that "
        "does not know the password"
    ),
    "pipelining-out-of-order": (
        "the reply to MAIL FROM is held back and sent after the first RCPT's "
        "reply: a pipelined group answered out of order (RFC 2920 §3.1)"
    ),
    "pipelining-missing-reply": (
        "the first RCPT TO gets no reply at all: a pipelined group with a reply missing"
    ),
}

#: Faults that act only inside a mail transaction (``send``); ``probe`` never gets that far.
TRANSACTION_FAULTS = ("pipelining-out-of-order", "pipelining-missing-reply")

DEMO_USER = "demo@lab.test"
DEMO_PASSWORD = "demo-password"
#: The bearer token the lab accepts for XOAUTH2 and OAUTHBEARER.
DEMO_TOKEN = "demo-oauth-token"

#: Delay between the two lines of the greeting under the ``slow-greeting`` fault.
SLOW_GREETING_SECONDS = 2.5

#: The exact bytes written, in one write, as the STARTTLS reply under the
#: ``inject-after-starttls`` fault.
INJECTED_AFTER_STARTTLS = (
    b"220 2.0.0 Ready to start TLS\r\n250-lab.injected\r\n250 AUTH PLAIN LOGIN\r\n"
)

GREETING_IDENT = "ESMTP smtp-inspector lab"
STARTTLS_READY = b"220 2.0.0 Ready to start TLS\r\n"
# What aiosmtpd's own smtp_STARTTLS pushes; we substitute our reply for it.
_AIOSMTPD_STARTTLS_READY = "220 Ready to start TLS"

# The mechanisms aiosmtpd implements itself, in the order we advertise them.
AUTH_MECHANISMS = ("PLAIN", "LOGIN")
#: Every mechanism the lab can serve (pass a selection as ``auth_mechanisms=``):
#: aiosmtpd's PLAIN and LOGIN plus the lab's own CRAM-MD5, SCRAM (scramp's
#: server side; -PLUS with tls-server-end-point, RFC 5929) and OAuth handlers.
ALL_AUTH_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256",
                       "SCRAM-SHA-256-PLUS", "XOAUTH2", "OAUTHBEARER")
#: The error challenge of a rejected bearer token (RFC 7628 §3.2.2).
OAUTH_ERROR = {"status": "401", "schemes": "bearer", "scope": "https://mail.lab.test/"}

_HANDSHAKE_TIMEOUT = 10.0
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0

_server_ids = itertools.count(1)


class LabMessage(NamedTuple):
    """One envelope received by the lab server."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes


# region #### logging: aiosmtpd is chatty on "mail.log" ###########################

_QUIET_THREADS: set[str] = set()


class _QuietLabThreads(logging.Filter):
    """Drop aiosmtpd records emitted from the loop thread of a quiet lab server."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName not in _QUIET_THREADS


_QUIET_FILTER = _QuietLabThreads()
for _name in ("mail.log", "mail.debug"):
    logging.getLogger(_name).addFilter(_QUIET_FILTER)


# endregion
# region #### aiosmtpd handler and protocol ########################################


class _LabHandler:
    """aiosmtpd handler: policy hooks (EHLO features, replies, message store)."""

    def __init__(self, lab: LabServer) -> None:
        self.lab = lab

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # 5-argument hook: it must record the client name itself.
        session.host_name = hostname
        return server.lab_ehlo_lines()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if server.fault == "pipelining-out-of-order":
            server.lab_reply_fault = "hold"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        if server.fault == "pipelining-missing-reply" and len(envelope.rcpt_tos) == 1:
            server.lab_reply_fault = "drop"
        elif server.lab_held_reply is not None:
            server.lab_reply_fault = "release"
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        if content is None:  # pragma: no cover - decode_data is off
            content = envelope.content or b""
        number = self.lab._record(
            LabMessage(envelope.mail_from, list(envelope.rcpt_tos), bytes(content))
        )
        return f"250 2.0.0 OK: queued as LAB{number:06d}"

    async def handle_RSET(self, server, session, envelope):
        return "250 2.0.0 OK"

    async def handle_NOOP(self, server, session, envelope, arg):
        return "250 2.0.0 OK"

    async def handle_QUIT(self, server, session, envelope):
        return "221 2.0.0 Bye"

    async def handle_exception(self, error: Exception) -> str:
        # Replaces aiosmtpd's log.exception(); for TLSSetupException (client
        # gone mid-handshake) the reply is discarded and the connection closed.
        log.debug("lab session exception: %r", error)
        return "451 4.3.0 Error: internal lab server error"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
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


def _mask_greeting(line: str) -> str:
    code, _, text = line.partition(" ")
    return f"{code} " + re.sub(r"\S", "*", text)


class _LabSMTP(SMTP):
    """aiosmtpd's SMTP protocol plus the lab's faults."""

    def __init__(
        self,
        handler: _LabHandler,
        *,
        lab: LabServer,
        fault: str | None,
        implicit_tls: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        # aiosmtpd keeps command_size_limits on the *class* and grows it on
        # every EHLO; give each connection its own copy.
        self.command_size_limits = collections.defaultdict(
            lambda: self.command_size_limit
        )
        self.lab = lab
        self.fault = fault
        self.implicit_tls = implicit_tls
        self._greeted = False
        self._starttls_reply: bytes | None = None
        #: the pipelining faults: "hold" (keep the next reply), "release" (send it after
        #: the next one), "drop" (never send the next one)
        self.lab_reply_fault: str | None = None
        self.lab_held_reply: str | None = None

    # -- state -----------------------------------------------------------------

    @property
    def tls_active(self) -> bool:
        return self.implicit_tls or self._tls_protocol is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        kept = b""
        if (not first and self._original_transport is not None
                and self.fault == "execute-pipelined-starttls"):
            # aiosmtpd discards plaintext read before the handshake (RFC 3207
            # §4.2, its PR #380); this fault keeps it, like the vulnerable servers did.
            kept = bytes(self._reader._buffer)  # type: ignore[attr-defined]
        super().connection_made(transport)
        if kept:
            self._reader._buffer.extend(kept)  # type: ignore[attr-defined]
        if first:
            self.lab._protocols.add(self)
            if self.lab._closing:  # accepted while the server is stopping
                self.lab_close()

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            self.lab._protocols.discard(self)

    def lab_close(self) -> None:
        """Drop the connection at once (used by LabServer.stop())."""
        for transport in (self._original_transport, self.transport):
            if transport is not None:
                try:
                    transport.abort()  # type: ignore[attr-defined]
                except (OSError, RuntimeError) as exc:  # pragma: no cover
                    log.debug("abort failed: %r", exc)

    # -- replies ---------------------------------------------------------------

    async def _write_raw(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def push(self, status) -> None:
        if not self._greeted:
            # The first push() of a session is aiosmtpd's greeting.
            self._greeted = True
            await self._send_greeting(status)
            return
        if self._starttls_reply is not None and status == _AIOSMTPD_STARTTLS_READY:
            reply, self._starttls_reply = self._starttls_reply, None
            # One write: under inject-after-starttls the extra lines share the
            # TCP segment with the 220, like a hostile middlebox would send them.
            await self._write_raw(reply)
            return
        fault, self.lab_reply_fault = self.lab_reply_fault, None
        if fault == "hold":
            self.lab_held_reply = status
            return
        if fault == "drop":
            return
        await super().push(status)
        if fault == "release":
            held, self.lab_held_reply = self.lab_held_reply, None
            await super().push(held)

    async def _send_greeting(self, status: str) -> None:
        if self.fault == "slow-greeting":
            await self._write_raw(
                f"220-{self.hostname} ESMTP lab (pregreet check)\r\n".encode()
            )
            await asyncio.sleep(SLOW_GREETING_SECONDS)
            await super().push(f"220 {self.hostname} ESMTP ready")
        elif self.fault == "mask-starttls":
            await super().push(_mask_greeting(status))
        else:
            await super().push(status)

    def lab_ehlo_lines(self) -> list[str]:
        # Postfix-like order: STARTTLS and AUTH in the middle, so that the
        # STARTTLS line is always a "250-" continuation line.
        features: list[str] = ["PIPELINING"]
        if self.data_size_limit:
            features.append(f"SIZE {self.data_size_limit}")
        if not self.tls_active:
            if self.fault == "mask-starttls":
                features.append("XXXXXXXA")
            elif self.fault not in ("strip-starttls", "no-starttls-plain-auth"):
                features.append("STARTTLS")
        if self.tls_active or self.fault in ("plain-auth-before-tls", "no-starttls-plain-auth"):
            mechanisms = [m for m in self.lab.auth_mechanisms
                          if self.tls_active or not m.endswith("-PLUS")]
            features.append("AUTH " + " ".join(mechanisms))
        features += ["ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]
        lines = [f"250-{self.hostname}"] + [f"250-{f}" for f in features]
        lines[-1] = "250 " + lines[-1][4:]
        return lines

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

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        if arg:
            await self.push("501 5.5.4 Syntax: STARTTLS")
            return
        if self.fault == "strip-starttls":
            await self.push("502 5.5.1 Command not implemented")
            return
        if self.fault == "mask-starttls":
            # The real server only ever saw "XXXXXXXA".
            await self.push("502 5.5.2 Error: command not recognized")
            return
        if self.fault == "starttls-454":
            await self.push("454 4.7.0 TLS not available due to temporary reason")
            return
        if self.tls_active:
            # aiosmtpd itself would start a second handshake inside the first.
            await self.push("554 5.5.1 Error: TLS already active")
            return
        if self.tls_context is None:  # pragma: no cover - defensive
            await self.push("454 4.7.0 TLS not available")
            return
        self._starttls_reply = (
            INJECTED_AFTER_STARTTLS
            if self.fault == "inject-after-starttls"
            else STARTTLS_READY
        )
        await super().smtp_STARTTLS(arg)


# endregion
# region #### LabServer ##############################################################


class LabServer:
    """A real SMTP server on loopback, run in a background thread.

    Use as a context manager or call :meth:`start` / :meth:`stop`::

        with LabServer(fault="strip-starttls") as lab:
            smtplib.SMTP(lab.host, lab.port)

    :param host: address to bind (keep it a loopback address).
    :param port: TCP port; 0 picks a free one (see :attr:`port` after start).
    :param fault: ``None`` or a key of :data:`FAULTS`.
    :param implicit_tls: speak TLS from the first byte (RFC 8314, like 465).
    :param hostname: name in the banner, the EHLO reply and the certificate.
    :param certificates: lab PKI to use; a fresh one is made if omitted.
    :param quiet: drop aiosmtpd's log records ("mail.log") from this server.
    :param timeout: idle timeout of a session, in seconds.
    :param auth_mechanisms: SASL mechanisms to offer (a selection of
        :data:`ALL_AUTH_MECHANISMS`); -PLUS ones only inside TLS.
    :param user: the one account; ``password`` and ``token`` are its secrets.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fault: str | None = None,
        implicit_tls: bool = False,
        hostname: str = DEFAULT_LAB_HOSTNAME,
        certificates: LabCertificates | None = None,
        quiet: bool = True,
        timeout: float = 60.0,
        auth_mechanisms: tuple[str, ...] = AUTH_MECHANISMS,
        user: str = DEMO_USER,
        password: str = DEMO_PASSWORD,
        token: str = DEMO_TOKEN,
    ) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(
                f"unknown lab fault {fault!r}; known faults: {', '.join(FAULTS)}"
            )
        self.host = host
        self.port = port
        self.hostname = hostname
        self.fault = fault
        self.implicit_tls = implicit_tls
        self.quiet = quiet
        self.timeout = timeout
        self.certificates = certificates or make_lab_certificates(hostname)
        if fault == "scram-bad-signature" and auth_mechanisms == AUTH_MECHANISMS:
            auth_mechanisms = ALL_AUTH_MECHANISMS  # the fault needs SCRAM offered
        unknown = [m for m in auth_mechanisms if m not in ALL_AUTH_MECHANISMS]
        if unknown:
            raise ValueError(f"the lab cannot serve {', '.join(unknown)}")
        self.auth_mechanisms = tuple(auth_mechanisms)
        self.user = user
        self.password = password
        self.token = token
        self.messages: list[LabMessage] = []
        #: called as ``on_message(number, message)`` for each message received (``lab`` prints it)
        self.on_message = None

        self._id = next(_server_ids)
        self._state = "new"  # new -> running -> stopped
        self._state_lock = threading.Lock()
        self._tmpdir: str | None = None
        self._paths: tuple[str, str, str] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._protocols: set[_LabSMTP] = set()
        self._closing = False

    # -- public properties ---------------------------------------------------

    @property
    def ca_path(self) -> str:
        """PEM file with the lab CA (exists while the server runs)."""
        return self._require_paths()[0]

    @property
    def cert_path(self) -> str:
        return self._require_paths()[1]

    @property
    def key_path(self) -> str:
        return self._require_paths()[2]

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def running(self) -> bool:
        return self._state == "running"

    def client_context(self, *, check_hostname: bool = True) -> ssl.SSLContext:
        """An SSL client context that trusts only the lab CA."""
        ctx = ssl.create_default_context(cadata=self.certificates.ca_pem.decode())
        ctx.check_hostname = check_hostname
        return ctx

    def _require_paths(self) -> tuple[str, str, str]:
        if self._paths is None:
            raise RuntimeError("LabServer not started: call start() first")
        return self._paths

    def _record(self, message: LabMessage) -> int:
        self.messages.append(message)
        if self.on_message is not None:
            self.on_message(len(self.messages), message)
        return len(self.messages)

    def __repr__(self) -> str:
        return (
            f"<LabServer {self.host}:{self.port} fault={self.fault!r} "
            f"implicit_tls={self.implicit_tls} state={self._state}>"
        )

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Self:
        """Bind, start the loop thread and return once the server is listening.

        Raises :class:`OSError` if the address cannot be bound (e.g. port in use).
        """
        with self._state_lock:
            if self._state != "new":
                raise RuntimeError(f"LabServer cannot be started when {self._state}")
            tmpdir = tempfile.mkdtemp(prefix="smtp-inspector-lab-")
            try:
                paths = self.certificates.write(tmpdir)
                tls_context = self._server_tls_context(paths[1], paths[2])
                sock = self._bind()
            except BaseException:
                shutil.rmtree(tmpdir, ignore_errors=True)
                raise
            self._tmpdir, self._paths = tmpdir, paths
            self.port = sock.getsockname()[1]

            loop = asyncio.new_event_loop()
            ready = threading.Event()
            failure: list[BaseException] = []
            thread_name = f"smtp-inspector-lab-{self._id}"
            if self.quiet:
                _QUIET_THREADS.add(thread_name)
            thread = threading.Thread(
                target=self._run,
                args=(loop, sock, tls_context, ready, failure),
                name=thread_name,
                daemon=True,
            )
            self._loop, self._thread = loop, thread
            thread.start()
            if not ready.wait(_START_TIMEOUT) or failure:
                self._state = "running"  # so that _shutdown() cleans up
                self._shutdown()
                if failure:
                    raise failure[0]
                raise RuntimeError("lab server did not start in time")
            self._state = "running"
            log.debug("lab server listening on %s:%d", self.host, self.port)
            return self

    def stop(self) -> None:
        """Close the server and all sessions, stop the loop, join the thread.

        Safe to call more than once, and before :meth:`start`.
        """
        with self._state_lock:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._state == "stopped":
            return
        was_running = self._state == "running"
        self._state = "stopped"
        loop, thread = self._loop, self._thread
        if was_running and loop is not None and thread is not None:
            stop_event = self._stop_event
            if stop_event is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(stop_event.set)
                except RuntimeError:  # loop already closed
                    pass
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive():  # pragma: no cover - should not happen
                log.warning("lab server thread did not stop within %ss", _STOP_TIMEOUT)
            _QUIET_THREADS.discard(thread.name)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    # -- internals -------------------------------------------------------------

    def _server_tls_context(self, cert_path: str, key_path: str) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert_path, key_path)
        return ctx

    def _bind(self) -> socket.socket:
        infos = socket.getaddrinfo(
            self.host,
            self.port,
            type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE | socket.AI_NUMERICSERV,
        )
        family, type_, proto, _, sockaddr = infos[0]
        sock = socket.socket(family, type_, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(100)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    def _make_protocol(
        self, loop: asyncio.AbstractEventLoop, tls_context: ssl.SSLContext
    ) -> _LabSMTP:
        starttls_usable = not self.implicit_tls and self.fault not in (
            "strip-starttls",
            "mask-starttls",
            "starttls-454",
            "no-starttls-plain-auth",
        )
        return _LabSMTP(
            _LabHandler(self),
            lab=self,
            fault=self.fault,
            implicit_tls=self.implicit_tls,
            hostname=self.hostname,
            ident=GREETING_IDENT,
            enable_SMTPUTF8=True,
            tls_context=tls_context if starttls_usable else None,
            # Over implicit TLS the whole session is encrypted, but aiosmtpd
            # only knows about STARTTLS; tell it not to refuse AUTH.
            auth_require_tls=not (
                self.implicit_tls
                or self.fault in ("plain-auth-before-tls", "no-starttls-plain-auth")
            ),
            auth_exclude_mechanism=[
                m for m in ALL_AUTH_MECHANISMS if m not in self.auth_mechanisms
            ],
            authenticator=_authenticate,
            timeout=self.timeout,
            loop=loop,
        )

    def _run(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        tls_context: ssl.SSLContext,
        ready: threading.Event,
        failure: list[BaseException],
    ) -> None:
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(_loop_exception_handler)
        try:
            loop.run_until_complete(self._serve(loop, sock, tls_context, ready))
        except BaseException as exc:  # reported to start()
            if not ready.is_set():
                failure.append(exc)
                ready.set()
            else:  # pragma: no cover
                log.exception("lab server loop failed")
        finally:
            try:
                self._closing = True
                _cancel_all_tasks(loop)
                for protocol in list(self._protocols):
                    protocol.lab_close()
                loop.run_until_complete(asyncio.sleep(0))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                sock.close()

    async def _serve(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        tls_context: ssl.SSLContext,
        ready: threading.Event,
    ) -> None:
        self._stop_event = asyncio.Event()
        kwargs: dict[str, Any] = {}
        if self.implicit_tls:
            kwargs = {"ssl": tls_context, "ssl_handshake_timeout": _HANDSHAKE_TIMEOUT}
        server = await loop.create_server(
            lambda: self._make_protocol(loop, tls_context), sock=sock, **kwargs
        )
        ready.set()
        try:
            await self._stop_event.wait()
        finally:
            self._closing = True
            # Stop accepting first and let in-flight accepts attach: closing
            # the Server while an accepted socket is still being wrapped trips
            # an assertion in asyncio (Server._attach) and leaks that socket.
            for listening in server.sockets:
                try:
                    loop.remove_reader(listening.fileno())
                except (NotImplementedError, ValueError, OSError):  # pragma: no cover
                    pass
            for _ in range(3):
                await asyncio.sleep(0)
            server.close()
            # Several rounds: connections accepted just before close() only
            # reach connection_made() a few loop iterations later; each round
            # also lets connection_lost() callbacks run.
            for _ in range(5):
                for protocol in list(self._protocols):
                    protocol.lab_close()
                await asyncio.sleep(0)
            try:
                await asyncio.wait_for(server.wait_closed(), 1.0)
            except TimeoutError:  # pragma: no cover
                log.debug("lab server: wait_closed() timed out")


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def _loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    # Peers that vanish mid-handshake or mid-session are normal in a lab that
    # is probed by hostile-path imitations; never print tracebacks for them.
    log.debug("lab loop: %s", context.get("message"), exc_info=context.get("exception"))


# endregion
