#!/usr/bin/env python3
"""Wait until each given SMTP port on a loopback host answers with a 220 greeting.

Usage: probe.py HOST TIMEOUT PORT:MODE [PORT:MODE ...]   (MODE is "plain" or "tls")

"tls" means implicit TLS (port 465): the greeting is read after a TLS handshake,
without certificate checks (this only checks that the server is up).
Exit status 0 when every port answered 220 before TIMEOUT seconds, 1 otherwise.
Used by scripts/mail-lab/start; standard library only.
"""
import socket
import ssl
import sys
import time


def greeting(host: str, port: int, mode: str, timeout: float) -> str:
    with socket.create_connection((host, port), timeout=timeout) as raw:
        sock = raw
        if mode == "tls":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(raw, server_hostname="mail.lab.test")
        data = b""
        while b"\n" not in data:
            chunk = sock.recv(1024)
            if not chunk:
                break
            data += chunk
        try:
            sock.sendall(b"QUIT\r\n")
        except OSError:
            pass
        return data.decode("ascii", "replace").strip()


def main() -> int:
    host, timeout = sys.argv[1], float(sys.argv[2])
    pending = {}
    for spec in sys.argv[3:]:
        port, mode = spec.split(":")
        pending[int(port)] = mode
    deadline = time.monotonic() + timeout
    last = {}
    while pending:
        for port, mode in list(pending.items()):
            try:
                line = greeting(host, port, mode,
                                min(3.0, max(0.5, deadline - time.monotonic())))
            except (OSError, ssl.SSLError) as exc:
                last[port] = f"{type(exc).__name__}: {exc}"
                continue
            if line.startswith("220"):
                print(f"mail-lab: {host}:{port} ({mode}) greets: {line}")
                del pending[port]
            else:
                last[port] = f"unexpected greeting {line!r}"
        if not pending:
            break
        if time.monotonic() >= deadline:
            for port, mode in pending.items():
                print(f"mail-lab: {host}:{port} ({mode}) gave no 220 greeting within "
                      f"{timeout:g} s; last result: {last.get(port)}", file=sys.stderr)
            return 1
        time.sleep(0.3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
