"""A light asyncio SMTP responder on many loopback addresses, with planted faults, for scan tests.

Each address plays one behaviour, shaped on a real Postfix 3.7 session
(``220 NAME ESMTP``, EHLO with PIPELINING, STARTTLS, 8BITMIME, ENHANCEDSTATUSCODES;
STARTTLS answered ``220 2.0.0 Ready to start TLS``; QUIT ``221 2.0.0 Bye``):

- ``ok``: that session, certificate from the test CA for ``*.scan.test``;
- ``expired``: the same with an expired certificate;
- ``nostarttls``: EHLO without STARTTLS;
- ``masked``: STARTTLS masked as ``XXXXXXXA`` (Cisco PIX/ASA "smtp fixup");
- ``first421``: ``421 4.7.0 Try again later`` to the first connection, then ``ok``;
- ``busy421``: ``421`` to a connection arriving while another one is open (Postfix's
  smtpd_client_connection_count_limit), else ``ok``;
- ``tarpit``: the greeting 2.2 s late (postscreen's greet pause).

Also an authoritative DNS server (tests/dns_server.py) and an HTTPS server for
MTA-STS policies. Run as a process (``python -m tests.scan_responder CONFIG``),
so a test can start it inside a network namespace. On SIGTERM it writes, per
address, the connections it accepted, the most it saw open at once and
the client addresses they came from (``scan --source-address``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import sys

GREETING_PAUSE = 2.2


class Responder:
    def __init__(self, config: dict) -> None:
        self.faults = config["addresses"]          # address -> behaviour
        self.port = config.get("port", 25)
        self.good = _context(config["cert"], config["key"])
        self.expired = _context(config["expired_cert"], config["key"])
        self.accepted: dict[str, int] = {}
        self.open: dict[str, int] = {}
        self.most_open: dict[str, int] = {}
        self.sent_421: dict[str, int] = {}
        self.peers: dict[str, set[str]] = {}       # address -> the client addresses seen (their source)

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        here = writer.get_extra_info("sockname")[0]
        fault = self.faults.get(here, "ok")
        self.accepted[here] = self.accepted.get(here, 0) + 1
        self.peers.setdefault(here, set()).add(writer.get_extra_info("peername")[0])
        self.open[here] = self.open.get(here, 0) + 1
        self.most_open[here] = max(self.most_open.get(here, 0), self.open[here])
        try:
            await self._play(fault, here, reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self.open[here] -= 1
            writer.close()

    async def _play(self, fault, here, reader, writer) -> None:
        name = f"{here}.scan.test"
        if (fault == "first421" and self.accepted[here] == 1) or (fault == "busy421" and self.open[here] > 1):
            self.sent_421[here] = self.sent_421.get(here, 0) + 1
            writer.write(b"421 4.7.0 " + name.encode() + b" Error: too many connections, try again later\r\n")
            await writer.drain()
            return
        if fault == "tarpit":
            await asyncio.sleep(GREETING_PAUSE)
        writer.write(f"220 {name} ESMTP Postfix\r\n".encode())
        secure = False
        while True:
            line = await asyncio.wait_for(reader.readline(), 30)
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                keywords = ["PIPELINING", "SIZE 10240000"]
                if not secure and fault != "nostarttls":
                    keywords.append("XXXXXXXA" if fault == "masked" else "STARTTLS")
                keywords += ["ENHANCEDSTATUSCODES", "8BITMIME"]
                lines = [name] + keywords
                writer.write("".join(f"250{'-' if i < len(lines) - 1 else ' '}{t}\r\n"
                                     for i, t in enumerate(lines)).encode())
            elif verb == b"STARTTLS" and not secure and fault not in ("nostarttls", "masked"):
                writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                await writer.drain()
                await writer.start_tls(self.expired if fault == "expired" else self.good)
                secure = True
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            elif verb == b"NOOP":
                writer.write(b"250 2.0.0 Ok\r\n")
            else:
                writer.write(b"502 5.5.2 Error: command not recognized\r\n")
            await writer.drain()

    def stats(self) -> dict:
        return {"accepted": self.accepted, "most_open": self.most_open, "sent_421": self.sent_421,
                "peers": {here: sorted(seen) for here, seen in self.peers.items()}}


def _context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def serve(config: dict) -> None:
    responder = Responder(config)
    servers = [await asyncio.start_server(responder.session, address, responder.port, backlog=64)
               for address in config["listen"]]
    servers += [await asyncio.start_server(responder.session, address, 587)   # submission (RFC 6409)
                for address in config.get("listen_587", [])]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: _dump(responder, config["stats"]))
    print(f"ready {config.get('dns_port', 0)}", flush=True)
    await stop.wait()
    for server in servers:
        server.close()
    _dump(responder, config["stats"])


def _dump(responder: Responder, path: str) -> None:
    with open(path + ".new", "w") as handle:
        json.dump(responder.stats(), handle)
    os.replace(path + ".new", path)


def _extras(config: dict):
    """The DNS server and the MTA-STS web server (threads), when the config names them."""
    started = []
    if config.get("dns"):
        from tests.dns_server import DnsTestServer

        dns = config["dns"]
        server = DnsTestServer(dns["zone"], dns["origin"], host=dns["host"]).start()
        started.append(server)
        config["dns_port"] = server.port
    if config.get("https"):
        import http.server
        import threading

        web = config["https"]
        policy = web["body"].encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(policy)))
                self.end_headers()
                self.wfile.write(policy)

            def log_message(self, *args):
                pass

        httpd = http.server.ThreadingHTTPServer((web["host"], 443), Handler)
        httpd.socket = _context(config["cert"], config["key"]).wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
    return started


if __name__ == "__main__":
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # one listener per address
    with open(sys.argv[1]) as handle:
        settings = json.load(handle)
    keep = _extras(settings)
    asyncio.run(serve(settings))
