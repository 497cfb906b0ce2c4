"""A loopback TCP server that plays one scripted behaviour per connection (hostile peers).

The script is a function ``script(sock)`` run in a thread for each accepted
connection; it may send, sleep and read as it likes. The server stops at exit
of the ``with`` block and closes every connection it accepted.
"""

from __future__ import annotations

import socket
import threading


class ScriptedServer:
    def __init__(self, script, host: str = "127.0.0.1") -> None:
        self._script = script
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.02)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def stopping(self) -> threading.Event:
        return self._stop

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self._conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self._script(conn, self._stop)
        except OSError:
            pass


def command_lines(conn: socket.socket):
    """Yield each line the client sends, without its CRLF, until it closes."""
    buffer = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        buffer += data
        while b"\r\n" in buffer:
            line, buffer = buffer.split(b"\r\n", 1)
            yield line


class LineReader:
    """Command lines from a socket, keeping what follows the last line (``rest``).

    Unlike :func:`command_lines` it exposes the unread bytes, which a server
    needs in order to misbehave at the STARTTLS boundary (keep or drop them),
    and ``chunks``, what each recv() returned (segment boundaries on loopback).
    """

    def __init__(self, conn) -> None:
        self.conn = conn
        self.rest = b""
        self.chunks: list[bytes] = []

    def next_line(self) -> bytes | None:
        while b"\r\n" not in self.rest:
            data = self.conn.recv(4096)
            if not data:
                return None
            self.chunks.append(data)
            self.rest += data
        line, self.rest = self.rest.split(b"\r\n", 1)
        return line
