"""``send`` against the real Postfix 3.7 of the mail lab, verified on Postfix's side.

Ports (scripts/mail-lab/master.cf.in, lab.json ``send_ports``): 10588 submission
with ``smtpd_sender_login_maps`` + ``reject_sender_login_mismatch``; 10589 the
same with ``message_size_limit = 20000``; 10590 inbound SMTP greylisted by
Debian's postgrey (2 s). Messages accepted there go to the hold queue, where
``postcat`` reads them back and ``postsuper -d`` removes them; port 25 is the
lab's ordinary MX (relaying refused without AUTH).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from importlib import resources

import jsonschema
import pytest

from tests.canary import assert_no_leak, collect, run_inspector
from tests.fixtures_mail_lab import state_dir

SEND_SCHEMA = json.loads(resources.files("inspector").joinpath("schema", "send.schema.json").read_text())
LAB = json.loads((state_dir() / "lab.json").read_text()) if (state_dir() / "lab.json").exists() else {}
TAIL = "TAIL-MARKER-never-shown-without-v"
#: The message of the byte-for-byte check: a line that begins with a dot, one that is only a dot,
#: an 8-bit line, a 998-octet line, and enough lines after them that the transcript bound applies.
MESSAGE = (b"Subject: bytes on the wire\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n.a line that begins with a dot\r\n.\r\n"
           b"8-bit: Gr\xc3\xbc\xc3\x9fe aus M\xc3\xbcnchen\r\n" + b"x" * 998 + b"\r\n"
           + b"".join(b"filler line %d\r\n" % n for n in range(20)) + TAIL.encode() + b"\r\n")


def _port(name: str) -> int:
    return LAB["send_ports"][name]


@pytest.fixture
def held():
    """Queue ids to remove from the hold queue after the test."""
    ids: list[str] = []
    yield ids
    for queue_id in filter(None, ids):
        subprocess.run(["postsuper", "-c", LAB["postfix_config"], "-d", queue_id, "hold"],
                       capture_output=True, check=False)


def _send(mail_lab, port, *args, user=None, password=None):
    auth = ("--auth", "PLAIN", "--user", user) if user else ()
    done = run_inspector("send", f"{mail_lab.host}:{port}", "--servername", mail_lab.servername,
                         "--cafile", mail_lab.cafile, "--timeout", "20", "--json", *auth, *args,
                         env={"SMTP_INSPECTOR_PASSWORD": password or ""})
    document = json.loads(done.stdout)
    jsonschema.validate(document, SEND_SCHEMA, format_checker=jsonschema.FormatChecker())
    return done, document


def _postcat(*flags, queue_id) -> bytes:
    return subprocess.run(["postcat", "-c", LAB["postfix_config"], *flags, "-q", queue_id],
                          capture_output=True, check=True).stdout


def _ids(document) -> set[str]:
    return {f["id"] for f in document["findings"]}


def _unique(local: str) -> str:
    return f"{local}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("method", ["DATA", "BDAT"])
def test_submission_with_auth_is_queued_byte_for_byte(mail_lab, tmp_path, held, method):
    user, password = mail_lab.users[0]
    message = tmp_path / "message.eml"
    message.write_bytes(MESSAGE)
    extra = ("--bdat",) if method == "BDAT" else ()
    save = tmp_path / "saved"
    done, document = _send(mail_lab, _port("submission"), "--from", user, "--to", "carol@lab.test",
                           "--data", str(message), "--save", str(save), *extra,
                           user=user, password=password)
    tx = document["transaction"]
    assert done.returncode == 0, document["error"]
    held.append(tx["queue_id"])
    assert (tx["status"], tx["method"], tx["accepted"]) == ("queued", method, ["carol@lab.test"])
    assert "queue-id" in _ids(document)
    # Postfix's side: the held queue file with that id has the same body, line for line
    # (the queue file stores lines without their CRLF; postcat -b prints them with LF).
    body = MESSAGE.split(b"\r\n\r\n", 1)[1]
    assert _postcat("-b", queue_id=tx["queue_id"]) == b"\n" + body.replace(b"\r\n", b"\n")
    envelope = _postcat("-e", queue_id=tx["queue_id"]).decode()
    assert "recipient: carol@lab.test" in envelope and f"sender: {user}" in envelope
    wire = "".join(e["text"] for e in document["transcript"] if e["direction"] == "send")
    if method == "DATA":
        assert tx["stuffed_lines"] == 2
        assert "\r\n..a line that begins with a dot\r\n..\r\n" in wire   # dot-stuffing shown
    else:
        assert "BDAT %d LAST\r\n" % len(MESSAGE) in wire and tx["stuffed_lines"] == 0
    # The body is bounded in every output and saved file; the password never appears.
    outputs = collect(done, save)
    assert all(TAIL.encode() not in text for text in outputs.values()), [
        name for name, text in outputs.items() if TAIL.encode() in text]
    assert "more line(s)" in wire
    assert_no_leak([password], user, outputs)


def test_verbose_shows_the_whole_body(mail_lab, tmp_path, held):
    user, password = mail_lab.users[0]
    message = tmp_path / "message.eml"
    message.write_bytes(MESSAGE)
    done, document = _send(mail_lab, _port("submission"), "--from", user, "--to", "carol@lab.test",
                           "--data", str(message), "-v", user=user, password=password)
    held.append(document["transaction"]["queue_id"])
    assert done.returncode == 0 and TAIL in done.stdout.decode()


def test_relay_denied_without_auth(mail_lab):
    done, document = _send(mail_lab, mail_lab.ports["smtp"], "--from", "someone@elsewhere.test",
                           "--to", "friend@example.com")
    tx = document["transaction"]
    assert done.returncode == 18, document["error"]
    rcpt = next(r for r in tx["replies"] if r["command"].startswith("RCPT"))
    assert (rcpt["reply"]["code"], rcpt["reply"]["enhanced_code"], rcpt["kind"]) == (554, "5.7.1",
                                                                                      "relay-refused")
    assert "--auth" in rcpt["advice"]
    assert "recipient-rejected" in _ids(document) and tx["status"] == "not-sent"


def test_sender_not_owned_by_the_login(mail_lab):
    user, password = mail_lab.users[0]
    other = mail_lab.users[1][0]
    done, document = _send(mail_lab, _port("submission"), "--from", other, "--to", "carol@lab.test",
                           user=user, password=password)
    rcpt = next(r for r in document["transaction"]["replies"] if r["command"].startswith("RCPT"))
    assert done.returncode == 18
    assert (rcpt["reply"]["code"], rcpt["reply"]["enhanced_code"], rcpt["kind"]) == (
        553, "5.7.1", "sender-not-owned")
    assert "not owned by user" in rcpt["reply"]["lines"][0]


def test_message_over_the_size_limit_is_reported_before_sending(mail_lab):
    user, password = mail_lab.users[0]
    big = "y" * 200 + "\n"
    done, document = _send(mail_lab, _port("small"), "--from", user, "--to", "carol@lab.test",
                           "--body", big * 150, user=user, password=password)
    assert document["capabilities"]["after_tls"]["size"] == LAB["size_limit"]
    assert done.returncode == 17 and "message-over-size-limit" in _ids(document)
    assert not any(e["text"].startswith("MAIL") for e in document["transcript"]
               if e["direction"] == "send")  # nothing sent
    done, document = _send(mail_lab, _port("small"), "--from", user, "--to", "carol@lab.test",
                           "--body", big * 150, "--ignore-size-limit", user=user, password=password)
    mail = document["transaction"]["replies"][0]
    assert done.returncode == 17
    assert (mail["reply"]["code"], mail["reply"]["enhanced_code"], mail["kind"]) == (
        552, "5.3.4", "message-too-big")
    assert "mail-rejected" in _ids(document)


def test_greylisting_by_postgrey_then_accepted_after_the_retry(mail_lab, held):
    sender = _unique("grey") + "@sender.test"
    args = ("--from", sender, "--to", "dave@lab.test", "--no-require-tls", "--plain")
    done, document = _send(mail_lab, _port("greylist"), *args)
    rcpt = next(r for r in document["transaction"]["replies"] if r["command"].startswith("RCPT"))
    assert done.returncode == 18
    assert rcpt["reply"]["code"] == 450 and rcpt["kind"] == "greylisting"
    assert "Greylisted" in rcpt["reply"]["lines"][0]
    assert "greylisted" in _ids(document)
    sender = _unique("grey") + "@sender.test"
    done, document = _send(mail_lab, _port("greylist"), "--from", sender, "--to", "dave@lab.test",
                           "--plain", "--retry-greylist", "3")
    tx = document["transaction"]
    assert done.returncode == 0, document["error"]
    held.append(tx["queue_id"])
    assert tx["status"] == "queued" and tx["greylist_delay_s"] >= 3
    assert [r["reply"]["code"] for r in tx["replies"] if r["command"].startswith("RCPT")] == [450, 250]
    grey = next(f for f in document["findings"] if f["id"] == "greylisted")
    assert "retried after 3" in grey["evidence"] and "accepted" in grey["evidence"]


def test_greylisted_recipients_of_a_pipelined_group_are_retried_after_the_group(mail_lab, held):
    """Each RCPT of the group is answered first; the retries follow, one wait for all."""
    sender = _unique("grey") + "@sender.test"
    done, document = _send(mail_lab, _port("greylist"), "--from", sender, "--to", "erin@lab.test",
                           "--to", "frank@lab.test", "--plain", "--retry-greylist", "3")
    tx = document["transaction"]
    assert done.returncode == 0, document["error"]
    held.append(tx["queue_id"])
    assert tx["pipelined"] and tx["accepted"] == ["erin@lab.test", "frank@lab.test"]
    assert [(r["command"], r["reply"]["code"]) for r in tx["replies"] if r["command"].startswith("RCPT")] == [
        ("RCPT <erin@lab.test>", 450), ("RCPT <frank@lab.test>", 450),
        ("RCPT <erin@lab.test>", 250), ("RCPT <frank@lab.test>", 250)]
    assert 3 <= tx["greylist_delay_s"] < 6   # one wait, not one per recipient


def test_smtputf8_addresses(mail_lab, held):
    user, password = mail_lab.users[0]
    done, document = _send(mail_lab, _port("submission"), "--from", user, "--to", "jörg@lab.test",
                           user=user, password=password)
    tx = document["transaction"]
    assert done.returncode == 0, document["error"]
    held.append(tx["queue_id"])
    mail_line = next(e["text"] for e in document["transcript"] if e["direction"] == "send"
                     and e["text"].startswith("MAIL FROM"))
    assert "SMTPUTF8" in mail_line
    assert "recipient: jörg@lab.test" in _postcat("-e", queue_id=tx["queue_id"]).decode()


def test_pipelined_and_one_at_a_time_give_the_same_result(mail_lab, held):
    user, password = mail_lab.users[0]
    results = []
    for extra in ((), ("--no-pipelining",)):
        done, document = _send(mail_lab, _port("submission"), "--from", user, "--to", "carol@lab.test",
                               "--to", "nobody@example.com", *extra, user=user, password=password)
        tx = document["transaction"]
        held.append(tx["queue_id"])
        results.append((done.returncode, tx["accepted"], tx["status"],
                        [(r["command"], r["reply"]["code"]) for r in tx["replies"]]))
        assert tx["pipelined"] is (not extra)
    assert results[0] == results[1]


def test_dsn_parameters_and_8bitmime_are_declared(mail_lab, tmp_path, held):
    user, password = mail_lab.users[0]
    message = tmp_path / "message.eml"
    message.write_bytes(MESSAGE)
    done, document = _send(mail_lab, _port("submission"), "--from", user, "--to", "carol@lab.test",
                           "--data", str(message), "--notify", "success,failure", "--ret", "hdrs",
                           "--envid", "env-42", user=user, password=password)
    tx = document["transaction"]
    assert done.returncode == 0, document["error"]
    held.append(tx["queue_id"])
    sent = [e["text"] for e in document["transcript"] if e["direction"] == "send"]
    mail = next(t for t in sent if t.startswith("MAIL FROM"))
    rcpt = next(t for t in sent if t.startswith("RCPT TO"))
    assert "BODY=8BITMIME" in mail and "RET=HDRS" in mail and "ENVID=env-42" in mail
    assert "NOTIFY=SUCCESS,FAILURE" in rcpt
    assert "dsn-not-offered" not in _ids(document)


def test_requiretls_is_not_offered_by_postfix(mail_lab):
    user, password = mail_lab.users[0]
    done, document = _send(mail_lab, _port("submission"), "--from", user, "--to", "carol@lab.test",
                           "--requiretls", user=user, password=password)
    assert done.returncode == 17 and "requiretls-not-offered" in _ids(document)
    assert document["transaction"]["status"] == "not-sent"
