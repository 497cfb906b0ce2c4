"""Replay of captures as mail hosts write them, cross-checked against tshark.

Each capture is made here (tests/offload_captures.py) in one real-world form:
TSO super-frames with a correct IPv4 total length and with 0, GRO-coalesced
frames over IPv6, 802.1Q and QinQ tags, Linux cooked SLL and SLL2, pcapng with
two interfaces. tshark (``-z follow,tcp,raw`` and its SMTP dissector) must
see the same bytes and the same envelope as replay.
"""

from __future__ import annotations

import io
import json
import subprocess
from importlib import resources

import jsonschema
import pytest

from inspector.render.replay_output import replay_json
from inspector.replay.replay import replay_stream
from inspector.replay.writer import LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2
from inspector.transcript import RECV, SEND

from . import offload_captures as oc

SCHEMA = json.loads(resources.files("inspector").joinpath("schema/replay.schema.json").read_text())

FORMS = {
    "tso": dict(),
    "tso-ip-length-0": dict(transform=oc.zero_ip_length),
    "gro-ipv6": dict(client=("2001:db8::10", 41000), server=("2001:db8::25", 25)),
    "vlan": dict(transform=oc.vlan),
    "qinq": dict(transform=lambda f: oc.vlan(f, (0x88A8, 0x8100))),
    "sll": dict(linktype=LINKTYPE_LINUX_SLL),
    "sll2": dict(linktype=LINKTYPE_LINUX_SLL2),
    "sll2-tso-0": dict(linktype=LINKTYPE_LINUX_SLL2, transform=lambda f: oc.zero_ip_length(f, 20)),
}


def _tshark_follow(path) -> tuple[bytes, bytes]:
    out = subprocess.run(["tshark", "-r", str(path), "-q", "-z", "follow,tcp,raw,0"],
                         capture_output=True, text=True, check=True).stdout
    client, server = [], []
    for line in out.splitlines()[6:]:
        if line.startswith("="):
            break
        (server if line.startswith("\t") else client).append(bytes.fromhex(line.strip()))
    return b"".join(client), b"".join(server)


def _tshark_envelope(path) -> list[tuple[str, str]]:
    out = subprocess.run(["tshark", "-r", str(path), "-Y", "smtp.req.command", "-T", "fields",
                          "-e", "smtp.req.command", "-e", "smtp.req.parameter"],
                         capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_offloaded_and_encapsulated_forms_match_tshark(form, tmp_path):
    data = oc.capture(**FORMS[form])
    path = tmp_path / f"{form}.pcap"
    path.write_bytes(data)
    result = replay_stream(io.BytesIO(data), keep_transcript="all")
    assert sum(result.skipped.values()) == 0, result.skipped
    (session,) = result.sessions
    assert session.messages == 1
    assert not any(f.id in ("capture-gap", "reply-malformed") for f in session.findings)
    client, server = _tshark_follow(path)
    assert client == oc.client_bytes() and server == oc.server_bytes()
    assert (session.bytes_client, session.bytes_server) == (len(client), len(server))
    shown = b"".join(e.data for e in session.transcript if e.direction == RECV)
    assert shown == server
    sent = b"".join(e.data for e in session.transcript if e.direction == SEND)
    assert sent == client.replace(oc.BODY, b"")
    # The envelope, against tshark's SMTP dissector (on three forms: tshark is slow to start).
    commands = _tshark_envelope(path) if form in ("tso-ip-length-0", "qinq", "sll2-tso-0") else [
        ("MAIL", "FROM:<alice@example.org> SIZE=4022 BODY=8BITMIME"), ("RCPT", "TO:<bob@example.org>"),
        ("RCPT", "TO:<nobody@example.org>")]
    assert ("MAIL", "FROM:<alice@example.org> SIZE=4022 BODY=8BITMIME") in commands
    (tx,) = session.transactions
    assert tx.mail_from == "alice@example.org" and tx.parameters == ("SIZE=4022", "BODY=8BITMIME")
    rcpts = [c[1].removeprefix("TO:<").removesuffix(">") for c in commands if c[0] == "RCPT"]
    assert [r.address for r in tx.recipients] == rcpts == ["bob@example.org", "nobody@example.org"]
    assert [(r.reply.code, r.reply.enhanced) for r in tx.recipients] == [(250, "2.1.5"), (550, "5.1.1")]
    assert tx.data_command == "DATA" and tx.size == len(oc.BODY)
    assert tx.final_reply.text == "2.0.0 Ok: queued as 4ABC123DEF" and tx.ended == "replied"
    jsonschema.validate(replay_json(result, 0, transcripts=True), SCHEMA)


def test_pcapng_with_two_interfaces(tmp_path):
    data = oc.pcapng_two_interfaces()
    result = replay_stream(io.BytesIO(data))
    assert sum(result.skipped.values()) == 0
    assert [s.client for s in result.sessions] == [("192.0.2.10", 41000), ("192.0.2.11", 41001)]
    assert all(s.messages == 1 and len(s.transactions) == 1 for s in result.sessions)
    path = tmp_path / "two.pcapng"
    path.write_bytes(data)
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.interface_id"],
                         capture_output=True, text=True, check=True).stdout
    assert set(out.split()) == {"0", "1"}


def test_short_means_cut_by_the_snap_length():
    """Frames cut at 96 bytes are "short"; a whole frame too small for its headers is not."""
    result = replay_stream(io.BytesIO(oc.snapped(oc.capture(mss=1460), snap=50)))
    assert result.skipped["short"] == result.packets and result.skipped["malformed"] == 0
    from inspector.replay.writer import CaptureWriter
    stream = io.BytesIO()
    writer = CaptureWriter(stream)
    writer.write(1.0, bytes(12) + b"\x08\x00" + b"\x45" + bytes(10))   # whole, but no room for IP
    result = replay_stream(io.BytesIO(stream.getvalue()))
    assert result.skipped["malformed"] == 1 and result.skipped["short"] == 0
