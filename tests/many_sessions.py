"""Captures with many SMTP sessions (for the replay memory bounds): written with the project's
CaptureWriter, the shape of a Postfix submission dialog (greeting, EHLO, QUIT)."""

from __future__ import annotations

import pathlib

from inspector.replay.writer import CaptureWriter, TcpConversation

GREETING = b"220 mx.example ESMTP Postfix\r\n"
EHLO_REPLY = b"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n"


def write_sessions(path: pathlib.Path, count: int, *, closed: bool) -> pathlib.Path:
    """``count`` sessions from distinct client ports/addresses; each ends with FIN when ``closed``,
    else stays open (no FIN, no RST, all within one idle timeout)."""
    checksums = False
    with open(path, "wb") as stream:
        writer = CaptureWriter(stream)
        ts = 1_700_000_000.0
        for index in range(count):
            client = (f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255 or 1}", 40000 + index % 20000)
            conv = TcpConversation(writer.write, client, ("192.0.2.25", 25), checksums=checksums)
            ts = conv.handshake(ts)
            ts = conv.send(ts, False, GREETING, ack=False)
            ts = conv.send(ts, True, b"EHLO client.example\r\n", ack=False)
            ts = conv.send(ts, False, EHLO_REPLY, ack=False)
            if closed:
                ts = conv.send(ts, True, b"QUIT\r\n", ack=False)
                ts = conv.send(ts, False, b"221 2.0.0 Bye\r\n", ack=False)
                ts = conv.close(ts)
            ts += 0.0001
    return path


if __name__ == "__main__":
    import sys

    write_sessions(pathlib.Path(sys.argv[1]), int(sys.argv[2]), closed=sys.argv[3] == "closed")
