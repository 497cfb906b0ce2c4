"""replay --jsonl and replay -: sessions reported as they end; AUTH LOGIN prompts decoded."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import time
from importlib import resources

import jsonschema
from referencing import Registry, Resource

from inspector.replay.replay import replay_stream
from inspector.replay.writer import CaptureWriter, TcpConversation

from . import offload_captures as oc


def _lines_validator():
    base = json.loads(resources.files("inspector").joinpath("schema/replay.schema.json").read_text())
    lines = json.loads(resources.files("inspector").joinpath(
        "schema/replay-lines.schema.json").read_text())
    registry = Registry().with_resources([(base["$id"], Resource.from_contents(base)),
                                          (lines["$id"], Resource.from_contents(lines))])
    return jsonschema.Draft202012Validator(lines, registry=registry)


def _sessions(count: int, *, gap: float = 1.0) -> list[bytes]:
    """The pcap file header, then each session's frames as one chunk."""
    header = io.BytesIO()
    CaptureWriter(header)
    chunks = [header.getvalue()]
    for i in range(count):
        out = io.BytesIO()
        writer = CaptureWriter(out)
        oc.write_session(writer.write, client=("192.0.2.10", 41000 + i), ts=1700000000.0 + i * gap,
                         mss=1460)
        chunks.append(out.getvalue()[24:])
    return chunks


def test_jsonl_lines_validate_and_summary_comes_last(tmp_path):
    path = tmp_path / "three.pcap"
    path.write_bytes(b"".join(_sessions(3)))
    done = subprocess.run([sys.executable, "-m", "inspector", "replay", str(path), "--jsonl",
                           "--transcripts"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    validator = _lines_validator()
    for line in lines:
        validator.validate(line)
    assert [line["type"] for line in lines] == ["session"] * 3 + ["summary"]
    assert [line["session"]["client"]["port"] for line in lines[:3]] == [41000, 41001, 41002]
    assert all("transcript" in line["session"] for line in lines[:3])
    assert lines[0]["session"]["transactions"][0]["data"]["reply"]["text"].endswith("4ABC123DEF")
    assert lines[3]["capture"]["sessions_total"] == 3
    assert list(validator.iter_errors({"type": "session", "session": {"number": 1}}))


def test_streaming_keeps_no_finished_session():
    """Memory is bounded by open flows: a closed flow is finished 5 capture seconds later (its
    linger), and with on_session the result holds no session."""
    seen = []
    result = replay_stream(io.BytesIO(b"".join(_sessions(5, gap=10.0))), on_session=seen.append)
    assert [s.number for s in seen] == [1, 2, 3, 4, 5] and result.sessions == ()
    assert result.sessions_total == 5 and result.open_flows_peak <= 2


def test_pipe_reports_a_session_before_the_input_ends():
    chunks = _sessions(2, gap=0.5)
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "replay", "-", "--jsonl"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(chunks[0] + chunks[1])
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no line for the first session while the pipe is still open"
        first = json.loads(proc.stdout.readline())
        assert first["type"] == "session" and first["session"]["client"]["port"] == 41000
        assert proc.poll() is None          # still reading: the input has not ended
        time.sleep(0.2)
        proc.stdin.write(chunks[2])
        proc.stdin.close()
        rest = [json.loads(line) for line in proc.stdout.read().splitlines()]
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [line["type"] for line in rest] == ["session", "summary"]
    assert rest[1]["capture"]["sessions_total"] == 2 and rest[1]["capture"]["file"] == "-"


def test_pipe_text_lines_and_ctrl_c_prints_the_summary():
    chunks = _sessions(1)
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "replay", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(chunks[0] + chunks[1])
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready
        line = proc.stdout.readline().decode()
        assert "192.0.2.10:41000 -> 192.0.2.25:25" in line and "closed fin" in line
        proc.send_signal(2)
        out = proc.stdout.read().decode()
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdin.close()
    assert "1 SMTP session(s)" in out and "starttls-not-offered (warning) in 1 session(s)" in out


def test_auth_login_prompts_decoded_and_secrets_redacted(tmp_path):
    """Postfix + Dovecot SASL's AUTH LOGIN exchange (the lab's bytes), and Exchange's prompt."""
    out = io.BytesIO()
    writer = CaptureWriter(out)
    conv = TcpConversation(writer.write, ("192.0.2.10", 41000), ("192.0.2.25", 25))
    ts = conv.handshake(1700000000.0)
    for from_client, data in [
            (False, b"220 mail.example.org ESMTP Postfix\r\n"), (True, b"EHLO c\r\n"),
            (False, b"250-mail.example.org\r\n250 AUTH LOGIN PLAIN\r\n"), (True, b"AUTH LOGIN\r\n"),
            (False, b"334 VXNlcm5hbWU6\r\n"), (True, b"YWxpY2U=\r\n"),
            (False, b"334 VXNlciBOYW1lAA==\r\n"), (True, b"czNjcjN0LXBhc3M=\r\n"),
            (False, b"235 2.7.0 Authentication successful\r\n"), (True, b"QUIT\r\n"),
            (False, b"221 2.0.0 Bye\r\n")]:
        ts = conv.send(ts + 0.001, from_client, data)
    conv.close(ts + 0.001)
    path = tmp_path / "login.pcap"
    path.write_bytes(out.getvalue())
    done = subprocess.run([sys.executable, "-m", "inspector", "replay", str(path), "--session", "1",
                           "--json"], capture_output=True, text=True, timeout=60)
    document = json.loads(done.stdout)
    notes = [e["text"] for e in document["sessions"][0]["transcript"] if e["direction"] == "note"]
    assert "server challenge, decoded: Username:" in notes
    assert "server challenge, decoded: User Name<NUL>" in notes
    assert "s3cr3t-pass" not in done.stdout and "czNjcjN0LXBhc3M" not in done.stdout
    text = subprocess.run([sys.executable, "-m", "inspector", "replay", str(path), "--session", "1"],
                          capture_output=True, text=True, timeout=60).stdout
    assert "Username:" in text and "s3cr3t-pass" not in text
    assert os.path.getsize(path) > 0


def test_pipe_errors_are_one_line_with_their_exit_codes():
    empty = subprocess.run([sys.executable, "-m", "inspector", "replay", "-"], input=b"",
                           capture_output=True, timeout=60)
    assert empty.returncode == 21
    assert empty.stderr.decode().strip() == ("smtp-inspector replay: error: -: empty file: not a "
                                             "pcap or pcapng capture")
    both = subprocess.run([sys.executable, "-m", "inspector", "replay", "-", "--json"], input=b"",
                          capture_output=True, timeout=60)
    assert both.returncode == 2 and b"use --jsonl" in both.stderr and b"Traceback" not in both.stderr
