"""Middleboxes for the namespace test bed, run on the router: ``python -m tests.bed_proxy --mode MODE``.

Modes (what real middleboxes do, see shared/reference/interference.md §2 A1-A3, §4):

- ``strip``: relays SMTP but removes STARTTLS from EHLO replies (silent capability removal, A3).
- ``mask``: Cisco PIX/ASA ``inspect esmtp`` style: the greeting text becomes asterisks, STARTTLS in
  the EHLO reply becomes ``XXXXXXXA`` and a client's STARTTLS verb is masked to ``XXXXXXXX`` (A1, A2).
- ``tls``: terminates implicit TLS with its own CA and re-encrypts towards the server (T1).

nftables ``redirect`` on the router sends the client's SYN here; the proxy connects to ``--upstream``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import ssl
import tempfile

from inspector.lab.certs import make_lab_certificates

_REPLY_END = re.compile(rb"^\d{3}(?: |\r?\n)")


def rewrite_reply(lines: list[bytes], mode: str, first: bool) -> list[bytes]:
    """Rewrite one complete server reply (its lines, CRLF included)."""
    if mode == "mask" and first:
        code, _, text = lines[0].rstrip(b"\r\n").partition(b" ")
        return [code + b" " + re.sub(rb"\S", b"*", text) + b"\r\n"]
    if not lines[0].startswith(b"250"):
        return lines
    out = []
    for line in lines:
        keyword = line[4:].strip().upper()
        if keyword == b"STARTTLS":
            if mode == "strip":
                continue
            if mode == "mask":
                line = line[:4] + b"XXXXXXXA\r\n"
        out.append(line)
    if out and len(out) < len(lines):  # the last line must end the reply with "250 "
        out = [line[:3] + b"-" + line[4:] for line in out[:-1]] + [out[-1][:3] + b" " + out[-1][4:]]
    return out


async def relay_server_to_client(reader, writer, mode: str) -> None:
    pending: list[bytes] = []
    first = True
    while line := await reader.readline():
        if mode == "tls":
            writer.write(line)
        else:
            pending.append(line)
            if _REPLY_END.match(line) or len(line) < 4:
                for out in rewrite_reply(pending, mode, first):
                    writer.write(out)
                pending, first = [], False
        await writer.drain()
    writer.close()


async def relay_client_to_server(reader, writer, mode: str) -> None:
    while line := await reader.readline():
        if mode == "mask" and line.strip().upper() == b"STARTTLS":
            line = b"XXXXXXXX\r\n"
        writer.write(line)
        await writer.drain()
    writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("strip", "mask", "tls"), required=True)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--hostname", default="proxy.isp.test")
    args = parser.parse_args()
    listen_host, listen_port = args.listen.rsplit(":", 1)
    up_host, up_port = args.upstream.rsplit(":", 1)
    server_tls = client_tls = None
    if args.mode == "tls":
        pki = make_lab_certificates(args.hostname)  # the interceptor's own CA
        _ca, cert, key = pki.write(tempfile.mkdtemp(prefix="smtpi-proxy-"))
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(cert, key)
        client_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_tls.check_hostname = False
        client_tls.verify_mode = ssl.CERT_NONE

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(up_host, int(up_port),
                                                                         ssl=client_tls)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(relay_server_to_client(server_reader, client_writer, args.mode),
                             relay_client_to_server(client_reader, server_writer, args.mode),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, listen_host, int(listen_port), ssl=server_tls)
    print("proxy listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
