"""``send`` against the lab server (aiosmtpd, inspector/lab/server.py): the message arrives as sent.

The lab keeps every message it accepts (``LabServer.messages``); its
``pipelining-out-of-order`` and ``pipelining-missing-reply`` faults answer a
pipelined group wrongly, which ``send`` must report rather than mis-match.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from inspector.lab import DEMO_PASSWORD, DEMO_USER

SEND_SCHEMA = json.loads(resources.files("inspector").joinpath("schema", "send.schema.json").read_text())


@pytest.fixture
def send(run_cli, tmp_path):
    secret = tmp_path / "password"
    secret.write_text(DEMO_PASSWORD)

    def run(lab, *args, timeout=30):
        done, document = run_cli("send", f"127.0.0.1:{lab.port}", "--servername", lab.hostname,
                                 "--cafile", lab.ca_path, "--auth", "auto", "--user", DEMO_USER,
                                 "--password-file", str(secret), "--from", DEMO_USER, "--json",
                                 "--timeout", "3", *args, timeout=timeout)
        assert document is not None, done.stderr
        jsonschema.validate(document, SEND_SCHEMA, format_checker=jsonschema.FormatChecker())
        return done, document

    return run


def _summary(document):
    tx = document["transaction"]
    return (document["exit_code"], tx["status"], tx["accepted"],
            [(r["command"], r["reply"]["code"], r["reply"]["enhanced_code"]) for r in tx["replies"]])


def test_pipelined_and_one_at_a_time_give_the_same_result(lab_server, send, tmp_path):
    lab = lab_server()
    message = tmp_path / "m.eml"
    message.write_bytes(b"Subject: same\r\n\r\n.dot\r\nbody\r\n")
    results = []
    for extra in ((), ("--no-pipelining",)):
        done, document = send(lab, "--to", "a@lab.test", "--to", "b@lab.test", "--data", str(message),
                              *extra)
        assert done.returncode == 0, document["error"]
        assert document["transaction"]["pipelined"] is (not extra)
        results.append(_summary(document)[:3])
        sends = [e for e in document["transcript"] if e["direction"] == "send" and e["step"] in
                 ("mail", "rcpt", "data")]
        assert [e["text"].split()[0] for e in sends][:4] == ["MAIL", "RCPT", "RCPT", "DATA"]
    assert results[0] == results[1]
    assert [m.content for m in lab.messages] == [b"Subject: same\r\n\r\n.dot\r\nbody\r\n"] * 2
    assert [m.rcpt_tos for m in lab.messages] == [["a@lab.test", "b@lab.test"]] * 2


def test_out_of_order_replies_are_reported_not_mis_matched(lab_server, send):
    lab = lab_server(fault="pipelining-out-of-order")
    done, document = send(lab, "--to", "a@lab.test")
    ids = {f["id"] for f in document["findings"]}
    assert "pipelining-reply-mismatch" in ids
    assert done.returncode == 17 and document["transaction"]["status"] == "not-sent"
    assert lab.messages == []   # nothing was sent as if the replies had matched
    # One at a time, the same server gives every reply in its place.
    done, document = send(lab_server(fault="pipelining-out-of-order"), "--to", "a@lab.test",
                          "--no-pipelining")
    assert "pipelining-reply-mismatch" not in {f["id"] for f in document["findings"]}


def test_a_missing_reply_is_reported(lab_server, send):
    lab = lab_server(fault="pipelining-missing-reply")
    done, document = send(lab, "--to", "a@lab.test", "--to", "b@lab.test")
    ids = {f["id"] for f in document["findings"]}
    assert ids & {"pipelining-reply-mismatch", "pipelining-reply-missing"}, ids
    assert done.returncode in (18, 19) and lab.messages == []


def test_bare_lf_is_refused_or_fixed_never_silently(run_cli, lab_server, send, tmp_path):
    lab = lab_server()
    message = tmp_path / "lf.eml"
    message.write_bytes(b"Subject: lf\n\nline one\nline two\n")
    done, document = run_cli("send", f"127.0.0.1:{lab.port}", "--from", "a@lab.test", "--to",
                             "b@lab.test", "--data", str(message))
    assert done.returncode == 2 and "bare LF" in done.stderr and "--fix-line-ends" in done.stderr
    done, document = send(lab, "--to", "b@lab.test", "--data", str(message), "--fix-line-ends")
    assert done.returncode == 0
    assert "line-ends-fixed" in {f["id"] for f in document["findings"]}
    assert lab.messages[-1].content == b"Subject: lf\r\n\r\nline one\r\nline two\r\n"


def test_generated_message_and_bcc(lab_server, send):
    lab = lab_server()
    done, document = send(lab, "--to", "a@lab.test", "--cc", "c@lab.test", "--bcc", "hidden@lab.test",
                          "--header", "X-Test: yes", "--body", "hello there")
    assert done.returncode == 0
    [message] = lab.messages
    assert message.rcpt_tos == ["a@lab.test", "c@lab.test", "hidden@lab.test"]
    headers = message.content.split(b"\r\n\r\n")[0]
    assert b"Subject: smtp-inspector test message" in headers and b"X-Test: yes" in headers
    assert b"hidden" not in message.content and b"Message-ID:" in headers
    assert document["transaction"]["queue_id"] == "LAB000001"


def test_non_ascii_address_without_smtputf8_is_refused_clearly(lab_server, send, tmp_path):
    """The lab offers SMTPUTF8; a server that does not is the scripted one below."""
    lab = lab_server()
    done, document = send(lab, "--to", "jörg@lab.test")
    assert done.returncode == 0
    assert lab.messages[0].rcpt_tos == ["jörg@lab.test"]


def test_attachment_and_message_from_standard_input(lab_server, tmp_path):
    import subprocess
    import sys

    lab = lab_server()
    attachment = tmp_path / "report.pdf"
    attachment.write_bytes(b"%PDF-1.4 not really\n")
    common = [sys.executable, "-m", "inspector", "send", f"127.0.0.1:{lab.port}", "--servername",
              lab.hostname, "--cafile", lab.ca_path, "--from", "a@lab.test", "--to", "b@lab.test"]
    done = subprocess.run([*common, "--attach", str(attachment)], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stdout[-400:]
    content = lab.messages[-1].content
    assert b"multipart/mixed" in content and b'filename="report.pdf"' in content
    done = subprocess.run([*common, "--data", "-"], input=b"Subject: stdin\r\n\r\nfrom a pipe\r\n",
                          capture_output=True, timeout=30)
    assert done.returncode == 0
    assert lab.messages[-1].content == b"Subject: stdin\r\n\r\nfrom a pipe\r\n"


def test_lab_prints_what_it_receives(lab_server, send):
    from inspector.lab.run import describe_message

    lab = lab_server()
    printed = []
    lab.on_message = lambda number, message: printed.append(describe_message(number, message))
    done, _ = send(lab, "--to", "a@lab.test", "--body", "printed by lab")
    assert done.returncode == 0
    [text] = printed
    assert text.startswith("received message 1: from <demo@lab.test> to <a@lab.test>")
    assert "  | printed by lab" in text


def test_lab_prints_a_hostile_message_escaped(lab_server, send):
    """What a client sent is untrusted: ``lab`` prints its controls as escapes (render/untrusted.py)."""
    from inspector.lab.run import describe_message

    lab = lab_server()
    printed = []
    lab.on_message = lambda number, message: printed.append(describe_message(number, message))
    done, _ = send(lab, "--to", "a@lab.test", "--body", "bell \x07 and \x1b[2J clear \u202e")
    assert done.returncode == 0
    [text] = printed
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[2J" in text and "\\u202e" in text


def test_plaintext_auth_only_when_asked(lab_server, send):
    """A server with AUTH and no STARTTLS: send refuses to log in (exit 16) and names
    --allow-plaintext-auth, which send accepts: then the message goes, with the warning."""
    lab = lab_server(fault="no-starttls-plain-auth")
    done, document = send(lab, "--to", "a@lab.test")
    assert done.returncode == 16 and "--allow-plaintext-auth" in document["error"]
    assert lab.messages == []
    done, document = send(lab, "--to", "a@lab.test", "--allow-plaintext-auth")
    assert "auth-plaintext-allowed" in {f["id"] for f in document["findings"]}
    assert document["transaction"]["status"] == "queued" and len(lab.messages) == 1
    assert DEMO_PASSWORD not in json.dumps(document)
