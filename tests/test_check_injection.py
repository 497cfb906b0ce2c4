"""``probe --check-injection``: plaintext command injection after STARTTLS (RFC 3207 §4.2, CVE-2011-0411).

The probe sends ``STARTTLS\\r\\nNOOP\\r\\n`` in one segment, completes the
handshake and reports ``command-injection`` if the NOOP is answered inside
TLS. Checked against a vulnerable server (the lab's
``execute-pipelined-starttls`` fault, aiosmtpd with its buffer purge undone)
and two correct ones: the lab server (aiosmtpd) and the real Postfix.
"""

from __future__ import annotations

import pytest

from inspector.exitcodes import ExitCode
from inspector.probes.session import ProbeConfig, run_probe
from tests.scripted_server import LineReader, ScriptedServer


def probe_lab(lab, **overrides):
    settings = dict(host=lab.host, port=lab.port, servername=lab.hostname, cafile=lab.ca_path,
                    timeout=3.0, deadline=10.0, check_injection=True)
    settings.update(overrides)
    return run_probe(ProbeConfig(**settings))


def sent(result) -> list[bytes]:
    return [e.data for e in result.transcript if e.direction == "send"]


def test_vulnerable_lab_server_is_reported(lab_server):
    result = probe_lab(lab_server(fault="execute-pipelined-starttls"))

    assert result.finding_ids == {"command-injection"}
    finding = result.findings[0]
    assert finding.severity.value == "error" and "250" in finding.evidence
    assert result.step("injection-check").status == "failed"
    assert result.step("ehlo-tls").status == "ok"  # the session goes on, replies stay in step
    assert result.exit_code is ExitCode.FINDINGS
    assert b"STARTTLS\r\nNOOP\r\n" in sent(result)


def test_correct_lab_server_discards_the_pipelined_noop(lab_server):
    result = probe_lab(lab_server())

    assert result.finding_ids == set()
    assert result.step("injection-check").status == "ok"
    assert result.exit_code is ExitCode.OK


@pytest.mark.postfix
def test_postfix_discards_the_pipelined_noop(mail_lab):
    result = run_probe(ProbeConfig(host=mail_lab.host, port=mail_lab.ports["submission"],
                                   servername=mail_lab.servername, cafile=mail_lab.cafile,
                                   timeout=5.0, deadline=20.0, check_injection=True))

    assert result.exit_code is ExitCode.OK, result.error
    assert result.finding_ids == set()
    assert result.step("injection-check").detail.startswith("no reply to the pipelined NOOP")
    assert result.step("ehlo-tls").status == "ok"
    assert b"STARTTLS\r\nNOOP\r\n" in sent(result)


def test_starttls_and_noop_reach_the_server_in_one_segment():
    """What the server's recv() returned after EHLO: both lines at once; nothing without the flag."""
    seen: dict[bool, list[bytes]] = {}

    def script(conn, stop):
        conn.sendall(b"220 seg.example ESMTP\r\n")
        reader = LineReader(conn)
        reader.next_line()
        conn.sendall(b"250-seg.example\r\n250 STARTTLS\r\n")
        before = len(reader.chunks)
        reader.next_line()
        stop.wait(0.3)  # anything else the client sends lands in rest or in the socket
        conn.settimeout(0.05)
        try:
            reader.chunks.append(conn.recv(4096))
        except OSError:
            pass
        seen[b"NOOP" in b"".join(reader.chunks)] = reader.chunks[before:]
        conn.sendall(b"454 4.7.0 not now\r\n")

    for check in (True, False):
        with ScriptedServer(script) as server:
            run_probe(ProbeConfig(host=server.host, port=server.port, require_tls=False,
                                  timeout=1.0, deadline=4.0, check_injection=check))

    assert seen[True][0] == b"STARTTLS\r\nNOOP\r\n"
    assert seen[False][0] == b"STARTTLS\r\n" and b"".join(seen[False]) == b"STARTTLS\r\n"


def test_check_injection_needs_starttls(run_cli):
    for mode in ("--plain", "--implicit-tls"):
        completed, _ = run_cli("probe", "127.0.0.1:2", mode, "--check-injection")
        assert completed.returncode == ExitCode.USAGE
        assert "--check-injection" in completed.stderr and "Traceback" not in completed.stderr
