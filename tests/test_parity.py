"""Parity: a live ``probe --sniff --pcap F`` and ``replay F`` judge the session alike (root).

For every fault of the built-in lab server, and for the real Postfix of the
mail lab on 25, 587 and 465: the session findings are the same ids with the
same severities. Findings only one side can see carry the side and the reason
in their catalogue entry (``one_sided=``); this test leaves those out of the
comparison and checks that each appears only on its own side.

Implicit TLS is compared on Postfix's 465 only: replay recognises a session
that starts with a ClientHello as SMTP on port 465 (RFC 8314 §3.3), not on
the lab server's random port.
"""

from __future__ import annotations

import os

import pytest

from inspector.catalogue import LIVE, REPLAY
from inspector.findings import CATALOGUE
from inspector.lab.faults import TRANSACTION_FAULTS
from inspector.lab.server import DEMO_PASSWORD, DEMO_USER, FAULTS

needs_root = pytest.mark.skipif(os.getuid() != 0, reason="capturing packets needs root (CI runs as root)")

#: id -> the only side that can decide it (the catalogue's ``one_sided``).
ONE_SIDED = {fid: kind.one_sided.side for fid, kind in CATALOGUE.items() if kind.one_sided}

#: Options that make a fault show itself (the rest need none).
FAULT_OPTIONS = {
    "execute-pipelined-starttls": ("--check-injection",),
    "scram-bad-signature": ("--auth", "SCRAM-SHA-256", "--user", DEMO_USER),
}


def _findings(findings, side: str) -> set[tuple[str, str]]:
    for f in findings:
        owner = ONE_SIDED.get(f["id"], side)
        assert owner == side, f"{f['id']} seen by {side}, but its catalogue entry says only {owner} can: {f}"
    return {(f["id"], f["severity"]) for f in findings if f["id"] not in ONE_SIDED}


def probe_and_replay(run_cli, tmp_path, target: str, *options: str, cafile: str | None = None):
    pcap = tmp_path / "session.pcap"
    trust = ("--cafile", cafile) if cafile else ()
    live_run, live = run_cli("probe", target, "--sniff", "--pcap", str(pcap), "--json", *trust, *options)
    assert live is not None, live_run.stderr
    replay_run, replayed = run_cli("replay", str(pcap), "--json", *trust)
    assert replayed is not None, replay_run.stderr
    [session] = replayed["sessions"]
    return _findings(live["findings"], LIVE), _findings(session["findings"], REPLAY), live


@needs_root
# Faults inside a mail transaction never show in a probe (tests/test_send_lab.py covers them).
@pytest.mark.parametrize("fault", [None, *sorted(set(FAULTS) - set(TRANSACTION_FAULTS))])
def test_lab_fault_live_and_replayed(fault, lab_server, run_cli, tmp_path):
    lab = lab_server(fault=fault)
    options = FAULT_OPTIONS.get(fault, ())
    if "--auth" in options:
        secret = tmp_path / "password"
        secret.write_text(DEMO_PASSWORD)
        options = (*options, "--password-file", str(secret))
    live, replayed, document = probe_and_replay(run_cli, tmp_path, f"127.0.0.1:{lab.port}",
                                                "--servername", lab.hostname, *options,
                                                cafile=lab.ca_path)
    assert live == replayed, (fault, document["error"])
    one_sided = {f["id"] for f in document["findings"]} & set(ONE_SIDED) - {"packet-capture"}
    assert bool(live or one_sided) == (fault is not None), (fault, live)  # the fault did show


@needs_root
@pytest.mark.parametrize("service", ["smtp", "submission", "submissions"])
def test_postfix_live_and_replayed(service, mail_lab, run_cli, tmp_path):
    port = mail_lab.ports[service]
    live, replayed, document = probe_and_replay(run_cli, tmp_path, f"{mail_lab.host}:{port}",
                                                "--servername", mail_lab.servername,
                                                cafile=mail_lab.cafile)
    assert live == replayed, document["error"]
