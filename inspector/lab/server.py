"""A small, real SMTP server on loopback, with switchable faults.

The lab server is what ``smtp-inspector demo`` and the test-suite probe. Its
protocol (:mod:`inspector.lab.protocol`) is aiosmtpd's SMTP with the faults of
:mod:`inspector.lab.faults` and the mechanisms of :mod:`inspector.lab.sasl`.
:class:`LabServer` runs its own asyncio loop in a daemon thread and binds its
listening socket itself, so ``port=0`` works (aiosmtpd's ``Controller`` cannot
do that reliably, aiosmtpd issue #388).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import socket
import ssl
import tempfile
import threading
from typing import Self

from inspector.lab.certs import DEFAULT_LAB_HOSTNAME, LabCertificates, make_lab_certificates
from inspector.lab.faults import FAULTS, INJECTED_AFTER_STARTTLS, SLOW_GREETING_SECONDS, starttls_offered
from inspector.lab.faults import auth_in_clear as _auth_in_clear
from inspector.lab.protocol import (
    GREETING_IDENT,
    QUIET_THREADS,
    AlertingSSLProtocol,
    LabHandler,
    LabMessage,
    LabSMTP,
)
from inspector.lab.sasl import (
    ALL_AUTH_MECHANISMS,
    AUTH_MECHANISMS,
    DEMO_PASSWORD,
    DEMO_TOKEN,
    DEMO_USER,
    OAUTH_ERROR,
    authenticate,
)

__all__ = ["ALL_AUTH_MECHANISMS", "DEMO_PASSWORD", "DEMO_TOKEN", "DEMO_USER", "FAULTS",
           "INJECTED_AFTER_STARTTLS", "OAUTH_ERROR", "SLOW_GREETING_SECONDS", "LabMessage", "LabServer"]

log = logging.getLogger(__name__)

_HANDSHAKE_TIMEOUT = 10.0
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0

_server_ids = itertools.count(1)


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

        self._id = next(_server_ids)
        self._state = "new"  # new -> running -> stopped
        self._state_lock = threading.Lock()
        self._tmpdir: str | None = None
        self._paths: tuple[str, str, str] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self.protocols: set[LabSMTP] = set()
        self.closing = False

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

    def record(self, message: LabMessage) -> int:
        self.messages.append(message)
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
                QUIET_THREADS.add(thread_name)
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
            QUIET_THREADS.discard(thread.name)
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
    ) -> LabSMTP:
        starttls_usable = not self.implicit_tls and starttls_offered(self.fault)
        return LabSMTP(
            LabHandler(self),
            lab=self,
            fault=self.fault,
            implicit_tls=self.implicit_tls,
            hostname=self.hostname,
            ident=GREETING_IDENT,
            enable_SMTPUTF8=True,
            tls_context=tls_context if starttls_usable else None,
            # Over implicit TLS the whole session is encrypted, but aiosmtpd
            # only knows about STARTTLS; tell it not to refuse AUTH.
            auth_require_tls=not (self.implicit_tls or _auth_in_clear(self.fault)),
            auth_exclude_mechanism=[
                m for m in ALL_AUTH_MECHANISMS if m not in self.auth_mechanisms
            ],
            authenticator=authenticate,
            timeout=self.timeout,
            loop=loop,
        )

    def _make_connection(self, loop: asyncio.AbstractEventLoop, tls_context: ssl.SSLContext):
        """The protocol of one accepted connection: TLS first for implicit TLS (RFC 8314 §3.3)."""
        smtp = self._make_protocol(loop, tls_context)
        if not self.implicit_tls:
            return smtp
        return AlertingSSLProtocol(loop, smtp, tls_context, None, server_side=True,
                                   ssl_handshake_timeout=_HANDSHAKE_TIMEOUT)

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
                self.closing = True
                _cancel_all_tasks(loop)
                for protocol in list(self.protocols):
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
        server = await loop.create_server(
            lambda: self._make_connection(loop, tls_context), sock=sock
        )
        ready.set()
        try:
            await self._stop_event.wait()
        finally:
            self.closing = True
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
                for protocol in list(self.protocols):
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
