"""Hostile servers that echo secrets: no form of a secret in any output, saved file or error.

Issue 21: redaction works on the reassembled stream of each direction and on every text derived
from it (inspector/redaction.py), for every encoding a server can echo (tests/canary.py lists them,
computed independently of the redactor), for each mechanism, however the echo is split into
TCP segments. The in-process matrix splits each echoed line at every offset; the subprocess runs
take the real command through every output path (text, -v chunks, --json, --save).
"""

from __future__ import annotations

import base64
import json

import pytest

from inspector import redaction
from inspector.render.json_output import transcript_entry
from inspector.render.text import render_transcript
from inspector.smtp import sasl
from inspector.transcript import Transcript
from tests.canary import assert_no_leak, collect, leak_forms, new_canary, run_inspector
from tests.hostile_auth import CRAM_CHALLENGE, MECHANISMS, auth_server, send_split
from tests.scripted_server import ScriptedServer

USER = "alice"
#: A password with every character that escapes differently in repr, JSON and a terminal.
SPECIAL = "\\'\"\xa0é"


def _password(length: int = 0, extra: str = "") -> str:
    base = new_canary("pw") + SPECIAL + extra
    return base + "x" * max(0, length - len(base))


def _client_messages(name: str, password: str, token: str):
    """The real client's messages for a mechanism, fed the challenges tests/hostile_auth.py sends."""
    creds = sasl.Credentials(USER, password=sasl.Secret(password), token=sasl.Secret(token))
    mechanism = sasl.make_mechanism(name, creds, host="echo.smtp-inspector.test", port=587)
    messages = [m for m in [mechanism.start()] if m is not None]
    if name == "LOGIN":
        messages += [mechanism.challenge(b"Username:"), mechanism.challenge(b"Password:")]
    elif name == "CRAM-MD5":
        messages.append(mechanism.challenge(CRAM_CHALLENGE))
    elif name.startswith("SCRAM-"):
        nonce = messages[0].data.split(b"r=")[1]
        salt = base64.b64encode(b"salt-of-16-bytes")
        messages.append(mechanism.challenge(b"r=" + nonce + b"srvnonce,s=" + salt + b",i=4096"))
    return messages


def _secrets_of(name: str, password: str, token: str, messages) -> list[bytes]:
    secret = token if sasl.needs(name) == "token" else password
    out = [secret.encode()]
    for message in messages:
        out += list(message.secret_parts)
    return out


def _redactor_for(password, token, messages) -> redaction.Redactor:
    """What the AUTH step (probes/auth_step.py) knows: the secrets, each line sent, derived parts."""
    redactor = redaction.Redactor([password, token])
    for message in messages:
        if message.carries_secret:
            redactor.add(base64.b64encode(message.data))
            redactor.add(message.data)
            for part in message.secret_parts:
                redactor.add_secret(part)
    return redactor


def _all_forms(secrets: list[bytes]) -> dict[str, bytes]:
    forms = {}
    for secret in secrets:
        text = secret.decode("utf-8")
        for name, form in leak_forms(text, USER).items():
            forms[f"{text[:6]}/{name}"] = form
    return forms


@pytest.mark.parametrize("name", MECHANISMS)
def test_echo_split_at_every_offset_is_redacted_from_every_rendering(name):
    """Each echo form x each mechanism x the echoed line cut at every offset (in-process)."""
    password, token = _password(), new_canary("tok")
    messages = _client_messages(name, password, token)
    secrets = _secrets_of(name, password, token, messages)
    redactor = _redactor_for(password, token, messages)
    echoes = {**_all_forms(secrets), "AUTH line": base64.b64encode(messages[-1].data)}
    echoes = {form: name for name, form in echoes.items()}          # one run per distinct form
    echoes = {name: form for form, name in echoes.items()}
    for form_name, form in echoes.items():
        line = b"535-5.7.8 you sent " + form + b" !\r\n"
        for cut in range(1, len(line)):
            transcript = Transcript(redactor=redactor)
            transcript.received(line[:cut], tls=True, step="auth")
            transcript.received(line[cut:], tls=True, step="auth")
            transcript.received(b"535 5.7.8 no\r\n", tls=True, step="auth")
            entries = transcript.freeze()
            rendered = "\n".join([render_transcript(entries), render_transcript(entries, chunks=True),
                                  json.dumps([transcript_entry(e) for e in entries])]).encode()
            for leak_name, leak in echoes.items():
                assert leak not in rendered, f"{leak_name} leaked (echo {form_name}, cut at {cut})"


