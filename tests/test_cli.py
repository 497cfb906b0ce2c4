"""The command line as a user meets it: arguments, exit codes, JSON against its schema, --save."""

from __future__ import annotations

import json
import pathlib
from importlib import resources

import jsonschema
import pytest

import inspector
from inspector.cli import parse_target
from inspector.errors import UsageError
from inspector.findings import CATALOGUE

SCHEMA = json.loads(resources.files("inspector").joinpath("schema/probe-result.schema.json").read_text())


SEND_SCHEMA = json.loads(resources.files("inspector").joinpath("schema/send.schema.json").read_text())


def validate(document, schema=SCHEMA):
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("text,expected", [
    ("mail.example.org", ("mail.example.org", 587)),
    ("mail.example.org:465", ("mail.example.org", 465)),
    ("127.0.0.1:25", ("127.0.0.1", 25)),
    ("[::1]:2525", ("::1", 2525)),
    ("[::1]", ("::1", 587)),
    ("::1", ("::1", 587)),
])
def test_parse_target(text, expected):
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["", "host:0", "host:65536", "host:abc", ":25", "[::1", "[::1]x"])
def test_parse_target_rejects(text):
    with pytest.raises(UsageError):
        parse_target(text)


@pytest.mark.parametrize("args,needle", [
    (("probe", "127.0.0.1:99999"), "port must be"),
    (("probe", "127.0.0.1", "--plain", "--require-tls"), "contradict"),
    (("probe", "127.0.0.1", "--cafile", "/nonexistent/ca.pem"), "--cafile"),
    (("probe", "127.0.0.1", "--timeout", "-1"), "timeout"),
    (("lab", "--fault", "no-such-fault"), "unknown fault"),
    (("probe", "127.0.0.1", "--servername", "bad name"), "not a valid host name"),
    (("probe", "127.0.0.1", "--servername", "x" * 64 + ".example"), "not a valid host name"),
    (("probe", "a..b:25"), "not a valid host name"),
    (("probe", "127.0.0.1", "--ehlo", "two words"), "--ehlo"),
    (("probe", "127.0.0.1", "--ehlo", "x\r\nRSET"), "--ehlo"),
    (("probe", "127.0.0.1", "--save", "/proc/forbidden"), "--save"),
])
def test_bad_arguments_give_one_line_and_exit_2(run_cli, args, needle):
    completed, _ = run_cli(*args)

    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert needle in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith("smtp-inspector")


def test_help_lists_commands_and_exit_codes(run_cli):
    completed, _ = run_cli("--help")

    assert completed.returncode == 0
    for word in ("probe", "demo", "lab", "exit codes", "13  STARTTLS not offered"):
        assert word in completed.stdout


def _finding_id_enums(node):
    """Every ``id`` enum of a finding object (one with id and severity) anywhere in a schema."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict) and "severity" in props and "enum" in props.get("id", {}):
            yield props["id"]["enum"]
        for value in node.values():
            yield from _finding_id_enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _finding_id_enums(value)


@pytest.mark.parametrize("schema_file", sorted(
    path.name for path in (pathlib.Path(inspector.__file__).parent / "schema").glob("*.json")))
def test_every_schema_knows_every_finding_id(schema_file):
    document = json.loads((pathlib.Path(inspector.__file__).parent / "schema" / schema_file).read_text())
    enums = list(_finding_id_enums(document))

    assert enums, f"{schema_file} describes no findings"
    for ids in enums:
        assert sorted(ids) == sorted(CATALOGUE)


def test_demo_teaches_and_succeeds(run_cli):
    completed, _ = run_cli("demo")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "RFC 3207 §4.2" in out and "  | " in out
    assert "~> EHLO" in out and "<~ 221" in out
    assert "~> AUTH PLAIN [redacted" in out and "<~ 235 " in out  # the login is taught too
    assert "dot-stuffing" in out and "~> ..This line begins with a dot" in out  # so is the message
    assert "~> MAIL FROM:<demo@lab.test>" in out and "<~ 354 " in out
    assert "received message 1: from <demo@lab.test> to <student@lab.test>" in out
    from inspector.lab import DEMO_PASSWORD
    assert DEMO_PASSWORD not in out
    assert out.strip().splitlines()[-1] == "Result: exit 0 (ok)"


def test_send_schema_is_the_probe_schema_plus_the_transaction():
    """send.schema.json must not drift from probe-result.schema.json: the same session members,
    plus ``transaction`` and the transaction's step names."""
    probe = json.loads(resources.files("inspector").joinpath("schema/probe-result.schema.json").read_text())
    send = {**SEND_SCHEMA, "properties": dict(SEND_SCHEMA["properties"])}
    transaction = send["properties"].pop("transaction")
    assert transaction["oneOf"][0] == {"type": "null"}
    assert send["required"] == probe["required"] + ["transaction"]
    steps = send["properties"]["steps"]["items"]["properties"]["name"]["enum"]
    assert [s for s in steps if s not in ("mail", "rcpt", "data")] == \
        probe["properties"]["steps"]["items"]["properties"]["name"]["enum"]
    def session(schema):
        return {key: value for key, value in schema["properties"].items() if key not in ("schema", "steps")}
    assert session(send) == session(probe)
    assert send["properties"]["schema"]["const"] == "smtp-inspector/send/1"


