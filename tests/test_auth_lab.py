"""probe --auth against the lab server (aiosmtpd): OAuth, SCRAM(-PLUS), plaintext refusal, secrets, canary."""

from __future__ import annotations

import json
import socket
from importlib import resources

import jsonschema
import pytest

from inspector.lab.server import ALL_AUTH_MECHANISMS, DEMO_PASSWORD, DEMO_TOKEN, DEMO_USER, OAUTH_ERROR
from tests.canary import assert_no_leak, collect, new_canary, run_inspector
from tests.scripted_server import ScriptedServer, command_lines

SCHEMAS = resources.files("inspector").joinpath("schema")
PROBE_SCHEMA = json.loads(SCHEMAS.joinpath("probe-result.schema.json").read_text())
TABLE_SCHEMA = json.loads(SCHEMAS.joinpath("auth-table.schema.json").read_text())


def _validate(document, schema=PROBE_SCHEMA):
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())


def _target(lab, *extra):
    return (f"{lab.host}:{lab.port}", "--servername", lab.hostname, "--cafile", lab.ca_path,
            "--timeout", "5", *extra)


@pytest.fixture
def full_lab(lab_server):
    return lab_server(auth_mechanisms=ALL_AUTH_MECHANISMS)


def _auth_sends(document):
    return [e for e in document["transcript"] if e["step"] == "auth" and e["direction"] == "send"]


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_oauth_token_accepted(full_lab, mechanism):
    done = run_inspector("probe", *_target(full_lab, "--auth", mechanism, "--user", DEMO_USER, "--json"),
                         env={"SMTP_INSPECTOR_TOKEN": DEMO_TOKEN})
    document = json.loads(done.stdout)
    _validate(document)
    assert done.returncode == 0, done.stderr
    auth = document["auth"]
    assert (auth["mechanism"], auth["status"], auth["code"], auth["enhanced_code"]) == (
        mechanism, "accepted", 235, "2.7.0")
    assert auth["server_error"] is None
    assert all(e["redacted"] for e in _auth_sends(document))
    assert "[token]" in _auth_sends(document)[0]["text"]


@pytest.mark.parametrize("mechanism, acknowledgement", [("XOAUTH2", ""), ("OAUTHBEARER", "AQ==")])
def test_oauth_bad_token_json_error_challenge(full_lab, mechanism, acknowledgement):
    done = run_inspector("probe", *_target(full_lab, "--auth", mechanism, "--user", DEMO_USER, "--json"),
                         env={"SMTP_INSPECTOR_TOKEN": "not-the-token"})
    document = json.loads(done.stdout)
    _validate(document)
    assert done.returncode == 16
    auth = document["auth"]
    assert (auth["status"], auth["code"], auth["enhanced_code"]) == ("rejected", 535, "5.7.8")
    assert json.loads(auth["server_error"]) == OAUTH_ERROR
    assert "bad credentials" in auth["explanation"] and "status 401" in auth["explanation"]
    received = [e["text"] for e in document["transcript"] if e["step"] == "auth" and e["direction"] == "recv"]
    assert received[0].startswith("334 ey")                       # base64 of '{"...'
    sends = _auth_sends(document)
    assert sends[1]["text"] == acknowledgement + "\r\n"         # the client's answer to the error
    assert any("status 401" in e["text"] for e in document["transcript"] if e["direction"] == "note")
    assert "auth-rejected" in {f["id"] for f in document["findings"]}


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256",
                                       "SCRAM-SHA-256-PLUS"])
def test_password_mechanisms_on_the_lab(full_lab, mechanism):
    ok = run_inspector("probe", *_target(full_lab, "--auth", mechanism, "--user", DEMO_USER, "--json"),
                       env={"SMTP_INSPECTOR_PASSWORD": DEMO_PASSWORD})
    bad = run_inspector("probe", *_target(full_lab, "--auth", mechanism, "--user", DEMO_USER, "--json"),
                        env={"SMTP_INSPECTOR_PASSWORD": "wrong-password"})
    good, wrong = json.loads(ok.stdout), json.loads(bad.stdout)
    _validate(good)
    _validate(wrong)
    assert (ok.returncode, good["auth"]["status"], good["auth"]["code"]) == (0, "accepted", 235)
    assert (bad.returncode, wrong["auth"]["status"], wrong["auth"]["code"]) == (16, "rejected", 535)
    if mechanism.startswith("SCRAM"):
        assert good["auth"]["server_verified"] is True
    if mechanism.endswith("-PLUS"):
        assert good["auth"]["channel_binding"] == "tls-server-end-point"
        notes = [e["text"] for e in good["transcript"] if e["direction"] == "note"]
        assert sum("tls-exporter" in n for n in notes) == 1