def test_a_cut_prefix_and_suffix_of_a_long_secret_are_redacted():
    """A server (or our own quoting) that cuts a 120-character password keeps neither end of it."""
    password = _password(120)
    redactor = redaction.Redactor([password])
    for piece in (password[:50], password[-50:], password[:7], repr(password[:50])[1:-1]):
        text = f"error: {piece}"
        assert piece[:7] not in redactor.scrub(text), piece[:12]
    assert redactor.scrub(redaction.quoted("334 " + password)) == repr("334 [redacted]")


def test_our_own_words_are_not_scrubbed_when_the_password_is_one_of_them():
    """Issue 19 case 8: password ``wrong`` must not turn our 535 explanation into a riddle."""
    redactor = redaction.default()
    redactor.add_secret("wrong")
    try:
        text = "auth: PLAIN rejected: bad credentials: wrong user name or password (or token)"
        assert redaction.scrub_output(text) == text
        assert redaction.scrub_output("535 5.7.8 wrong") == "535 5.7.8 [redacted]"
    finally:
        redactor._forms = tuple(f for f in redactor._forms if b"wrong" not in f and b"d3Jvbm" not in f)


# ------------------------------------------------------------------ the real command

def _echo_everything(password: str, token: str):
    """A final reply echoing, one line each, every form of every secret, each line in two segments
    cut in the middle of the echoed form; then a 535."""
    def final(exchange, conn):
        secrets = [password.encode(), token.encode(), *exchange.derived]
        forms = [*_all_forms(secrets).values(), *exchange.lines]
        for index, form in enumerate(forms):
            # every other line ends in a bare LF: its anomaly evidence quotes the line (issue 21)
            line = b"535-5.7.8 echo " + form + (b"\n" if index % 2 else b"\r\n")
            send_split(conn, line, 15 + len(form) // 2)
        conn.sendall(b"535 5.7.8 Error: authentication failed\r\n")
    return final


@pytest.mark.parametrize("name", MECHANISMS)
def test_probe_never_prints_an_echoed_secret(tmp_path, name):
    password, token = _password(), new_canary("tok")
    env = {"SMTP_INSPECTOR_PASSWORD": password, "SMTP_INSPECTOR_TOKEN": token}
    with ScriptedServer(auth_server(name, _echo_everything(password, token))) as server:
        for output in (["-v"], ["--json"]):
            save = tmp_path / output[0].strip("-")
            done = run_inspector("probe", f"{server.host}:{server.port}", "--plain",
                                 "--allow-plaintext-auth", "--auth", name, "--user", USER,
                                 "--timeout", "5", "--deadline", "20", *output, "--save", str(save),
                                 env=env)
            assert done.returncode == 16, done.stdout[-600:]
            assert b"[redacted]" in done.stdout
            assert done.stderr.count(b"\n") == 1 and done.stderr.startswith(b"saved "), done.stderr
            assert_no_leak([password, token], USER, collect(done, save))


@pytest.mark.parametrize("behaviour", ["challenge-not-base64", "malformed-reply", "oauth-json"])
def test_errors_quoting_server_text_redact_before_they_cut(tmp_path, behaviour):
    """The error line quotes ~60 characters of server text: a 120-character password (and its
    escaped forms) is redacted first, then cut; nothing of it reaches stdout, JSON or stderr."""
    password = _password(120, extra="\t")      # LOGIN takes a TAB; SASLprep (SCRAM) would not
    token = new_canary("tok") + "y" * 80
    name = "XOAUTH2" if behaviour == "oauth-json" else "LOGIN"

    def final(exchange, conn):
        if behaviour == "challenge-not-base64":
            conn.sendall(b"334 !" + repr(password).encode() + b"\r\n")
        elif behaviour == "malformed-reply":
            conn.sendall(b"5x5 " + password.encode() + b"\\t" + password.encode("latin-1", "replace")
                         + b"\r\n")
        else:
            doc = json.dumps({"status": "401", "echo": token, "nested": [[[token]]]}).encode()
            conn.sendall(b"334 " + base64.b64encode(doc) + b"\r\n")
            for _ in exchange.lines:
                pass
        conn.sendall(b"535 5.7.8 no\r\n")

    env = {"SMTP_INSPECTOR_PASSWORD": password, "SMTP_INSPECTOR_TOKEN": token}
    with ScriptedServer(auth_server(name, final)) as server:
        for output in ([], ["--json"]):
            done = run_inspector("probe", f"{server.host}:{server.port}", "--plain",
                                 "--allow-plaintext-auth", "--auth", name, "--user", USER,
                                 "--timeout", "3", "--deadline", "10", *output, env=env)
            assert done.returncode in (16,), done.stdout[-800:]
            texts = collect(done)
            assert_no_leak([password, token], USER, texts)
            for where, data in texts.items():
                assert password[:20].encode() not in data, where


def test_wrong_password_keeps_our_explanation_whole():
    """Issue 19 case 8, end to end: password ``wrong`` against a server answering 535 5.7.8."""
    def final(exchange, conn):
        conn.sendall(b"535 5.7.8 Error: authentication failed: wrong\r\n")

    with ScriptedServer(auth_server("PLAIN", final)) as server:
        done = run_inspector("probe", f"{server.host}:{server.port}", "--plain", "--allow-plaintext-auth",
                             "--auth", "PLAIN", "--user", USER, "--timeout", "3",
                             env={"SMTP_INSPECTOR_PASSWORD": "wrong"})
    assert done.returncode == 16
    assert b"bad credentials: wrong user name or password" in done.stdout
    assert b"authentication failed: [redacted]" in done.stdout


def test_scram_proof_and_cram_digest_echoed_alone(tmp_path):
    """The README promises the CRAM-MD5 digest and the SCRAM proof are redacted like a password."""
    for name in ("CRAM-MD5", "SCRAM-SHA-256"):
        seen = {}

        def final(exchange, conn, seen=seen):
            seen["derived"] = exchange.derived
            for value in exchange.derived:
                send_split(conn, b"535-5.7.8 " + value + b"\r\n", 10 + len(value) // 3)
            conn.sendall(b"535 5.7.8 no\r\n")

        with ScriptedServer(auth_server(name, final)) as server:
            done = run_inspector("probe", f"{server.host}:{server.port}", "--plain",
                                 "--allow-plaintext-auth", "--auth", name, "--user", USER, "-v",
                                 "--timeout", "3", env={"SMTP_INSPECTOR_PASSWORD": _password()})
        assert done.returncode == 16
        assert seen["derived"]
        for value in seen["derived"]:
            assert value not in done.stdout, name
            assert value[:len(value) // 2] not in done.stdout, name


# ------------------------------------------------------------------ replay

def _capture_with_pipelined_login(path, password: str):
    """A client that pipelines its AUTH LOGIN responses before the 334s (all in one segment), and
    a server that echoes the decoded password in its 535 (issue 21)."""
    from inspector.replay.writer import CaptureWriter, TcpConversation

    user64, pass64 = base64.b64encode(USER.encode()), base64.b64encode(password.encode())
    with open(path, "wb") as stream:
        writer = CaptureWriter(stream)
        conv = TcpConversation(writer.write, ("10.0.0.1", 40001), ("10.0.0.25", 25))
        ts = conv.handshake(1_700_000_000.0)
        ts = conv.send(ts, False, b"220 mx.example ESMTP\r\n")
        ts = conv.send(ts, True, b"EHLO c.example\r\n")
        ts = conv.send(ts, False, b"250-mx.example\r\n250 AUTH LOGIN PLAIN\r\n")
        ts = conv.send(ts, True, b"AUTH LOGIN\r\n" + user64 + b"\r\n" + pass64 + b"\r\n")
        ts = conv.send(ts, False, b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n")
        ts = conv.send(ts, False, b"535-5.7.8 " + password.encode() + b"\r\n535 5.7.8 " + pass64[:30]
                       + b"\r\n")
        ts = conv.send(ts, True, b"AUTH PLAIN " + base64.b64encode(b"\0" + USER.encode() + b"\0"
                                                               + password.encode()) + b"\r\n")
        ts = conv.send(ts, False, b"535 5.7.8 you said " + password.encode()[:25] + b"\r\n")
        ts = conv.send(ts, True, b"QUIT\r\n")
        ts = conv.send(ts, False, b"221 bye\r\n")
        conv.close(ts)


def test_replay_pipelined_auth_login_is_redacted_and_exposed(tmp_path):
    password = _password()
    capture = tmp_path / "login.pcap"
    _capture_with_pipelined_login(capture, password)
    outputs = {}
    for args in (["--session", "1"], ["--session", "1", "--json"], [], ["--json"]):
        done = run_inspector("replay", str(capture), *args)
        assert done.returncode == 1, done.stderr
        outputs[" ".join(args)] = done.stdout
        assert_no_leak([password], USER, collect(done))
        assert password[:16].encode() not in done.stdout
    assert b"credentials-exposed" in outputs[""]
    assert b"-> [redacted" in outputs["--session 1"]
    assert b"-> VXNl" not in outputs["--session 1"] and b"-> " + base64.b64encode(password.encode())[:8] \
        not in outputs["--session 1"]


def test_transcript_rendering_escapes_every_invisible_character():
    """Bidi overrides and isolates, C0, C1, DEL and zero-width characters are shown as escapes."""
    hostile = "\x1b[31m\x07\x08\x00\x7f\x85\x9b\u202a\u202e\u2066\u2069\u200b\ufeff"
    transcript = Transcript()
    transcript.received(("250 " + hostile + "\r\n").encode(), tls=False, step="ehlo")
    text = render_transcript(transcript.freeze())
    for char in hostile.replace("[31m", ""):
        assert char not in text
    assert "\\u202e" in text and "\\x1b" in text


def test_guard_on_the_way_out_keeps_json_valid():
    from inspector.render.untrusted import guard

    document = json.dumps({"v": "a\x7f\x85\u202eb"}, ensure_ascii=False)
    assert json.loads(guard(document)) == {"v": "a\x7f\x85\u202eb"}
    assert "\u202e" not in guard(document)


def test_socket_free_redactor_is_thread_safe():
    """ports runs probes in threads; adding secrets while another thread scrubs must not fail."""
    import threading

    redactor = redaction.Redactor()
    errors = []

    def add():
        for i in range(200):
            redactor.add_secret(f"secret-{i}-abcdefgh")

    def scrub():
        try:
            for _ in range(200):
                redactor.scrub("text secret-5-abcdefgh more")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=add), threading.Thread(target=scrub)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert redactor.scrub("x secret-5-abcdefgh y") == "x [redacted] y"


def test_guard_skips_its_regex_only_for_text_it_would_leave_unchanged():
    """guard() returns a printable text (newlines aside) as it is: that is right only if every
    character its class escapes is non-printable, so check every code point."""
    import re

    from inspector.render.untrusted import GUARDED_CHARACTERS, guard

    guarded = re.compile(GUARDED_CHARACTERS)
    assert [hex(c) for c in range(0x110000) if chr(c).isprintable() and guarded.match(chr(c))] == []
    for text in ("220 mail.example ESMTP\n", "RFC 5321 §4.1.1.2 \u00e9\n\n", "tab\there", "a\x1b[31mb",
                 "\u202eevil", "nbsp\u00a0x", "", "\n"):
        assert guard(text) == guarded.sub(lambda m: (f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x7F
                                                     else f"\\u{ord(m.group()):04x}"), text)


def test_printable_text_is_shown_the_same_however_often_it_was_seen_before():
    """A printable character above U+00FF (Cyrillic, CJK, an emoji) is shown raw every time:
    the escape decision is the character's, not whether an equal string was shown earlier."""
    from inspector.render.untrusted import shown

    for text in ("Привет", "邮件服务器", "✉ ok", "déjà vu"):
        assert [shown(text + "\x1b") for _ in range(3)] == [text + "\\x1b"] * 3
    assert shown("\u202eevil") == shown("\u202eevil") == "\\u202eevil"
