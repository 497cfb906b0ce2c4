"""`smtp-inspector replay`: sample captures, reassembly, link types, corrupt files, JSON, tshark."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from importlib import resources

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.lab.server import DEMO_PASSWORD
from inspector.render.text import render_transcript
from inspector.replay import CaptureError, parse_capture_bytes, replay_file, replay_stream
from inspector.replay.writer import (
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

from .capture_tools import CAPTURES, rewrite

SCHEMA = json.loads(resources.files("inspector").joinpath("schema/replay.schema.json").read_text())
CAFILE = str(CAPTURES / "lab-ca.pem")

#: capture -> (findings of each session, exit code with --cafile captures/lab-ca.pem)
EXPECTED = {
    "starttls-587.pcap": ([set()], 0),
    "implicit-tls-465.pcap": ([set()], 0),
    "starttls-stripped.pcap": ([{"starttls-not-offered"}], 1),
    "starttls-masked.pcap": ([{"starttls-masked", "starttls-not-offered"}], 1),
    "auth-plain-25.pcap": ([{"auth-before-tls", "credentials-exposed", "tls-not-used"}] * 2, 1),
    "response-injection.pcap": ([{"response-injection"}], 1),
    "rst-injected.pcap": ([{"starttls-failed", "rst-suspicious-ttl"}], 1),
}


def lines_of(session) -> list[str]:
    """The rendered transcript without its timestamps."""
    rendered = render_transcript(session.transcript).splitlines()
    return [re.sub(r"^\[\s*[\d.]+\] ", "", line) for line in rendered]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_capture_replays_to_its_findings(name, run_cli):
    expected, code = EXPECTED[name]
    result = replay_file(str(CAPTURES / name), cafile=CAFILE)
    assert result.error is None
    assert [{f.id for f in s.findings} for s in result.sessions] == expected
    completed, document = run_cli("replay", str(CAPTURES / name), "--cafile", CAFILE, "--json")
    assert completed.returncode == code, completed.stderr
    jsonschema.validate(document, SCHEMA)
    assert [{f["id"] for f in s["findings"]} for s in document["sessions"]] == expected


def test_sample_facts():
    """The facts behind the findings: TLS versions, SNI, certificate, AUTH users, RST TTLs."""
    s = replay_file(str(CAPTURES / "implicit-tls-465.pcap"), cafile=CAFILE).sessions[0]
    assert (s.tls.mode, s.tls.version, s.tls.sni, s.tls.certificates) == \
        ("implicit", "TLSv1.2", "lab.smtp-inspector.test", 1)
    assert s.certificate.trusted and s.certificate.hostname_match
    untrusted = replay_file(str(CAPTURES / "implicit-tls-465.pcap")).sessions[0]
    assert "cert-untrusted" in {f.id for f in untrusted.findings}
    s = replay_file(str(CAPTURES / "starttls-587.pcap")).sessions[0]
    assert (s.tls.mode, s.tls.version, s.server[1]) == ("starttls", "TLSv1.3", 587)
    assert s.capabilities.starttls
    auth = replay_file(str(CAPTURES / "auth-plain-25.pcap")).sessions
    assert [(a.mechanism, a.user, a.in_clear, a.reply_code) for s in auth for a in s.auth] == [
        ("PLAIN", "demo@lab.test", True, 235), ("LOGIN", "demo@lab.test", True, 235)]
    rst = replay_file(str(CAPTURES / "rst-injected.pcap")).sessions[0]
    assert rst.closed == "rst"
    assert any("TTL 128" in f.evidence for f in rst.findings if f.id == "rst-suspicious-ttl")


@pytest.mark.parametrize("name", ["auth-plain-25.pcap", "response-injection.pcap", "starttls-587.pcap",
                                  "implicit-tls-465.pcap"])
def test_split_reordered_and_retransmitted_segments_give_the_same_transcript(name):
    baseline = replay_stream(io.BytesIO(rewrite(CAPTURES / name)), keep_transcript="all")
    variants = [rewrite(CAPTURES / name, split=1),
                rewrite(CAPTURES / name, split=1, reverse=True),
                rewrite(CAPTURES / name, split=7, reverse=True, duplicate=True)]
    assert baseline.sessions
    for data in variants:
        variant = replay_stream(io.BytesIO(data), keep_transcript="all")
        assert len(variant.sessions) == len(baseline.sessions)
        for a, b in zip(baseline.sessions, variant.sessions, strict=True):
            assert lines_of(b) == lines_of(a)
            assert {f.id for f in b.findings} == {f.id for f in a.findings}
            assert (b.tls, b.auth) == (a.tls, a.auth)
    reversed_ = replay_stream(io.BytesIO(variants[1]), keep_transcript="all").sessions[0]
    assert reversed_.tcp.out_of_order > 0
    duplicated = replay_stream(io.BytesIO(variants[2]), keep_transcript="all").sessions[0]
    assert duplicated.tcp.retransmissions > 0 and duplicated.tcp.conflicts == 0


def test_original_capture_and_its_rewrite_agree():
    original = replay_file(str(CAPTURES / "auth-plain-25.pcap"), all_transcripts=True).sessions[0]
    again = replay_stream(io.BytesIO(rewrite(CAPTURES / "auth-plain-25.pcap")),
                          keep_transcript="all").sessions[0]
    assert lines_of(again) == lines_of(original)


@pytest.mark.parametrize("variant", [
    {"linktype": LINKTYPE_LINUX_SLL}, {"linktype": LINKTYPE_LINUX_SLL2}, {"linktype": LINKTYPE_NULL},
    {"linktype": LINKTYPE_LOOP}, {"linktype": LINKTYPE_RAW}, {"ipv6": True}, {"pcapng": True},
    {"pcapng": True, "nanoseconds": True, "linktype": LINKTYPE_LINUX_SLL2}, {"nanoseconds": True},
    {"ipv6": True, "linktype": LINKTYPE_NULL},
], ids=repr)
def test_link_types_and_formats_give_the_same_session(variant):
    baseline = replay_stream(io.BytesIO(rewrite(CAPTURES / "auth-plain-25.pcap")), keep_transcript="all")
    other = replay_stream(io.BytesIO(rewrite(CAPTURES / "auth-plain-25.pcap", **variant)),
                          keep_transcript="all")
    assert other.format == ("pcapng" if variant.get("pcapng") else "pcap")
    assert len(other.sessions) == 2 and other.skipped == baseline.skipped
    for a, b in zip(baseline.sessions, other.sessions, strict=True):
        assert lines_of(b) == lines_of(a)
        assert abs(b.start - a.start) < 1e-5
    if variant.get("ipv6"):
        assert other.sessions[0].server[0] == "2001:db8::25"


def test_the_secret_never_appears(run_cli):
    path = str(CAPTURES / "auth-plain-25.pcap")
    on_the_wire = base64.b64encode(b"\0demo@lab.test\0" + DEMO_PASSWORD.encode())
    assert on_the_wire in (CAPTURES / "auth-plain-25.pcap").read_bytes()
    outputs = []
    for args in ([], ["--json"], ["--session", "1"], ["--session", "2"], ["--session", "1", "--json"],
                 ["--session", "2", "--json"]):
        completed, document = run_cli("replay", path, *args)
        outputs.append(completed.stdout + completed.stderr)
        if document:
            jsonschema.validate(document, SCHEMA)
            for s in document["sessions"]:
                for entry in s.get("transcript", []):
                    outputs.append(base64.b64decode(entry["bytes_b64"]).decode("latin-1")
                                   if "bytes_b64" in entry else entry["text"])
    text = "\n".join(outputs)
    secret_forms = [DEMO_PASSWORD, base64.b64encode(DEMO_PASSWORD.encode()).decode(),
                    base64.b64encode(b"\0demo@lab.test\0" + DEMO_PASSWORD.encode()).decode()]
    for form in secret_forms:
        assert form not in text
    assert "demo@lab.test" in text and "redacted" in text


def test_session_transcript_and_json(run_cli):
    completed, _ = run_cli("replay", str(CAPTURES / "response-injection.pcap"), "--session", "1")
    assert completed.returncode == 1
    assert "<- 220 2.0.0 Ready to start TLS" in completed.stdout
    assert "-> STARTTLS" in completed.stdout
    assert "discarded unread" in completed.stdout
    completed, document = run_cli("replay", str(CAPTURES / "starttls-587.pcap"), "--session", "1", "--json")
    jsonschema.validate(document, SCHEMA)
    assert document["sessions"][0]["transcript"][0]["direction"] == "recv"
    completed, _ = run_cli("replay", str(CAPTURES / "starttls-587.pcap"), "--session", "9")
    assert completed.returncode == 2 and "1 SMTP session" in completed.stderr


def test_control_characters_are_escaped(tmp_path):
    from inspector.render.replay_output import render_replay
    from inspector.replay.writer import CaptureWriter, TcpConversation

    stream = io.BytesIO()
    conv = TcpConversation(CaptureWriter(stream).write, ("127.0.0.1", 4000), ("127.0.0.1", 2525))
    t = conv.handshake(10.0)
    for from_client, data in [(False, b"220 evil\x1b[2J ESMTP\r\n"), (True, b"EHLO x\r\n"),
                              (False, b"250 ok\x07\r\n")]:
        t = conv.send(t + 0.01, from_client, data)
    result = replay_stream(io.BytesIO(stream.getvalue()), keep_transcript="all")
    text = render_replay(result, session=1)
    assert "\x1b" not in text and "\\x1b[2J" in text and "\x07" not in text
    assert result.sessions[0].server[1] == 2525  # recognised by the dialog, not the port


@pytest.mark.parametrize("cut", [30, 100, 1000, -3])
def test_truncated_capture_reports_what_was_read(tmp_path, run_cli, cut):
    data = (CAPTURES / "auth-plain-25.pcap").read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:cut])
    completed, _ = run_cli("replay", str(path))
    assert completed.returncode == 21
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "truncated" in completed.stderr
    if cut == -3:
        assert "2 SMTP session(s)" in completed.stdout


@pytest.mark.parametrize("content", [b"", b"hello world, not a capture\n", b"\xd4\xc3\xb2\xa1\x02\x00"],
                         ids=["empty", "text", "short-header"])
def test_not_a_capture(tmp_path, run_cli, content):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    completed, _ = run_cli("replay", str(path))
    assert completed.returncode == 21
    assert completed.stdout == ""
    assert len(completed.stderr.strip().splitlines()) == 1 and "Traceback" not in completed.stderr
    completed, _ = run_cli("replay", str(tmp_path / "missing.pcap"))
    assert completed.returncode == 21 and "cannot read" in completed.stderr


_SAMPLES = [(CAPTURES / name).read_bytes() for name in ("auth-plain-25.pcap", "response-injection.pcap")]
_PCAPNG = rewrite(CAPTURES / "auth-plain-25.pcap", pcapng=True)


def _corruptions():
    base = st.sampled_from(_SAMPLES + [_PCAPNG])

    def flip(data, positions):
        data = bytearray(data)
        for pos, value in positions:
            data[pos % len(data)] = value
        return bytes(data)

    flips = st.tuples(base, st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)),
                                     min_size=1, max_size=8)).map(lambda t: flip(*t))
    cuts = st.tuples(base, st.integers(0, 20000)).map(lambda t: t[0][:t[1]])
    spliced = st.tuples(base, st.integers(0, 20000), st.binary(max_size=64)).map(
        lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:])
    return st.one_of(flips, cuts, spliced, st.binary(max_size=200),
                     st.binary(max_size=200).map(lambda b: _SAMPLES[0][:24] + b))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_corruptions())
def test_corrupt_captures_raise_only_capture_error(data):
    try:
        result = parse_capture_bytes(data)
    except CaptureError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for session in result.sessions:
        render_transcript(session.transcript)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is installed by scripts/setup-system")
@pytest.mark.parametrize("name", ["auth-plain-25.pcap", "starttls-stripped.pcap", "starttls-masked.pcap",
                                  "response-injection.pcap"])
def test_commands_agree_with_tshark(name):
    """tshark's SMTP dissector sees the same client commands in the same order (plaintext part)."""
    completed = subprocess.run(["tshark", "-r", str(CAPTURES / name), "-Y", "smtp.req.command",
                                "-T", "fields", "-e", "smtp.req.command"],
                               capture_output=True, text=True, timeout=60)
    # tshark names a command by its first four letters at most ("STAR" for STARTTLS at times).
    theirs = [c.upper()[:4] for line in completed.stdout.split() for c in line.split(",") if c]
    result = replay_file(str(CAPTURES / name), all_transcripts=True)
    ours = [e.data.split(b" ", 1)[0].strip().decode().upper() for s in result.sessions
            for e in s.transcript if e.direction == "send" and not e.redacted and e.data != b".\r\n"]
    ours += [e.data.split(b" ", 1)[0].decode() for s in result.sessions for e in s.transcript
             if e.direction == "send" and e.redacted and e.data.startswith(b"AUTH")]
    assert sorted(theirs) == sorted(c[:4] for c in ours)


@pytest.mark.skipif(shutil.which("editcap") is None, reason="editcap comes with tshark (setup-system)")
def test_pcapng_written_by_editcap(tmp_path):
    """An independent pcapng writer (Wireshark's editcap) gives the same sessions as the pcap."""
    target = tmp_path / "auth.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(CAPTURES / "auth-plain-25.pcap"), str(target)],
                   check=True, capture_output=True, timeout=60)
    original = replay_file(str(CAPTURES / "auth-plain-25.pcap"), all_transcripts=True)
    converted = replay_file(str(target), all_transcripts=True)
    assert converted.format == "pcapng"
    assert [lines_of(s) for s in converted.sessions] == [lines_of(s) for s in original.sessions]
    assert [s.start for s in converted.sessions] == pytest.approx([s.start for s in original.sessions])