def test_demo_json_validates(run_cli):
    completed, document = run_cli("demo", "--json")

    assert completed.returncode == 0
    validate(document, SEND_SCHEMA)   # demo submits a message: the send result
    assert [f["id"] for f in document["findings"]] == ["queue-id"]
    assert document["transaction"]["status"] == "queued"
    assert document["capabilities"]["after_tls"]["auth_mechanisms"] == ["PLAIN", "LOGIN"]
    assert document["auth"]["status"] == "accepted" and document["auth"]["mechanism"] == "PLAIN"


@pytest.mark.parametrize("fault,finding", [
    ("strip-starttls", "starttls-not-offered"),
    ("mask-starttls", "starttls-masked"),
    ("starttls-454", "starttls-failed"),
    ("inject-after-starttls", "response-injection"),
    ("plain-auth-before-tls", "auth-before-tls"),
    ("execute-pipelined-starttls", "command-injection"),
])
def test_fault_json_validates_and_names_the_finding(lab_server, run_cli, fault, finding):
    server = lab_server(fault=fault)
    check = ("--check-injection",) if finding == "command-injection" else ()
    completed, document = run_cli("probe", f"{server.host}:{server.port}", "--starttls",
                                  "--servername", server.hostname, "--cafile", server.ca_path,
                                  "--json", *check)

    validate(document)
    assert finding in {f["id"] for f in document["findings"]}
    assert completed.returncode == document["exit_code"]


def test_connect_refused_json_validates(run_cli):
    from tests.scripted_server import ScriptedServer

    with ScriptedServer(lambda conn, stop: None) as server:
        port = server.port
    completed, document = run_cli("probe", f"127.0.0.1:{port}", "--json")

    validate(document)
    assert completed.returncode == 10 and document["steps"][0]["status"] == "failed"


def test_save_writes_json_and_text(lab_server, run_cli, tmp_path):
    server = lab_server()
    completed, _ = run_cli("probe", f"{server.host}:{server.port}", "--servername",
                           server.hostname, "--cafile", server.ca_path, "--save", str(tmp_path))

    assert completed.returncode == 0
    [saved_json] = tmp_path.glob("*.json")
    [saved_text] = tmp_path.glob("*.txt")
    validate(json.loads(saved_json.read_text()))
    assert "<~ 221" in saved_text.read_text()


