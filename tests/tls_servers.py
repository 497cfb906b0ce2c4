"""Loopback SMTP servers with a real OpenSSL TLS stack (Python ``ssl``) for the TLS audit tests,
and the reference: ``openssl s_client`` run suite by suite.

:class:`SmtpTlsServer` greets, answers EHLO with STARTTLS, answers STARTTLS with
220 and runs the handshake with the given server context (or does TLS first,
``implicit=True``). With ``max_concurrent`` it answers ``421`` to every
connection beyond that many open ones, like a rate-limiting MTA.
"""

from __future__ import annotations

import concurrent.futures
import re
import socket
import ssl
import subprocess
import threading
import warnings

from tests.scripted_server import ScriptedServer, command_lines

HOSTNAME = "mail.lab.test"


def write_rsa_certificate(directory) -> tuple[str, str]:
    """A self-signed RSA 2048 certificate for HOSTNAME (RSA: the suites most servers run)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = _rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOSTNAME)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = f"{directory}/cert.pem", f"{directory}/key.pem"
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path


_KEYS: list = []


def _rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not _KEYS:
        _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEYS[0]


def server_context(tmp_path, *, ciphers: str | None = None, minimum=None, maximum=None,
                   server_order: bool = True) -> ssl.SSLContext:
    cert, key = write_rsa_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if minimum is not None:
        with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is what is tested
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = minimum
    if maximum is not None:
        context.maximum_version = maximum
    if ciphers is not None:
        context.set_ciphers(ciphers)
    if server_order:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


class SmtpTlsServer:
    def __init__(self, context: ssl.SSLContext, *, implicit: bool = False,
                 max_concurrent: int | None = None) -> None:
        self._context = context
        self._implicit = implicit
        self._max = max_concurrent
        self._server = ScriptedServer(lambda conn, _stop: self._session(conn))
        self.port = self._server.port
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.connections = 0
        self.refused = 0

    def __enter__(self) -> "SmtpTlsServer":
        self._server.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._server.__exit__(*exc)

    def _session(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            over = self._max is not None and self.active >= self._max
            if over:
                self.refused += 1
            else:
                self.active += 1
                self.peak = max(self.peak, self.active)
        conn.settimeout(10)
        try:
            if over:
                conn.sendall(b"421 4.7.0 mail.lab.test Error: too many connections\r\n")
                return
            self._converse(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            conn.close()
            if not over:
                with self._lock:
                    self.active -= 1

    def _converse(self, conn: socket.socket) -> None:
        if self._implicit:
            tls = self._context.wrap_socket(conn, server_side=True)
            tls.sendall(b"220 mail.lab.test ESMTP\r\n")
            tls.recv(1024)
            return
        conn.sendall(b"220 mail.lab.test ESMTP\r\n")
        for line in command_lines(conn):
            verb = line.split(b" ", 1)[0].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-mail.lab.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                tls = self._context.wrap_socket(conn, server_side=True)
                tls.recv(1024)
                return
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:
                conn.sendall(b"502 5.5.2 Error\r\n")


# ---------------------------------------------------------------------- reference


def openssl_suites() -> list[tuple[int, str, str, str]]:
    """(code, IANA name, OpenSSL name, version column) for every suite the installed OpenSSL has."""
    listing = subprocess.run(["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                             capture_output=True, text=True, check=True).stdout
    out = []
    for line in listing.splitlines():
        match = re.match(r"\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+- (\S+)\s+(\S+)", line)
        if match:
            out.append((int(match.group(1) + match.group(2), 16), match.group(3), match.group(4),
                        match.group(5)))
    return out


_FLAGS = {"TLSv1": "-tls1", "TLSv1.1": "-tls1_1", "TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"}


def _s_client_accepts(port: int, version: str, openssl_name: str, starttls: bool, *,
                      any_suite: bool = False) -> bool:
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", HOSTNAME,
               _FLAGS[version], "-brief"]
    if starttls:
        command += ["-starttls", "smtp"]
    if version == "TLSv1.3":
        command += ["-ciphersuites", openssl_name]
    else:
        command += ["-cipher", f"{openssl_name}:@SECLEVEL=0"]
    done = subprocess.run(command, input=b"", capture_output=True, timeout=20)
    text = (done.stdout + done.stderr).decode("utf-8", "replace")
    match = re.search(r"Ciphersuite: (\S+)", text)
    return bool(match) and (any_suite or match.group(1) == openssl_name)


def openssl_accepted(port: int, versions=("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"), *,
                     starttls: bool = True, workers: int = 8) -> dict[str, set[str]]:
    """IANA names ``openssl s_client`` completes a handshake with, one suite per connection.

    A version that refuses a ClientHello offering every suite OpenSSL has accepts
    none of them one by one either, so its per-suite runs are skipped.
    """
    suites = openssl_suites()
    everything = {"TLSv1.3": ":".join(n for _c, _i, n, col in suites if col == "TLSv1.3")}
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        alive = dict(zip(versions, pool.map(
            lambda v: _s_client_accepts(port, v, everything.get(v, "ALL:COMPLEMENTOFALL"), starttls,
                                        any_suite=True), versions), strict=True))
    versions = tuple(v for v in versions if alive[v]) if any(alive.values()) else ()
    jobs = []
    for _code, iana, name, column in suites:
        for version in versions:
            if (version == "TLSv1.3") != (column == "TLSv1.3"):
                continue
            if version in ("TLSv1", "TLSv1.1") and column == "TLSv1.2":
                continue  # defined for TLS 1.2 only (RFC 5246 / RFC 5288)
            jobs.append((version, iana, name))
    accepted: dict[str, set[str]] = {v: set() for v in alive}
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(_s_client_accepts, port, v, name, starttls): (v, iana)
                   for v, iana, name in jobs}
        for future, (version, iana) in futures.items():
            if future.result():
                accepted[version].add(iana)
    return accepted


def openssl_known() -> set[int]:
    return {code for code, *_ in openssl_suites()}


#: Groups the installed OpenSSL can offer, by the names the audit reports.
OPENSSL_GROUPS = {"x25519": "X25519", "x448": "X448", "secp256r1": "P-256", "secp384r1": "P-384",
                  "secp521r1": "P-521", "ffdhe2048": "ffdhe2048", "ffdhe3072": "ffdhe3072",
                  "ffdhe4096": "ffdhe4096", "ffdhe6144": "ffdhe6144", "ffdhe8192": "ffdhe8192"}


def _s_client_group(port: int, version: str, group: str, starttls: bool) -> bool:
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", HOSTNAME,
               _FLAGS[version], "-groups", group, "-brief"]
    if starttls:
        command += ["-starttls", "smtp"]
    if version != "TLSv1.3":
        command += ["-cipher", "ECDHE:@SECLEVEL=0"]
    done = subprocess.run(command, input=b"", capture_output=True, timeout=20)
    return b"Ciphersuite: " in done.stdout + done.stderr


def openssl_groups(port: int, version: str, *, starttls: bool = True) -> set[str]:
    """Groups ``openssl s_client -groups G`` completes a handshake with (EC groups only below TLS 1.3)."""
    names = [n for n in OPENSSL_GROUPS if version == "TLSv1.3" or not n.startswith("ffdhe")]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = pool.map(lambda n: _s_client_group(port, version, OPENSSL_GROUPS[n], starttls), names)
        return {name for name, ok in zip(names, results, strict=True) if ok}
