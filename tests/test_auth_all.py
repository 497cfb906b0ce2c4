"""``probe --auth all``: against a server with a failed-login penalty, and under one deadline.

Issue 13 case 9: Dovecot delays each failed login from an address more (anvil's
auth penalty, up to 15 s, plus auth_failure_delay of 2 s for every failure). Run
one after another, the mechanisms' delays add up (38 s) and the later ones end in
"no answer within the step timeout" although Dovecot does answer 535. The real
Dovecot submission service is the peer (scripts/dovecot-submission).

Issue 21 "Deadlines": every connection of ``--auth all`` shares one deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jsonschema

from inspector.exitcodes import ExitCode
from inspector.probes.auth_all import run_auth_all
from inspector.probes.auth_step import AuthRequest
from inspector.probes.session import ProbeConfig
from inspector.smtp import sasl
from tests.scripted_server import ScriptedServer, command_lines

SCHEMA = json.loads(open("inspector/schema/auth-table.schema.json").read())
WRONG = "not-carols-password-7"


def dovecot_all(server, password: str, **kwargs):
    user = server.users[0][0]
    request = AuthRequest("ALL", sasl.Credentials(user=user, password=sasl.Secret(password)))
    return run_auth_all(ProbeConfig(server.host, server.ports["submission"], servername=server.servername,
                                    cafile=server.cafile, auth=request, **kwargs))


def test_wrong_password_every_mechanism_gets_the_servers_answer(dovecot_submission):
    started = time.monotonic()
    table = dovecot_all(dovecot_submission, WRONG)
    wall = time.monotonic() - started
    tried = [r for r in table.rows if r.probe is not None]
    assert {r.mechanism for r in tried} == set(dovecot_submission.mechanisms)
    for row in tried:
        assert (row.status, row.code) == ("rejected", 535), row   # the answer, not a timeout
        assert row.answer_s is not None and row.answer_s >= 1.0, row  # auth_failure_delay: 2 s
    # Concurrent sessions: the wall time is about the longest answer, never their sum.
    assert wall < sum(r.answer_s for r in tried), (wall, [r.answer_s for r in tried])
    finding = next(f for f in table.findings if f.id == "auth-answer-delayed")
    assert finding.severity.value == "info" and "535" in finding.evidence
    assert table.exit_code is ExitCode.AUTH


def test_right_password_is_accepted_by_every_mechanism(dovecot_submission):
    user, password = dovecot_submission.users[0]
    table = dovecot_all(dovecot_submission, password)
    tried = [r for r in table.rows if r.probe is not None]
    assert tried and all(r.status == "accepted" for r in tried), tried
    assert table.exit_code is ExitCode.OK, table.error


def test_cli_json_reports_the_answer_time(dovecot_submission):
    server = dovecot_submission
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "probe", f"127.0.0.1:{server.ports['submission']}",
         "--servername", server.servername, "--cafile", server.cafile, "--auth", "all",
         "--user", server.users[0][0], "--json"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "SMTP_INSPECTOR_PASSWORD": WRONG})
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    assert done.returncode == ExitCode.AUTH
    tried = [r for r in data["rows"] if r["probe"] is not None]
    assert tried and all(r["answer_s"] >= 1.0 for r in tried)
    assert WRONG not in done.stdout + done.stderr


# ------------------------------------------------------------------ one deadline for the command


def mute_after_auth(conn, stop):
    """Greets, offers three mechanisms in plaintext, and never answers AUTH."""
    conn.sendall(b"220 mute.example ESMTP\r\n")
    for line in command_lines(conn):
        verb = line.split(b" ")[0].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250-mute.example\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        elif verb == b"AUTH":
            stop.wait(60)
            return
        else:
            conn.sendall(b"250 ok\r\n")


def test_auth_all_shares_one_deadline_across_its_connections():
    with ScriptedServer(mute_after_auth) as server:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "inspector", "probe", f"127.0.0.1:{server.port}", "--plain",
             "--allow-plaintext-auth", "--auth", "all", "--user", "u", "--deadline", "3",
             "--timeout", "30"],
            capture_output=True, text=True, timeout=60, env={**os.environ, "SMTP_INSPECTOR_PASSWORD": "pw"})
        elapsed = time.monotonic() - started
    assert elapsed < 3 + 1.5, f"{elapsed:.2f} s"
    assert "Traceback" not in done.stderr
    assert done.returncode == ExitCode.AUTH, done.stdout
    assert "deadline" in done.stdout
