"""A small Internet on loopback for ``discover`` tests.

- a dnspython authoritative server (tests/dns_server.py) for the zone ``test.``
  on 127.0.86.1 (random port, UDP+TCP);
- lab SMTP servers (inspector.lab.LabServer) on 127.0.86.x with the real
  ports 465, 587 and 25, each with a certificate for the name it plays;
- HTTPS servers (http.server + ssl) on 127.0.86.x:443 for autoconfig and MTA-STS;
- one CA bundle (every lab CA) given to discover with ``--cafile``.

Addresses stay off 127.0.0.1, where the Postfix mail lab listens on 25/587/465.
"""

from __future__ import annotations

import hashlib
import http.server
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from inspector.lab import LabServer, make_lab_certificates
from tests.dns_server import DnsTestServer

NET = "127.0.86"
DNS_ADDRESS = f"{NET}.1"
SOA = "test. 300 IN SOA ns.test. hostmaster.test. 1 7200 3600 1209600 300\n"


def spki_sha256(cert_pem: bytes) -> str:
    """TLSA 3 1 1 data: SHA-256 of the certificate's SubjectPublicKeyInfo (RFC 6698 §2.1)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


#: A route value that makes the server complete TLS, read the request and never answer
#: (a stuck web server behind a TLS-terminating proxy).
HANG = "hang"


class _HttpsServer:
    def __init__(self, name: str, address: str, routes: dict) -> None:
        self.certificates = make_lab_certificates(name)
        self.routes = routes
        self.address = address
        self.released = threading.Event()

    def start(self, tmpdir) -> _HttpsServer:
        _, cert, key = self.certificates.write(tmpdir / f"https-{self.address}")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        routes, released = self.routes, self.released

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                route = routes.get(self.path.split("?")[0], (404, "text/plain", b"no"))
                if route == HANG:
                    released.wait(60)
                    return
                status, content_type, body = route
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((self.address, 443), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class World:
    def __init__(self, tmp_path) -> None:
        self.tmp_path = tmp_path
        self.records: list[str] = []
        self.smtp: list[LabServer] = []
        self.https: list[_HttpsServer] = []
        self.dns: DnsTestServer | None = None

    def add(self, *lines: str) -> None:
        """Zone lines with absolute names, e.g. ``smtp.example.test. A 127.0.86.5``."""
        self.records += lines

    def lab(self, name: str, address: str, port: int, *, cert_name: str | None = None) -> LabServer:
        server = LabServer(host=address, port=port, hostname=name, implicit_tls=port == 465,
                           certificates=make_lab_certificates(cert_name or name)).start()
        self.smtp.append(server)
        return server

    def web(self, name: str, address: str, routes: dict) -> None:
        self.https.append(_HttpsServer(name, address, routes).start(self.tmp_path))

    def start_dns(self, *, authenticated: bool | set[str] = False,
                  faults: dict[tuple[str, str], str] | None = None) -> None:
        """``faults``: questions answered SERVFAIL/REFUSED/... or dropped (tests/dns_server.py)."""
        zone = SOA + "".join(f"{line}\n" for line in self.records)
        self.dns = DnsTestServer(zone, "test.", host=DNS_ADDRESS, authenticated=authenticated,
                                 faults=faults).start()

    @property
    def cafile(self) -> str:
        path = self.tmp_path / "cas.pem"
        pems = [s.certificates.ca_pem for s in self.smtp] + [h.certificates.ca_pem for h in self.https]
        path.write_bytes(b"".join(pems) or make_lab_certificates().ca_pem)
        return str(path)

    def args(self, *extra: str) -> list[str]:
        if self.dns is None:
            self.start_dns()
        return ["--dns-server", self.dns.address, "--cafile", self.cafile, "--timeout", "2",
                "--deadline", "20", *extra]

    def stop(self) -> None:
        for server in self.smtp:
            server.stop()
        for server in self.https:
            server.stop()
        if self.dns is not None:
            self.dns.stop()