def test_lab_command_serves_until_interrupted():
    import re
    import signal
    import subprocess
    import sys

    from inspector.probes.session import ProbeConfig, run_probe

    process = subprocess.Popen([sys.executable, "-m", "inspector", "lab", "--port", "0",
                                "--fault", "strip-starttls"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = ""
        while "Press Ctrl-C" not in banner:
            line = process.stdout.readline()
            assert line, f"lab exited early: {process.stderr.read()}"
            banner += line
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", banner).group(1))
        assert "strip-starttls" in banner
        result = run_probe(ProbeConfig(host="127.0.0.1", port=port, require_tls=False,
                                       timeout=5.0))
        assert "starttls-not-offered" in result.finding_ids
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "stopped" in stdout


def test_lab_port_in_use_is_a_usage_error(run_cli):
    from tests.scripted_server import ScriptedServer

    with ScriptedServer(lambda conn, stop: None) as busy:
        completed, _ = run_cli("lab", "--port", str(busy.port))

    assert completed.returncode == 2
    assert "cannot listen" in completed.stderr and "Traceback" not in completed.stderr


def test_ctrl_c_keeps_the_transcript_and_exits_130():
    import signal
    import subprocess
    import sys
    import time

    from tests.scripted_server import ScriptedServer

    def slow(conn, stop):
        conn.sendall(b"220-slow.example ESMTP\r\n")
        stop.wait(10)

    with ScriptedServer(slow) as server:
        process = subprocess.Popen([sys.executable, "-m", "inspector", "probe",
                                    f"127.0.0.1:{server.port}", "--starttls"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)

    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert "<- 220-slow.example ESMTP" in stdout
    assert stdout.strip().splitlines()[-1] == "Result: exit 130 (interrupted): greeting: interrupted"


BAD_ARGUMENTS = [
    (["tls", "host:99999"], 2, "port must be a number"),
    (["tls", "127.0.0.1:587", "--tlsa", "bad"], 2, "--tlsa"),
    (["tls", "127.0.0.1:587", "--versions", "TLSv9"], 2, "unknown version"),
    (["tls", "127.0.0.1:587", "--rate", "0"], 2, "a positive number of connections per minute, not 0"),
    (["tls", "127.0.0.1:587", "--rate", "1e3"], 2, "not a number: '1e3'"),
    (["replay", "/nonexistent"], 21, "cannot read"),
    (["replay", "/dev/null"], 21, "not a regular file"),
    (["discover", "notanemail"], 2, "not an e-mail address"),
    (["discover", "x@example.test", "--auth", "all"], 2, "all is for probe"),
    (["ports", "127.0.0.1", "--ports", "abc"], 2, "not a port number"),
    (["interference", "::1"], 2, "IPv4 only"),
    (["probe", "127.0.0.1:587", "--auth", "PLAIN"], 2, "--auth needs --user"),
    (["probe", "127.0.0.1:587", "--auth", "BOGUS", "--user", "a"], 2, "unknown mechanism"),
    (["probe", "127.0.0.1:587", "--timeout", "0"], 2, "more than 0 and at most 86400"),
    (["lab", "--fault", "nope"], 2, "unknown fault"),
    (["nosuchcommand"], 2, "invalid choice"),
]


@pytest.mark.parametrize("argv, code, words", BAD_ARGUMENTS, ids=[" ".join(a) for a, _, _ in BAD_ARGUMENTS])
def test_bad_arguments_give_one_line_and_the_documented_code(run_cli, argv, code, words):
    completed, _ = run_cli(*argv)

    assert completed.returncode == code, completed.stdout + completed.stderr
    assert completed.stdout == ""
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert words in completed.stderr and "Traceback" not in completed.stderr


def test_finding_ids_are_unique_kebab_case_with_a_rule():
    import re

    from inspector.catalogue import KINDS

    ids = [kind.id for kind in KINDS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for kind in KINDS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", kind.id), kind.id
        assert kind.title and re.search(r"RFC \d+|config-v1", kind.rfc), kind


def test_readme_names_every_finding_and_exit_code():
    from inspector.exitcodes import ExitCode

    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    assert [i for i in CATALOGUE if f"`{i}`" not in readme] == []
    assert [int(c) for c in ExitCode if f"| {int(c)} |" not in readme] == []


def test_help_lists_every_exit_code():
    import re

    from inspector.commands.common import EXIT_CODES_HELP
    from inspector.exitcodes import ExitCode

    assert [int(c) for c in ExitCode if not re.search(rf"(^|\s){int(c)}\s", EXIT_CODES_HELP)] == []
