"""Record real server bytes as the fuzz seed corpus (run once; needs the mail lab and the lab server).

    python fuzz/capture_corpus.py

Writes fuzz/corpus/smtp-*.bin (greetings and replies exactly as Postfix and the
lab server sent them, plaintext and inside TLS) and fuzz/corpus/tls-*.bin (the
server's first TLS flight for TLS 1.3 and 1.2). Only loopback is contacted.
"""

from __future__ import annotations

import pathlib
import socket
import ssl
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"


def recv_reply(sock) -> bytes:
    data = b""
    while True:
        data += sock.recv(65536)
        lines = data.split(b"\r\n")
        if len(lines) > 1 and lines[-2][3:4] == b" ":
            return data


def server_flight(host: str, port: int, starttls: bool, maximum: ssl.TLSVersion) -> tuple[bytes, bytes]:
    """(plaintext SMTP bytes, the server's raw TLS bytes during the handshake)."""
    smtp = b""
    sock = socket.create_connection((host, port), timeout=5)
    if starttls:
        smtp += recv_reply(sock)
        sock.sendall(b"EHLO corpus.example\r\n")
        smtp += recv_reply(sock)
        sock.sendall(b"STARTTLS\r\n")
        smtp += recv_reply(sock)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.maximum_version = maximum
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="mail.lab.test")
    captured = b""
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            sock.sendall(outgoing.read())
            data = sock.recv(65536)
            captured += data
            incoming.write(data)
    sock.sendall(outgoing.read())
    inside = b""
    for command in (b"EHLO corpus.example\r\n", b"NOOP\r\n", b"MAIL FROM:<>\r\n", b"QUIT\r\n"):
        tls.write(command)
        sock.sendall(outgoing.read())
        while True:
            try:
                chunk = tls.read(65536)
                inside += chunk
                if chunk.split(b"\r\n")[-2][3:4] == b" ":
                    break
            except ssl.SSLWantReadError:
                incoming.write(sock.recv(65536))
    sock.close()
    return smtp + inside, captured


def main() -> None:
    from inspector.lab import LabServer

    CORPUS.mkdir(exist_ok=True)
    targets = [("postfix-587", "127.0.0.1", 587, True), ("postfix-465", "127.0.0.1", 465, False),
               ("postfix-25", "127.0.0.1", 25, True)]
    lab = LabServer(fault="plain-auth-before-tls").start()
    targets.append(("aiosmtpd-lab", lab.host, lab.port, True))
    try:
        for name, host, port, starttls in targets:
            for version, label in ((ssl.TLSVersion.TLSv1_3, "tls13"), (ssl.TLSVersion.TLSv1_2, "tls12")):
                smtp, flight = server_flight(host, port, starttls, version)
                if label == "tls13":
                    (CORPUS / f"smtp-{name}.bin").write_bytes(smtp)
                (CORPUS / f"tls-{name}-{label}.bin").write_bytes(flight)
                print(f"{name} {label}: {len(smtp)} SMTP bytes, {len(flight)} TLS bytes")
    finally:
        lab.stop()


if __name__ == "__main__":
    main()
