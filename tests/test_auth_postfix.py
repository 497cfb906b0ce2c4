"""probe --auth against the real Postfix + Dovecot SASL of the mail lab (587 STARTTLS, 465 implicit TLS).

Dovecot delays every failed login (auth_failure_delay, 2 s) and makes the next
attempt from the same address wait a penalty that doubles with each failure (up to
15 s); a successful login resets it. So every wrong-password run here is followed
by a right-password run, and the step timeout is raised above the penalty.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from tests.canary import assert_no_leak, collect, new_canary, run_inspector

DOVECOT_MECHANISMS = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]
WRONG_PASSWORD = "not-alices-password"
SCHEMAS = resources.files("inspector").joinpath("schema")
PROBE_SCHEMA = json.loads(SCHEMAS.joinpath("probe-result.schema.json").read_text())
TABLE_SCHEMA = json.loads(SCHEMAS.joinpath("auth-table.schema.json").read_text())


def _probe(mail_lab, port, *args, password):
    user = mail_lab.users[0][0]
    done = run_inspector("probe", f"{mail_lab.host}:{port}", "--servername", mail_lab.servername,
                         "--cafile", mail_lab.cafile, "--user", user, "--timeout", "30", *args,
                         env={"SMTP_INSPECTOR_PASSWORD": password})
    return done, (json.loads(done.stdout) if "--json" in args else None)


@pytest.mark.parametrize("mechanism", DOVECOT_MECHANISMS)
@pytest.mark.parametrize("port_name", ["submission", "submissions"])
def test_each_mechanism_accepts_the_right_password(mail_lab, mechanism, port_name):
    assert mechanism in mail_lab.mechanisms
    done, document = _probe(mail_lab, mail_lab.ports[port_name], "--auth", mechanism, "--json",
                            password=mail_lab.users[0][1])
    jsonschema.validate(document, PROBE_SCHEMA, format_checker=jsonschema.FormatChecker())
    auth = document["auth"]
    assert done.returncode == 0, auth
    assert (auth["mechanism"], auth["status"], auth["code"], auth["enhanced_code"]) == (
        mechanism, "accepted", 235, "2.7.0")
    assert auth["explanation"] == "authentication succeeded"
    if mechanism.startswith("SCRAM"):
        assert auth["server_verified"] is True
    if port_name == "submission":
        assert auth["offered_before_tls"] == [] and mechanism in auth["offered_after_tls"]
    else:
        assert auth["offered_before_tls"] is None
    assert [s["name"] for s in document["steps"]][-2:] == ["auth", "quit"]


@pytest.mark.parametrize("mechanism", DOVECOT_MECHANISMS)
def test_each_mechanism_rejects_a_wrong_password(mail_lab, mechanism):
    done, document = _probe(mail_lab, mail_lab.ports["submission"], "--auth", mechanism, "--json",
                            password=WRONG_PASSWORD)
    jsonschema.validate(document, PROBE_SCHEMA, format_checker=jsonschema.FormatChecker())
    auth = document["auth"]
    assert done.returncode == 16
    assert (auth["status"], auth["code"], auth["enhanced_code"]) == ("rejected", 535, "5.7.8")
    assert auth["explanation"].startswith("bad credentials") and auth["rule"] == "RFC 4954 §6"
    assert document["error"].startswith(f"auth: {mechanism} rejected")
    assert "auth-rejected" in {f["id"] for f in document["findings"]}
    _reset_penalty(mail_lab)


def _reset_penalty(mail_lab):
    done, _ = _probe(mail_lab, mail_lab.ports["submission"], "--auth", "PLAIN", password=mail_lab.users[0][1])
    assert done.returncode == 0


def test_wrong_password_text_output_over_implicit_tls(mail_lab):
    done, _ = _probe(mail_lab, mail_lab.ports["submissions"], "--auth", "LOGIN", password=WRONG_PASSWORD)
    text = done.stdout.decode()
    _reset_penalty(mail_lab)
    assert done.returncode == 16
    assert "~> [redacted: base64 of [password]]" in text
    assert "535 5.7.8" in text and "bad credentials" in text
    assert "Result: exit 16 (auth)" in text


def test_auto_picks_scram_sha_256(mail_lab):
    done, document = _probe(mail_lab, mail_lab.ports["submission"], "--auth", "auto", "--json",
                            password=mail_lab.users[0][1])
    assert done.returncode == 0
    assert document["auth"]["mechanism"] == "SCRAM-SHA-256"


def test_auth_all_table(mail_lab):
    done, document = _probe(mail_lab, mail_lab.ports["submission"], "--auth", "all", "--json",
                            password=mail_lab.users[0][1])
    jsonschema.validate(document, TABLE_SCHEMA, format_checker=jsonschema.FormatChecker())
    for probe in [document["discovery"], *document["probes"]]:
        jsonschema.validate(probe, PROBE_SCHEMA, format_checker=jsonschema.FormatChecker())
    rows = {r["mechanism"]: r for r in document["rows"]}
    for mechanism in DOVECOT_MECHANISMS:
        row = rows[mechanism]
        assert (row["status"], row["code"], row["enhanced_code"]) == ("accepted", 235, "2.7.0")
        assert row["offered_before_tls"] is False and row["offered_after_tls"] is True
        assert document["probes"][row["probe"]]["auth"]["mechanism"] == mechanism
    for mechanism in ("XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-256-PLUS"):
        assert rows[mechanism]["status"] == "not-offered"
    assert done.returncode == 0

    text_run, _ = _probe(mail_lab, mail_lab.ports["submission"], "--auth", "all",
                         password=mail_lab.users[0][1])
    lines = text_run.stdout.decode().splitlines()
    for mechanism in DOVECOT_MECHANISMS:
        row = next(line for line in lines if line.split()[:1] == [mechanism])
        assert row.split()[1:6] == ["no", "yes", "accepted", "235", "2.7.0"]


@pytest.mark.parametrize("mechanism, output", [("PLAIN", "--json"), ("SCRAM-SHA-256", "-v")])
def test_canary_against_dovecot(mail_lab, tmp_path, mechanism, output):
    """A wrong canary password: stdout, stderr and the saved files hold it in no encoding.

    (Every mechanism, success and failure, --json, -v and --auth all are covered against
    the lab server in test_auth_lab.py, where failures cost no penalty delay.)
    """
    password, token = new_canary("pw"), new_canary("tok")
    user = mail_lab.users[0][0]
    save = tmp_path / "save"
    done = run_inspector("probe", f"{mail_lab.host}:{mail_lab.ports['submission']}", "--servername",
                         mail_lab.servername, "--cafile", mail_lab.cafile, "--user", user,
                         "--auth", mechanism, "--timeout", "30", output, "--save", str(save),
                         env={"SMTP_INSPECTOR_PASSWORD": password, "SMTP_INSPECTOR_TOKEN": token})
    _reset_penalty(mail_lab)
    assert done.returncode == 16
    assert b"535" in done.stdout
    texts = collect(done, save)
    assert len(texts) == 4          # stdout, stderr, the saved .json and .txt
    assert_no_leak([password, token], user, texts)
