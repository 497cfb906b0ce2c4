"""The lab's SMTP protocol: aiosmtpd's :class:`~aiosmtpd.smtp.SMTP` plus the faults of :mod:`.faults`.

Greeting, EHLO and STARTTLS are overridden; raw transport writes are used only
where aiosmtpd cannot express a fault (the split pregreet banner, bytes
injected after the STARTTLS reply). TLS runs through
:class:`AlertingSSLProtocol`, which sends OpenSSL's alert when a handshake
fails (RFC 8446 §6.2), as a real server does, instead of closing silently.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
from asyncio import sslproto
from typing import TYPE_CHECKING, Any, NamedTuple

from aiosmtpd.smtp import SMTP, TLSSetupException, syntax

from inspector.lab.faults import (
    INJECTED_AFTER_STARTTLS,
    SLOW_GREETING_SECONDS,
    auth_in_clear,
    starttls_advertised,
)
from inspector.lab.sasl import LabSaslMechanisms

if TYPE_CHECKING:
    from inspector.lab.server import LabServer

log = logging.getLogger("inspector.lab.server")

GREETING_IDENT = "ESMTP smtp-inspector lab"
STARTTLS_READY = b"220 2.0.0 Ready to start TLS\r\n"


class LabMessage(NamedTuple):
    """One envelope received by the lab server."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes


class AlertingSSLProtocol(sslproto.SSLProtocol):
    """asyncio's server-side TLS layer, but a failed handshake sends its alert before the close.

    asyncio aborts the connection on a handshake error and drops the alert
    OpenSSL wrote (e.g. ``protocol_version`` for an SSLv3 ClientHello,
    ``handshake_failure`` when no offered suite is acceptable). A client then
    cannot tell the refusal from a dropped connection and retries; with the
    alert it has the server's answer on the first try.
    """

    def _on_handshake_complete(self, handshake_exc):
        if handshake_exc is not None:
            try:
                self._process_outgoing()
            except Exception as exc:  # pragma: no cover - the peer is gone already
                log.debug("could not send the TLS alert: %r", exc)
        super()._on_handshake_complete(handshake_exc)


# aiosmtpd is chatty on "mail.log": a quiet lab server's loop thread is silenced.
QUIET_THREADS: set[str] = set()


class _QuietLabThreads(logging.Filter):
    """Drop aiosmtpd records emitted from the loop thread of a quiet lab server."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName not in QUIET_THREADS


_QUIET_FILTER = _QuietLabThreads()
for _name in ("mail.log", "mail.debug"):
    logging.getLogger(_name).addFilter(_QUIET_FILTER)


class LabHandler:
    """aiosmtpd handler: policy hooks (EHLO features, replies, message store)."""

    def __init__(self, lab: LabServer) -> None:
        self.lab = lab

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # 5-argument hook: it must record the client name itself.
        session.host_name = hostname
        return server.lab_ehlo_lines()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        if content is None:  # pragma: no cover - decode_data is off
            content = envelope.content or b""
        number = self.lab.record(
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


def _mask_greeting(line: str) -> str:
    code, _, text = line.partition(" ")
    return f"{code} " + re.sub(r"\S", "*", text)


class LabSMTP(LabSaslMechanisms, SMTP):
    """aiosmtpd's SMTP protocol plus the lab's faults and SASL mechanisms."""

    def __init__(
        self,
        handler: LabHandler,
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
            self.lab.protocols.add(self)
            if self.lab.closing:  # accepted while the server is stopping
                self.lab_close()

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            self.lab.protocols.discard(self)

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
        await super().push(status)

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
            elif starttls_advertised(self.fault):
                features.append("STARTTLS")
        if self.tls_active or auth_in_clear(self.fault):
            mechanisms = [m for m in self.lab.auth_mechanisms
                          if self.tls_active or not m.endswith("-PLUS")]
            features.append("AUTH " + " ".join(mechanisms))
        features += ["ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]
        lines = [f"250-{self.hostname}"] + [f"250-{f}" for f in features]
        lines[-1] = "250 " + lines[-1][4:]
        return lines

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
        # One write: under inject-after-starttls the extra lines share the TCP
        # segment with the 220, like a hostile middlebox would send them.
        await self._write_raw(INJECTED_AFTER_STARTTLS if self.fault == "inject-after-starttls"
                              else STARTTLS_READY)
        await self._start_tls()

    async def _start_tls(self) -> None:
        """aiosmtpd's STARTTLS switch-over (RFC 3207 §4), with :class:`AlertingSSLProtocol`."""
        waiter = self.loop.create_future()
        self._tls_protocol = AlertingSSLProtocol(self.loop, self, self.tls_context, waiter,
                                                 server_side=True)
        self._original_transport = self.transport
        self._original_transport.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(self._original_transport)
        try:
            await waiter
        except asyncio.CancelledError:
            raise
        except Exception as error:
            raise TLSSetupException() from error