def test_scram_wrong_server_signature(lab_server):
    lab = lab_server(auth_mechanisms=ALL_AUTH_MECHANISMS, fault="scram-bad-signature")
    done = run_inspector("probe", *_target(lab, "--auth", "SCRAM-SHA-256", "--user", DEMO_USER, "--json"),
                         env={"SMTP_INSPECTOR_PASSWORD": DEMO_PASSWORD})
    document = json.loads(done.stdout)
    _validate(document)
    assert done.returncode == 16
    assert document["auth"]["status"] == "error" and document["auth"]["server_verified"] is False
    findings = {f["id"]: f for f in document["findings"]}
    assert "scram-server-signature-invalid" in findings
    assert "impostor" in findings["scram-server-signature-invalid"]["evidence"]
    assert _auth_sends(document)[-1]["text"] == "*\r\n"           # RFC 4954 §4: cancelled


def test_auto_picks_the_strongest(full_lab):
    done = run_inspector("probe", *_target(full_lab, "--auth", "auto", "--user", DEMO_USER, "--json"),
                         env={"SMTP_INSPECTOR_PASSWORD": DEMO_PASSWORD})
    document = json.loads(done.stdout)
    assert done.returncode == 0
    assert document["auth"]["mechanism"] == "SCRAM-SHA-256-PLUS"


def test_mechanism_not_offered(lab_server):
    lab = lab_server()  # PLAIN LOGIN only
    done = run_inspector("probe", *_target(lab, "--auth", "XOAUTH2", "--user", DEMO_USER, "--json"),
                         env={"SMTP_INSPECTOR_TOKEN": DEMO_TOKEN})
    document = json.loads(done.stdout)
    assert done.returncode == 16
    assert document["auth"]["status"] == "not-offered"
    assert "auth-mechanism-not-offered" in {f["id"] for f in document["findings"]}
    assert _auth_sends(document) == []


# -- plaintext refusal ----------------------------------------------------------------

def test_refuses_plain_auth_without_tls(lab_server):
    lab = lab_server(fault="no-starttls-plain-auth")
    done = run_inspector("probe", *_target(lab, "--no-require-tls", "--auth", "PLAIN", "--user", DEMO_USER,
                                           "--json"), env={"SMTP_INSPECTOR_PASSWORD": DEMO_PASSWORD})
    document = json.loads(done.stdout)
    _validate(document)
    assert done.returncode == 16, done.stderr
    assert document["capabilities"]["before_tls"]["auth_mechanisms"] == ["PLAIN", "LOGIN"]
    assert document["auth"]["status"] == "refused"
    assert "auth-refused-plaintext" in {f["id"] for f in document["findings"]}
    assert not any(e["direction"] == "send" and "AUTH" in e["text"] for e in document["transcript"])
    assert document["error"].startswith("auth: refusing to send credentials without TLS")


def test_refusal_is_seen_by_the_server_as_no_auth_at_all():
    """A scripted server records every line: no AUTH may arrive."""
    seen: list[bytes] = []

    def script(conn: socket.socket, stop):
        conn.sendall(b"220 plain.test ESMTP\r\n")
        for line in command_lines(conn):
            seen.append(line)
            if line.upper().startswith(b"EHLO"):
                conn.sendall(b"250-plain.test\r\n250 AUTH PLAIN LOGIN\r\n")
            elif line.upper() == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"235 2.7.0 ok\r\n")

    with ScriptedServer(script) as server:
        done = run_inspector("probe", f"{server.host}:{server.port}", "--plain", "--auth", "PLAIN",
                             "--user", "u", "--timeout", "5", env={"SMTP_INSPECTOR_PASSWORD": "pw-123456"})
    assert done.returncode == 16
    assert b"auth-refused-plaintext" in done.stdout
    assert not any(line.upper().startswith(b"AUTH") for line in seen)


