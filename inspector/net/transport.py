"""One TCP (and TLS) connection with per-step timeouts and an overall deadline.

This is the project's single I/O boundary: every OS and ssl exception is
translated here, in :func:`_translated`, into the types of
:mod:`inspector.errors`. TLS runs over an ``ssl.SSLObject`` with memory BIOs,
so the same loop enforces deadlines during handshakes and reads, and the raw
bytes the server sent during the handshake can be examined (ServerHello key
share, non-TLS bytes after STARTTLS).

Deadlines are absolute ``time.monotonic()`` values. Each call takes ``until``
(the end of the current step); the connection also has ``deadline`` (the end
of the whole command). The earlier of the two bounds every wait, and the error
says which one ran out.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time

from ..errors import (
    ConnectFailed,
    DeadlineExceeded,
    InspectorError,
    PeerClosed,
    StepTimeout,
    TlsError,
    TransportError,
    os_reason,
)
from ..frozen import frozen
from ..redaction import quoted
from ..tls.records import looks_like_tls
from .address import is_ip_address
from .source import bind_source, source_family
from .timeouts import set_receive_timeout, set_send_timeout

_RECV_SIZE = 65536
_FAMILIES = {"IPv4": socket.AF_INET, "IPv6": socket.AF_INET6}
#: How much of the server's handshake bytes we keep for inspection.
_HANDSHAKE_CAPTURE = 256 * 1024



@frozen
class TlsSession:
    """What the handshake negotiated, as the ssl module and the raw records tell it."""

    version: str                  #: "TLSv1.3", "TLSv1.2", ...
    cipher: str                   #: OpenSSL name
    bits: int | None
    group: str | None             #: key exchange group, read from the ServerHello/ServerKeyExchange
    alpn: str | None


@frozen
class TlsFacts:
    session: TlsSession
    chain_der: tuple[bytes, ...]  #: certificates as sent, leaf first


def _translated_oserror(exc: OSError, action: str, connecting: bool) -> TransportError:
    if isinstance(exc, socket.gaierror):
        return ConnectFailed(f"cannot resolve the host name: {os_reason(exc)}")
    if isinstance(exc, ConnectionRefusedError):
        return ConnectFailed("connection refused (the host answered the SYN with a RST)")
    if isinstance(exc, ConnectionResetError):
        return PeerClosed(f"connection reset by the peer (RST) while {action}")
    if isinstance(exc, (BrokenPipeError, ConnectionAbortedError)):
        return PeerClosed(f"connection closed by the peer while {action}")
    return (ConnectFailed if connecting else TransportError)(f"{os_reason(exc)} while {action}")


class Connection:
    """One connected socket, optionally switched to TLS; ``close()`` releases it."""

    def __init__(self, sock: socket.socket, *, deadline: float) -> None:
        self._sock = sock
        self.deadline = deadline
        self._tls: ssl.SSLObject | None = None
        self._incoming: ssl.MemoryBIO | None = None
        self._outgoing: ssl.MemoryBIO | None = None
        self.local_address = sock.getsockname()
        self.peer_address = sock.getpeername()

    # -- opening ---------------------------------------------------------
    @classmethod
    def open(cls, host: str, port: int, *, until: float, deadline: float,
             source_address: str | None = None) -> "Connection":
        """TCP connect within the step timeout and the deadline.

        ``source_address``: bind to this local address before connecting (port chosen by the
        OS), so the server sees the address the operator chose; only the target's addresses
        of the same family are tried.

        Raises:
            ConnectFailed, StepTimeout, DeadlineExceeded
        """
        with _translated("resolving the host name", until, deadline, connecting=True):
            addresses = _resolve(host, port, until, deadline)
        if source_address is not None:
            addresses = [a for a in addresses if a[0] == _FAMILIES[source_family(source_address)]]
            if not addresses:
                raise ConnectFailed(f"{host} has no {source_family(source_address)} address to reach from "
                                    f"source address {source_address}")
        last_error: InspectorError = ConnectFailed(f"no address found for {host}")
        for family, kind, proto, _name, address in addresses:
            sock = socket.socket(family, kind, proto)
            try:
                with _translated("connecting", until, deadline, connecting=True):
                    if source_address is not None:
                        bind_source(sock, source_address)
                    sock.settimeout(_remaining(until, deadline))
                    sock.connect(address)
            except (StepTimeout, DeadlineExceeded):
                sock.close()
                raise  # the step's time is spent: trying the next address would overrun it
            except InspectorError as exc:
                sock.close()
                last_error = exc  # refused or unreachable: try the next address
                continue
            try:
                with _translated("connecting", until, deadline, connecting=True):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sock.settimeout(None)   # blocking from here on: each wait is the kernel's (_recv_some)
                    return cls(sock, deadline=deadline)
            except InspectorError:  # reset between connect() and getpeername()
                sock.close()
                raise
        raise last_error

    @property
    def secure(self) -> bool:
        return self._tls is not None

    @property
    def tls_session(self) -> tuple[ssl.SSLSession | None, bool]:
        """The TLS session (to resume later) and whether this handshake resumed one."""
        if self._tls is None:
            return None, False
        return self._tls.session, self._tls.session_reused

    # -- plain or TLS data -------------------------------------------------
    def send(self, data: bytes, *, until: float) -> None:
        with _translated("sending", until, self.deadline):
            if self._tls is None:
                self._send_all(data, until)
            else:
                self._tls.write(data)
                self._flush(until)

    def recv(self, *, until: float) -> bytes:
        """Up to 64 KiB of application data; ``b""`` when the peer closed."""
        with _translated("receiving", until, self.deadline):
            if self._tls is None:
                return self._recv_some(until)
            while True:
                try:
                    return self._tls.read(_RECV_SIZE)
                except ssl.SSLWantReadError:
                    self._flush(until)
                    if not self._fill(until):
                        self._incoming.write_eof()
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return b""

    def recv_nowait(self) -> bytes:
        """Plaintext bytes already waiting in the socket, without blocking (b"" if none)."""
        if self._tls is not None:
            return b""
        with _translated("peeking", float("inf"), float("inf")):
            try:
                return self._sock.recv(_RECV_SIZE, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return b""

    # -- TLS ---------------------------------------------------------------
    def start_tls(self, context: ssl.SSLContext, server_hostname: str | None, *,
                  until: float, session: ssl.SSLSession | None = None) -> TlsFacts:
        """Run the TLS handshake over this connection (STARTTLS or implicit TLS).

        ``session``: a session of an earlier handshake with the same context, to resume.

        Raises:
            TlsError: the handshake failed; ``non_tls_prefix`` is set on it when
                the server answered with bytes that are not TLS records.
            PeerClosed, StepTimeout, DeadlineExceeded
        """
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        sni = server_hostname if server_hostname and not is_ip_address(server_hostname) else None
        try:
            # An ASCII name goes in as bytes: ssl would run it through the idna codec,
            # whose import (unicodedata, stringprep) costs more than the handshake on loopback.
            name = sni.encode("ascii") if sni is not None and sni.isascii() else sni
            tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=name, session=session)
        except (ValueError, UnicodeError) as exc:
            raise TlsError(f"cannot use {sni!r} as the TLS server name: {exc}") from None
        captured = bytearray()
        try:
            with _translated("in the TLS handshake", until, self.deadline):
                while True:
                    try:
                        tls.do_handshake()
                        break
                    except ssl.SSLWantReadError:
                        self._flush(until)
                        data = self._fill(until, capture=captured)
                        if not data:
                            raise PeerClosed(
                                "the server closed the connection during the TLS handshake") from None
                self._flush(until)
        except InspectorError as exc:
            if captured and not looks_like_tls(bytes(captured)):
                raise TlsError(
                    f"the server answered the ClientHello with non-TLS bytes: {quoted(bytes(captured))}",
                    non_tls_prefix=bytes(captured[:512])) from exc
            raise
        self._tls = tls
        from ..tls.handshake_facts import read_handshake_facts  # at the first handshake, not at start-up

        facts = read_handshake_facts(bytes(captured))
        chain = _peer_chain(tls)
        name, _protocol, bits = tls.cipher() or ("", "", None)
        session = TlsSession(version=tls.version() or "unknown", cipher=name, bits=bits,
                             group=facts.group, alpn=tls.selected_alpn_protocol())
        return TlsFacts(session=session, chain_der=chain)

    def send_close_notify(self, *, until: float) -> None:
        """Send our TLS close_notify alert (RFC 8446 §6.1) without waiting for the server's.

        OpenSSL servers forget a session whose connection ended without one,
        so a session to be resumed later must be closed this way.
        """
        if self._tls is None:
            return
        with contextlib.suppress(ssl.SSLError, ValueError), _translated("closing TLS", until, self.deadline):
            try:
                self._tls.unwrap()
            except ssl.SSLWantReadError:
                pass
            self._flush(until)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    # -- internals: a blocking socket, each wait bounded by the kernel (timeouts.py) ----------
    def _recv_some(self, until: float) -> bytes:
        set_receive_timeout(self._sock, _remaining(until, self.deadline))
        try:
            return self._sock.recv(_RECV_SIZE)
        except BlockingIOError:
            raise TimeoutError("no data in time") from None

    def _send_all(self, data: bytes, until: float) -> None:
        view = memoryview(data)
        while view:
            set_send_timeout(self._sock, _remaining(until, self.deadline))
            try:
                view = view[self._sock.send(view):]
            except BlockingIOError:
                raise TimeoutError("the peer took no data in time") from None

    def _flush(self, until: float) -> None:
        data = self._outgoing.read()
        if data:
            self._send_all(data, until)

    def _fill(self, until: float, capture: bytearray | None = None) -> bytes:
        data = self._recv_some(until)
        if data:
            self._incoming.write(data)
            if capture is not None and len(capture) < _HANDSHAKE_CAPTURE:
                capture += data
        return data


#: Host name -> the addresses it resolved to, pinned by :func:`resolve_once` for this process.
_PINNED: dict[str, tuple[str, ...]] = {}


def resolve_once(host: str, timeout: float) -> tuple[str, ...]:
    """Resolve ``host`` once, up front, and pin the answer: later connections reuse it.

    A command resolves its target before its first connection, so a name that
    does not resolve is one fact, found once (not once per connection of a
    TLS audit) and reported at once. Names under ``.invalid`` never resolve
    and are answered here without asking DNS (RFC 6761 §6.4).

    Raises:
        ConnectFailed: the name does not resolve, or DNS gave no answer in time.
    """
    if is_ip_address(host):
        return (host,)
    if host.rstrip(".").lower().rpartition(".")[2] == "invalid":
        raise ConnectFailed(f"cannot resolve {host}: names under .invalid never resolve (RFC 6761 §6.4)")
    until = time.monotonic() + timeout
    try:
        infos = _resolve(host, None, until, until)
    except socket.gaierror as exc:
        raise ConnectFailed(f"cannot resolve {host}: {os_reason(exc)}") from None
    except (TimeoutError, StepTimeout, DeadlineExceeded):
        raise ConnectFailed(f"cannot resolve {host}: no answer from DNS within {timeout:g} s") from None
    except OSError as exc:
        raise ConnectFailed(f"cannot resolve {host}: {os_reason(exc)}") from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise ConnectFailed(f"cannot resolve {host}: no address")
    _PINNED[host] = addresses
    return addresses


def _resolve(host: str, port: int | None, until: float, deadline: float) -> list:
    """getaddrinfo bounded by the step and the deadline (it has no timeout of its own).

    The lookup runs in a daemon thread; if it outlives the time left, the
    thread is abandoned and the step times out. A name pinned by
    :func:`resolve_once` is not looked up again.
    """
    if is_ip_address(host):
        if port is not None and ":" not in host:   # what getaddrinfo answers, without a release of the GIL
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]
        # As bytes: a str host goes through the idna codec, an import that costs milliseconds.
        return socket.getaddrinfo(host.encode("ascii"), port, type=socket.SOCK_STREAM)
    if host in _PINNED:
        return [info for address in _PINNED[host]
                for info in socket.getaddrinfo(address.encode("ascii"), port, type=socket.SOCK_STREAM,
                                               flags=socket.AI_NUMERICHOST)]
    outcome: dict = {}

    def lookup() -> None:
        try:
            outcome["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            outcome["error"] = exc
        except UnicodeError as exc:  # the idna codec refuses the name
            outcome["error"] = ConnectFailed(f"{host!r} is not a valid host name: {exc}")

    thread = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(_remaining(until, deadline))
    if thread.is_alive():
        raise TimeoutError(f"resolving {host} did not finish in time")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addresses"]


def _peer_chain(tls: ssl.SSLObject) -> tuple[bytes, ...]:
    """The certificates as the server sent them, leaf first.

    Python 3.13 made ``get_unverified_chain`` public; 3.11 and 3.12 have it on
    the private ``_sslobj``. Fall back to the leaf alone.
    """
    getter = getattr(tls, "get_unverified_chain", None) or getattr(
        getattr(tls, "_sslobj", None), "get_unverified_chain", None)
    if getter is not None:
        try:
            chain = getter() or []
            return tuple(_as_der(cert) for cert in chain)
        except (ValueError, ssl.SSLError, AttributeError):
            pass
    leaf = tls.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def _as_der(cert) -> bytes:
    if isinstance(cert, bytes):
        return cert
    return cert.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]


def _remaining(until: float, deadline: float) -> float:
    now = time.monotonic()
    if deadline <= now:
        raise DeadlineExceeded("the overall deadline passed")
    if until <= now:
        raise StepTimeout("no answer within the step timeout")
    return min(until, deadline) - now


@contextlib.contextmanager
def _translated(action: str, until: float, deadline: float, *, connecting: bool = False):
    """The one place where OS and ssl errors become the project's errors."""
    try:
        yield
    except InspectorError:
        raise
    except (TimeoutError, socket.timeout):
        if deadline <= until or deadline <= time.monotonic():
            raise DeadlineExceeded(f"the overall deadline passed while {action}") from None
        raise StepTimeout(f"no answer within the step timeout while {action}") from None
    except ssl.SSLError as exc:
        reason = exc.reason or exc.strerror or str(exc)
        raise TlsError(f"TLS error while {action}: {reason}") from None
    except OSError as exc:
        raise _translated_oserror(exc, action, connecting) from None
