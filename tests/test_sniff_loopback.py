"""``probe --sniff --pcap`` on loopback: the pcap opens in tshark and shows the SMTP dialog (root)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from inspector.findings import CATALOGUE

ROOT = os.getuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="capturing packets needs root (CI runs as root)")


@needs_root
def test_pcap_shows_the_smtp_dialog_in_tshark(lab_server, run_cli, tmp_path):
    assert shutil.which("tshark"), "tshark is installed by scripts/setup-system"
    lab = lab_server()
    pcap = tmp_path / "session.pcap"
    completed, document = run_cli("probe", f"127.0.0.1:{lab.port}", "--insecure", "--sniff",
                                  "--pcap", str(pcap), "--json")
    assert completed.returncode == 0, completed.stderr
    segments = document["packets"]["segments"]
    assert document["packets"]["duplicates_dropped"] > 0  # lo shows every packet twice
    assert [s["flags"] for s in segments[:3]] == ["S", "SA", "A"]
    capture = next(f for f in document["findings"] if f["id"] == "packet-capture")
    assert "server TTLs 64 (hop 1)" in capture["evidence"]
    shown = subprocess.run(["tshark", "-r", str(pcap), "-d", f"tcp.port=={lab.port},smtp", "-Y", "smtp",
                            "-T", "fields", "-e", "smtp.req.command", "-e", "smtp.response.code"],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    fields = shown.stdout.split()
    # tshark's SMTP dissector names a command by its first four characters ("STAR" for STARTTLS).
    assert "EHLO" in fields and "STAR" in fields and "220" in fields and "250" in fields
    # tshark sees exactly the segments we report, once each.
    count = subprocess.run(["tshark", "-r", str(pcap)], capture_output=True, text=True, timeout=60)
    assert len(count.stdout.strip().splitlines()) == len(segments)


def test_pcap_without_sniff_is_a_usage_error(lab_server, run_cli):
    lab = lab_server()
    completed, _ = run_cli("probe", f"127.0.0.1:{lab.port}", "--pcap", "/tmp/never.pcap")
    assert completed.returncode == 2 and "--pcap needs --sniff" in completed.stderr


@pytest.mark.skipif(not ROOT or shutil.which("setpriv") is None, reason="needs root to drop to nobody")
@pytest.mark.parametrize("args", [("interference", "127.0.0.1"), ("probe", "127.0.0.1:1", "--sniff")])
def test_packet_commands_without_privileges_exit_4(args):
    completed = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                sys.executable, "-m", "inspector", *args],
                               capture_output=True, text=True, timeout=60, cwd=os.path.dirname(
                                   os.path.dirname(os.path.abspath(__file__))))
    assert completed.returncode == 4, completed.stderr
    assert completed.stderr.count("\n") == 1 and "CAP_NET_RAW" in completed.stderr


def test_plain_probe_never_imports_scapy(lab_server):
    lab = lab_server()
    code = ("import sys; from inspector.cli import main; main(['probe', '127.0.0.1:%d', '--insecure']); "
            "print('scapy' in sys.modules)" % lab.port)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_schemas_know_every_path_verdict():
    from importlib import resources

    schema = json.loads(resources.files("inspector").joinpath("schema/interference.schema.json").read_text())
    ids = schema["$defs"]["verdict"]["properties"]["id"]["enum"]
    assert set(ids) <= set(CATALOGUE)
    ports_schema = json.loads(resources.files("inspector").joinpath("schema/ports.schema.json").read_text())
    assert set(ports_schema["properties"]["findings"]["items"]["properties"]["id"]["enum"]) == set(CATALOGUE)


@needs_root
def test_ports_syn_probes_work_on_loopback(lab_server, run_cli):
    """On ``lo`` a packet socket's SYNs never reach TCP; the probes must still get answers."""
    import socket

    lab = lab_server()
    with socket.socket() as unused:  # a port that was just free: nothing listens there
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    completed, document = run_cli("ports", "127.0.0.1", "--ports", f"{lab.port},{closed_port}",
                                  "--tries", "1", "--json")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert document["method"] == "syn"
    states = {p["port"]: p["state"] for p in document["ports"]}
    assert states == {lab.port: "open", closed_port: "closed"}, document["ports"]
    service = next(p["service"] for p in document["ports"] if p["port"] == lab.port)
    assert service["tls_mode"] == "starttls" and service["greeting"].startswith("220 ")