def test_allow_plaintext_auth_warns(lab_server):
    lab = lab_server(fault="no-starttls-plain-auth")
    done = run_inspector("probe", *_target(lab, "--no-require-tls", "--auth", "PLAIN", "--user", DEMO_USER,
                                           "--allow-plaintext-auth", "--json"),
                         env={"SMTP_INSPECTOR_PASSWORD": DEMO_PASSWORD})
    document = json.loads(done.stdout)
    _validate(document)
    assert document["auth"]["status"] == "accepted"
    findings = {f["id"]: f["severity"] for f in document["findings"]}
    assert findings["auth-plaintext-allowed"] == "warning"
    # The login worked, but the server offers passwords where no TLS is possible: an error
    # finding, exit 1 (issue 13 case 8; it was 0).
    assert findings["auth-without-tls-possible"] == "error"
    assert done.returncode == 1


def test_no_auth_after_a_bad_certificate(full_lab, tmp_path):
    # Without --cafile the lab CA is unknown: exit 15, and no secret is ever sent.
    done = run_inspector("probe", f"{full_lab.host}:{full_lab.port}", "--servername", full_lab.hostname,
                         "--auth", "PLAIN", "--user", DEMO_USER, "--json",
                         env={"SMTP_INSPECTOR_PASSWORD": DEMO_PASSWORD})
    document = json.loads(done.stdout)
    assert done.returncode == 15
    assert document["auth"]["status"] == "skipped"
    assert _auth_sends(document) == []


# -- secrets on the command line -------------------------------------------------------

@pytest.mark.parametrize("flag", ["--password", "--token", "--password=hunter2-canary"])
def test_secret_flags_are_refused_without_echo(full_lab, flag):
    args = [flag, "hunter2-canary"] if "=" not in flag else [flag]
    done = run_inspector("probe", *_target(full_lab, "--auth", "PLAIN", "--user", DEMO_USER, *args))
    assert done.returncode == 2
    assert b"hunter2" not in done.stdout + done.stderr
    assert b"SMTP_INSPECTOR_" in done.stderr


def test_missing_password_without_terminal_is_a_usage_error(full_lab):
    done = run_inspector("probe", *_target(full_lab, "--auth", "PLAIN", "--user", DEMO_USER))
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "SMTP_INSPECTOR_PASSWORD" in lines[0] and "Traceback" not in lines[0]


@pytest.mark.parametrize("args, words", [
    (["--auth", "PLAIN"], "--user"),
    (["--user", "x"], "need --auth"),
    (["--auth", "GSSAPI", "--user", "x"], "unknown mechanism"),
    (["--auth", "XOAUTH2", "--user", "x"], "SMTP_INSPECTOR_TOKEN"),
    (["--auth", "PLAIN", "--user", "x", "--password-file", "/nonexistent/pw"], "cannot read --password-file"),
])
def test_auth_usage_errors(args, words):
    done = run_inspector("probe", "127.0.0.1:9", *args, env={"SMTP_INSPECTOR_PASSWORD": "pw-123456"})
    assert done.returncode == 2
    assert words in done.stderr.decode()


def test_password_and_token_files(full_lab, tmp_path):
    (tmp_path / "pw").write_text(DEMO_PASSWORD + "\n")
    (tmp_path / "tok").write_text(DEMO_TOKEN + "\n")
    done = run_inspector("probe", *_target(full_lab, "--auth", "CRAM-MD5", "--user", DEMO_USER,
                                           "--password-file", str(tmp_path / "pw")))
    assert done.returncode == 0, done.stdout.decode()[-500:]
    done = run_inspector("probe", *_target(full_lab, "--auth", "XOAUTH2", "--user", DEMO_USER,
                                           "--token-file", str(tmp_path / "tok")))
    assert done.returncode == 0


# -- --auth all ----------------------------------------------------------------------

def test_auth_all_on_the_lab(full_lab):
    done = run_inspector("probe", *_target(full_lab, "--auth", "all", "--user", DEMO_USER, "--json"),
                         env={"SMTP_INSPECTOR_PASSWORD": DEMO_PASSWORD, "SMTP_INSPECTOR_TOKEN": DEMO_TOKEN})
    document = json.loads(done.stdout)
    _validate(document, TABLE_SCHEMA)
    for probe in [document["discovery"], *document["probes"]]:
        _validate(probe)
    rows = {r["mechanism"]: r for r in document["rows"]}
    for mechanism in ALL_AUTH_MECHANISMS:
        assert rows[mechanism]["status"] == "accepted", rows[mechanism]
        assert rows[mechanism]["offered_before_tls"] is False and rows[mechanism]["offered_after_tls"] is True
    assert rows["SCRAM-SHA-512"]["status"] == "not-offered"
    assert done.returncode == 0


