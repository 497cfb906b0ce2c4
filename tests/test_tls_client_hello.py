"""The pure ClientHello builder (inspector/tls/client_hello.py) against scapy's bytes and tshark's dissection.

The audit built its hellos with scapy's TLS layer until issue 20; the pure
builder must write the same bytes for the same arguments (the reference:
tests/scapy_client_hello.py, with the random fields fixed), and tshark's TLS
dissector (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2) must read every field back.
"""

from __future__ import annotations

import io
import subprocess
from unittest import mock

import pytest

from inspector.replay.writer import CaptureWriter, TcpConversation
from inspector.tls.client_hello import SIGNATURE_ALGORITHMS, client_hello
from inspector.tls.messages import HandshakeStream, parse_client_hello
from inspector.tls.records import RecordFramer
from inspector.tls.suites import SUITES
from tests import scapy_client_hello

TLS12_SUITES = [s.code for s in SUITES if not s.scsv and s.max_version == "TLSv1.2"]
VARIANTS = [{}, {"fallback_scsv": True}, {"groups": ()}, {"groups": (0x001D, 0x0017)},
            {"key_share_group": None}, {"renegotiation_info": bytes(range(12))}, {"compression": (0,)}]


def _counting(n: int) -> bytes:
    return bytes(i % 256 for i in range(n))


@pytest.mark.parametrize("version", ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"])
def test_same_bytes_as_scapy(version):
    suites = [0x1301, 0x1302, 0x1303] if version == "TLSv1.3" else TLS12_SUITES
    with mock.patch("os.urandom", _counting):
        for servername in (None, "mail.lab.test"):
            for kwargs in VARIANTS:
                ours = client_hello(version, suites, servername=servername, **kwargs)
                assert ours == scapy_client_hello.client_hello(version, suites, servername=servername,
                                                               **kwargs), (servername, kwargs)


def test_our_reader_reads_it_back():
    record = client_hello("TLSv1.3", [0x1301, 0x1302], servername="mail.lab.test")
    (rec,) = list(RecordFramer().feed(record))
    ((msg_type, body),) = list(HandshakeStream().feed(rec.body))
    info = parse_client_hello(body)
    assert (msg_type, info.version, info.suites, info.sni, info.supported_versions) == (
        1, 0x0303, (0x1301, 0x1302), "mail.lab.test", (0x0304,))


def _tshark_fields(records: list[bytes], fields: list[str]) -> list[list[str]]:
    stream = io.BytesIO()
    writer = CaptureWriter(stream)
    for index, record in enumerate(records):
        conversation = TcpConversation(writer.write, ("127.0.0.1", 40000 + index), ("127.0.0.1", 443))
        conversation.send(conversation.handshake(1.0 + index), True, record)
    completed = subprocess.run(["tshark", "-r", "-", "-Y", "tls.handshake.type == 1", "-T", "fields",
                                "-E", "separator=|", *[x for f in fields for x in ("-e", f)]],
                               input=stream.getvalue(), capture_output=True, check=True)
    return [line.split("|") for line in completed.stdout.decode().splitlines()]


def test_tshark_dissects_every_field():
    fields = ["tls.record.version", "tls.handshake.version", "tls.handshake.ciphersuite",
              "tls.handshake.extensions_server_name", "tls.handshake.extensions_supported_group",
              "tls.handshake.sig_hash_alg", "tls.handshake.extension.type", "tls.handshake.comp_method",
              "tls.handshake.extensions.supported_version", "tls.handshake.extensions_key_share_group",
              "_ws.malformed"]
    records = [client_hello("TLSv1.2", [0xC02F, 0x002F], servername="mail.lab.test", fallback_scsv=True),
               client_hello("TLSv1.3", [0x1301], groups=(0x001D, 0x0017)),
               client_hello("TLSv1", [0x000A], renegotiation_info=b"\x01" * 12),
               client_hello("TLSv1.2", [0x009C], signature_algorithms=(0x0804, 0x0401))]
    rows = _tshark_fields(records, fields)
    sigalgs = ",".join(f"0x{code:04x}" for code in SIGNATURE_ALGORITHMS)
    assert rows[0] == ["0x0301", "0x0303", "0xc02f,0x002f,0x00ff,0x5600", "mail.lab.test",
                       "0x001d,0x0017,0x001e,0x0019,0x0018,0x0100,0x0101,0x0102,0x0103,0x0104,0x001a,"
                       "0x001b,0x001c", sigalgs, "0,10,11,13,23,22,35,5,18,15", "1,0", "", "", ""]
    assert rows[1] == ["0x0301", "0x0303", "0x1301", "", "0x001d,0x0017", sigalgs, "10,11,13,43,51", "0",
                       "0x0304", "29", ""]
    # Below TLS 1.2 no signature_algorithms (RFC 5246 §7.4.1.4.1); renegotiation_info instead of the SCSV.
    assert rows[2][:8] == ["0x0301", "0x0301", "0x000a", "", rows[0][4], "", "10,11,65281,23,22,35,5,18,15",
                           "1,0"]
    assert rows[3][5] == "0x0804,0x0401" and rows[3][10] == ""
