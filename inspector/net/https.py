"""HTTPS (and, when allowed, HTTP) GET through the standard library.

The connection goes to an address discover resolved itself (through the
chosen DNS server), while TLS uses the URL's host name for SNI and for the
certificate check (``ssl.create_default_context``: chain and name verified,
RFC 6125 §6). Redirects are never followed (RFC 8461 §3.3 forbids it for
MTA-STS; for autoconfig a redirect is reported, not trusted). The body is
capped and the whole fetch is bounded by the timeout and the deadline.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.parse

from ..frozen import frozen
from ..net.address import host_port
from ..net.transport import os_reason


@frozen
class Fetch:
    url: str
    address: str | None
    status: int | None
    content_type: str | None
    body: bytes | None
    error: str | None
    no_answer: bool = False   #: the error is silence (a timeout or the deadline), not a refusal


def client_context(cafile: str | None) -> ssl.SSLContext:
    """Certificate chain and host name verified; ``cafile`` replaces the system store."""
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def fetch(url: str, address: str, *, timeout: float, deadline_at: float, cafile: str | None,
          max_bytes: int, source_address: str | None = None) -> Fetch:
    """GET ``url`` from ``address`` (connecting from ``source_address``); never raises for network,
    TLS or HTTP trouble."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    path = parts.path + (f"?{parts.query}" if parts.query else "")

    def failed(reason: str, *, silent: bool = False) -> Fetch:
        return Fetch(url, address, None, None, None, reason, silent)

    left = deadline_at - time.monotonic()
    if left <= 0:
        return failed("overall deadline reached before fetching", silent=True)
    step = min(timeout, left)
    try:
        sock = socket.create_connection((address, port), timeout=step,
                                        source_address=(source_address, 0) if source_address else None)
    except TimeoutError:
        return failed(f"connecting to {host_port(address, port)} timed out ({round(step, 1):g} s)",
                      silent=True)
    except OSError as exc:
        return failed(f"cannot connect to {host_port(address, port)}: {os_reason(exc)}")
    try:
        if secure:
            try:
                sock = client_context(cafile).wrap_socket(sock, server_hostname=host)
            except ssl.SSLCertVerificationError as exc:
                return failed(f"certificate of {host} not valid: {exc.verify_message}")
            except TimeoutError:
                return failed(f"no TLS handshake with {host} within {round(step, 1):g} s", silent=True)
            except (ssl.SSLError, OSError) as exc:
                return failed(f"TLS handshake with {host} failed: {_one_line(exc)}")
        connection = http.client.HTTPConnection(host, port, timeout=step)
        connection.sock = sock  # connected (and wrapped) above: HTTP rides on it as is
        try:
            connection.request("GET", path or "/", headers={
                "Host": parts.netloc, "User-Agent": "smtp-inspector discover",
                "Accept": "*/*", "Connection": "close"})
            response = connection.getresponse()
            body = bytearray()
            while len(body) <= max_bytes:
                if time.monotonic() >= deadline_at:
                    return failed("overall deadline reached while reading the body", silent=True)
                chunk = response.read(min(16384, max_bytes + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
        except TimeoutError:
            return failed(f"no HTTP answer from {host} within {round(step, 1):g} s", silent=True)
        except (http.client.HTTPException, OSError) as exc:
            return failed(f"HTTP exchange with {host} failed: {_one_line(exc)}")
        if len(body) > max_bytes:
            return failed(f"body larger than {max_bytes} bytes; refused")
        content_type = response.getheader("Content-Type")
        if response.status != 200:
            where = response.getheader("Location")
            note = f" to {where}" if where and 300 <= response.status < 400 else ""
            return Fetch(url, address, response.status, content_type, bytes(body),
                         f"HTTP {response.status} {response.reason}{note} (redirects are not followed)"
                         if note else f"HTTP {response.status} {response.reason}")
        return Fetch(url, address, 200, content_type, bytes(body), None)
    finally:
        sock.close()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