def test_auth_all_text_table_without_token(full_lab):
    done = run_inspector("probe", *_target(full_lab, "--auth", "all", "--user", DEMO_USER),
                         env={"SMTP_INSPECTOR_PASSWORD": "wrong-password"})
    text = done.stdout.decode()
    assert done.returncode == 16
    header = next(line for line in text.splitlines() if line.startswith("mechanism"))
    assert header.split() == ["mechanism", "before", "TLS", "after", "TLS", "result", "code", "enhanced",
                              "answered", "in", "explanation"]
    plain = next(line for line in text.splitlines() if line.startswith("PLAIN "))
    assert "rejected" in plain and "535" in plain and "5.7.8" in plain and "bad credentials" in plain
    xoauth = next(line for line in text.splitlines() if line.startswith("XOAUTH2 "))
    assert "skipped" in xoauth and "no token" in xoauth


# -- the canary: no secret anywhere ---------------------------------------------------------

def test_canary_lab_every_path(lab_server, tmp_path):
    password, token = new_canary("pw"), new_canary("tok")
    wrong_password, wrong_token = new_canary("wrongpw"), new_canary("wrongtok")
    lab = lab_server(auth_mechanisms=ALL_AUTH_MECHANISMS, password=password, token=token)
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "pw").write_text(password)
    (secrets_dir / "tok").write_text(token)
    secrets = [password, token, wrong_password, wrong_token]
    runs = 0
    for mechanism in ALL_AUTH_MECHANISMS:
        for env, expected in (({}, 0), ({"SMTP_INSPECTOR_PASSWORD": wrong_password,
                                          "SMTP_INSPECTOR_TOKEN": wrong_token}, 16)):
            files = [] if env else ["--password-file", str(secrets_dir / "pw"),
                                    "--token-file", str(secrets_dir / "tok")]
            for output in (["-v"], ["--json"]):
                save = tmp_path / f"save-{runs}"
                done = run_inspector("probe", *_target(lab, "--auth", mechanism, "--user", DEMO_USER,
                                                       *files, *output, "--save", str(save)), env=env)
                runs += 1
                assert done.returncode == expected, (mechanism, env, done.stdout[-400:])
                assert_no_leak(secrets, DEMO_USER, collect(done, save))
    for output in (["-v"], ["--json"]):
        for env in ({"SMTP_INSPECTOR_PASSWORD": password, "SMTP_INSPECTOR_TOKEN": token},
                    {"SMTP_INSPECTOR_PASSWORD": wrong_password, "SMTP_INSPECTOR_TOKEN": wrong_token}):
            save = tmp_path / f"save-{runs}"
            done = run_inspector("probe", *_target(lab, "--auth", "all", "--user", DEMO_USER, *output,
                                                   "--save", str(save)), env=env)
            runs += 1
            assert done.returncode in (0, 16)
            assert_no_leak(secrets, DEMO_USER, collect(done, save))


def test_canary_hostile_server_echoes_the_secret(tmp_path):
    """A server that repeats the AUTH line in its reply must not make us print the secret."""
    password = new_canary("pw")

    def script(conn: socket.socket, stop):
        conn.sendall(b"220 echo.test ESMTP\r\n")
        for line in command_lines(conn):
            if line.upper().startswith(b"EHLO"):
                conn.sendall(b"250-echo.test\r\n250 AUTH PLAIN\r\n")
            elif line.upper().startswith(b"AUTH"):
                conn.sendall(b"535-5.7.8 you sent " + line + b"\r\n535 5.7.8 " + line[11:] + b"\r\n")
            elif line.upper() == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return

    with ScriptedServer(script) as server:
        for output in (["-v"], ["--json"]):
            save = tmp_path / output[0].strip("-")
            done = run_inspector("probe", f"{server.host}:{server.port}", "--plain", "--allow-plaintext-auth",
                                 "--auth", "PLAIN", "--user", "u", "--timeout", "5", *output,
                                 "--save", str(save), env={"SMTP_INSPECTOR_PASSWORD": password})
            assert done.returncode == 16
            assert b"[redacted]" in done.stdout
            assert_no_leak([password], "u", collect(done, save))
