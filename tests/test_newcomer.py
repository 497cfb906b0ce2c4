"""What a newcomer meets (issue 19): messages, exit codes, address forms, help, start-up imports.

CLI tests run the installed ``smtp-inspector`` console script as a subprocess,
as a user would. Names that must not resolve are under ``.invalid`` (RFC 6761
§6.4), which the tool answers without asking DNS, so nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import socket
import subprocess
import sys

import pytest

from inspector.lab.faults import FAULT_TABLE, FAULTS

REPO = pathlib.Path(__file__).resolve().parent.parent
COMMAND = str(pathlib.Path(sys.executable).with_name("smtp-inspector"))
NOWHERE = "nothing.invalid"


def run(*args, timeout: float = 60, env=None):
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


def one_error_line(completed, command: str | None) -> str:
    """Exactly one line on stderr, in the one prefix form, and nothing else anywhere."""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert "Traceback" not in completed.stderr and "Warning" not in completed.stderr
    prefix = f"smtp-inspector {command}: error: " if command else "smtp-inspector: error: "
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


# -- the table: every subcommand x bad inputs -> one line, the documented code ------------------

@pytest.fixture(scope="module")
def odd_files(tmp_path_factory):
    base = tmp_path_factory.mktemp("odd")
    fifo = base / "fifo"
    os.mkfifo(fifo)
    regular = base / "file.txt"
    regular.write_text("not a certificate\n")
    return {"FIFO": str(fifo), "DIR": str(base), "FILE": str(regular), "MISSING": str(base / "missing"),
            "DB": str(base / "scans.sqlite3")}


AUTH = ("--auth", "PLAIN", "--user", "a@example.test")
BAD_INPUTS = [
    # unresolvable name: 10 wherever a host is named
    (("probe", NOWHERE), 10, "cannot resolve"),
    (("probe", f"{NOWHERE}:465", "--json"), 10, "cannot resolve"),
    (("tls", NOWHERE), 10, "cannot resolve"),
    (("ports", NOWHERE, "--connect"), 10, "cannot resolve"),
    (("ports", NOWHERE), 10, "cannot resolve"),
    (("interference", NOWHERE), 10, "cannot resolve"),
    (("lab", "--host", NOWHERE), 10, "cannot resolve"),
    # port forms
    (("probe", "127.0.0.1:"), 2, "empty port"),
    (("probe", "127.0.0.1:0"), 2, "port must be"),
    (("probe", "127.0.0.1:65536"), 2, "port must be"),
    (("probe", "127.0.0.1:smtp"), 2, "port must be"),
    (("tls", "127.0.0.1:"), 2, "empty port"),
    (("tls", "127.0.0.1:x"), 2, "port must be"),
    (("ports", "127.0.0.1:25"), 2, "--ports 25"),
    (("ports", "127.0.0.1", "--ports", "0"), 2, "not a port number"),
    (("interference", "127.0.0.1:25"), 2, "--ports 25"),
    (("lab", "--port", "70000"), 2, "not a port number"),
    (("lab", "--host", "127.0.0.1:25"), 2, "--port 25"),
    # IPv6 forms, with and without brackets
    (("probe", "::1:2525"), 2, "[::1]:2525"),
    (("tls", "::1:2525"), 2, "[::1]:2525"),
    (("probe", "[::1"), 2, "[IPv6]:PORT"),
    (("probe", "[::1]x"), 2, "[IPv6]:PORT"),
    (("probe", "[::1]:"), 2, "empty port"),
    (("probe", "[127.0.0.1]:25"), 2, "not an IPv6 address"),
    (("ports", "[::1]:25"), 2, "--ports 25"),
    (("interference", "::1"), 2, "IPv4 only"),
    (("interference", "[::1]"), 2, "IPv4 only"),
    # missing files, directories, FIFOs
    (("probe", "127.0.0.1", "--cafile", "MISSING"), 2, "no such file"),
    (("probe", "127.0.0.1", "--cafile", "DIR"), 2, "is a directory"),
    (("probe", "127.0.0.1", "--cafile", "FIFO"), 2, "is a FIFO"),
    (("probe", "127.0.0.1", "--cafile", "FILE"), 2, "no PEM certificate"),
    (("probe", "127.0.0.1", *AUTH, "--password-file", "MISSING"), 2, "no such file"),
    (("probe", "127.0.0.1", *AUTH, "--password-file", "DIR"), 2, "is a directory"),
    (("probe", "127.0.0.1", *AUTH, "--password-file", "FIFO"), 2, "is a FIFO"),
    (("probe", "127.0.0.1", "--save", "FILE"), 2, "--save"),
    (("probe", "127.0.0.1", "--sniff", "--pcap", "FIFO"), 2, "is a FIFO"),
    (("probe", "127.0.0.1", "--sniff", "--pcap", "DIR"), 2, "is a directory"),
    (("tls", "127.0.0.1", "--cafile", "FIFO"), 2, "is a FIFO"),
    (("tls", "127.0.0.1", "--cafile", "DIR"), 2, "is a directory"),
    (("replay", "MISSING"), 21, "no such file"),
    (("replay", "DIR"), 21, "is a directory"),
    (("replay", "FIFO"), 21, "is a FIFO"),
    (("replay", "FILE"), 21, "not a pcap"),
    (("discover", "a@example.test", "--cafile", "FIFO"), 2, "is a FIFO"),
    (("discover", "a@example.test", "--cafile", "MISSING"), 2, "no such file"),
    (("discover", "not-an-address"), 2, "not an e-mail address"),
    (("scan", "MISSING", "--db", "DB"), 2, "no such file"),
    (("scan", "DIR", "--db", "DB"), 2, "is a directory"),
    (("scan", "FIFO", "--db", "DB"), 2, "is a FIFO"),
    (("scan", "FILE", "--db", "DB"), 2, "target line 1"),
    (("scan", "-", "--exclude", "FIFO", "--db", "DB"), 2, "is a FIFO"),
    (("scan", "-", "--cafile", "FIFO", "--db", "DB"), 2, "is a FIFO"),
    (("scan", "--resume", "9", "--db", "DB"), 2, "no scan 9"),
    (("scan", "-", "--db", "DIR"), 2, "cannot open the database"),
    (("history", "::1:2525", "--db", "DB"), 2, "[::1]:2525"),
    (("history", "a.example", "--db", "DIR"), 2, "cannot open the database"),
    (("diff", "1", "x", "--db", "DB"), 2, "not a whole number"),
    (("diff", "--db", "DB"), 2, "no two scans"),
    (("report", "x", "--db", "DB"), 2, "not a whole number"),
    (("report", "7", "--db", "DB"), 2, "no scan 7"),
    # options
    (("probe", "127.0.0.1", "--timeout", "0"), 2, "more than 0"),
    (("tls", "127.0.0.1", "--bogus"), 2, "see smtp-inspector tls --help"),
    (("ports", "127.0.0.1", "--bogus"), 2, "see smtp-inspector ports --help"),
    (("replay", "x.pcap", "--bogus"), 2, "see smtp-inspector replay --help"),
    (("discover", "a@example.test", "--bogus"), 2, "see smtp-inspector discover --help"),
    (("demo", "--bogus"), 2, "see smtp-inspector demo --help"),
    (("lab", "--fault", "bogus"), 2, "unknown fault"),
    (("interference", "127.0.0.1", "--bogus"), 2, "see smtp-inspector interference --help"),
    (("scan", "--concurrency", "0"), 2, "at least 1"),
    (("scan", "--bogus"), 2, "see smtp-inspector scan --help"),
    (("history", "--bogus"), 2, "see smtp-inspector history --help"),
    (("diff", "--bogus"), 2, "see smtp-inspector diff --help"),
    (("report", "--bogus"), 2, "see smtp-inspector report --help"),
]


@pytest.mark.parametrize("argv, code, words", BAD_INPUTS, ids=[" ".join(a) for a, _, _ in BAD_INPUTS])
def test_every_command_answers_bad_input_with_one_line_and_its_code(odd_files, argv, code, words):
    argv = [odd_files.get(arg, arg) for arg in argv]
    completed = run(*argv)

    assert completed.returncode == code, completed.stdout + completed.stderr
    assert completed.stdout == ""
    line = one_error_line(completed, argv[0])
    assert words.lower() in line.lower(), line


def test_the_cause_not_the_command_decides_the_code():
    """The same unresolvable name: one exit code from every command that takes a host."""
    codes = {command: run(command, NOWHERE, *extra).returncode
             for command, extra in (("probe", ()), ("tls", ()), ("ports", ("--connect",)),
                                    ("interference", ()))}
    assert set(codes.values()) == {10}, codes


# -- case 1: lab --help from the fault table; README in step -------------------------------------

def test_lab_help_lists_every_fault_of_the_table():
    completed = run("lab", "--help")

    assert completed.returncode == 0
    listed = [f.name for f in FAULT_TABLE if re.search(rf"^  {re.escape(f.name)}$", completed.stdout, re.M)]
    assert listed == list(FAULTS) and len(listed) == 11
    readme = (REPO / "README.md").read_text()
    assert [name for name in FAULTS if f"| `{name}` |" not in readme] == []


# -- case 2: the mode line and the swaks hint follow the fault ------------------------------------

@pytest.mark.parametrize("fault", list(FAULTS))
def test_lab_banner_mode_and_swaks_hint_follow_the_fault(lab_server, fault):
    from inspector.lab.faults import starttls_offered
    from inspector.lab.run import describe_lab

    text = describe_lab(lab_server(fault=fault))
    mode = next(line for line in text.splitlines() if line.startswith("  mode"))
    swaks = next(line for line in text.splitlines() if line.strip().startswith("swaks"))
    if starttls_offered(fault):
        assert "STARTTLS" in mode and "plaintext only" not in mode and " --tls " in swaks
    else:
        assert "plaintext only" in mode and "--tls" not in swaks


def test_lab_command_banner_for_no_starttls_plain_auth():
    process = subprocess.Popen([COMMAND, "lab", "--port", "0", "--fault", "no-starttls-plain-auth"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = ""
        while "Press Ctrl-C" not in banner:
            line = process.stdout.readline()
            assert line, process.stderr.read()
            banner += line
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert "mode     : plaintext only: STARTTLS is not offered" in banner
    assert "--tls" not in banner and "--auth-user demo@lab.test" in banner
    assert "login    : demo@lab.test / demo-password (AUTH PLAIN, LOGIN, before TLS)" in banner


# -- case 3: an unresolvable name is one fact, found once -------------------------------------------

def test_unresolvable_name_makes_no_connection_and_says_so_once():
    completed = run("tls", NOWHERE, "--json")

    assert completed.returncode == 10 and completed.stdout == ""
    assert one_error_line(completed, "tls").count("cannot resolve") == 1


def test_a_name_is_resolved_once_for_the_whole_audit(lab_server, monkeypatch, capsys):
    """``tls localhost:PORT`` opens many connections; getaddrinfo asks for the name once."""
    from inspector import cli
    from inspector.net import transport

    server = lab_server()
    asked = []
    real = socket.getaddrinfo

    def counting(host, *args, **kwargs):
        if host in ("localhost", b"localhost"):
            asked.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    monkeypatch.setattr(transport, "_PINNED", {})
    code = cli.main(["tls", f"localhost:{server.port}", "--servername", server.hostname,
                     "--cafile", server.ca_path, "--versions", "TLSv1.2,TLSv1.3", "--json"])
    document = json.loads(capsys.readouterr().out)

    assert code == 0, document["error"]
    assert document["connections"]["used"] > 5
    assert len(asked) == 1


# -- case 6, 9: wording ----------------------------------------------------------------------------

def test_timeout_zero_says_what_is_allowed():
    line = one_error_line(run("probe", "127.0.0.1", "--timeout", "0"), "probe")
    assert "must be more than 0 and at most 86400 seconds, not 0" in line


def test_unknown_option_points_to_the_subcommand_help():
    line = one_error_line(run("probe", "127.0.0.1", "--bogus"), "probe")
    assert line.endswith("(see smtp-inspector probe --help)")


def test_auth_mechanism_is_echoed_as_given():
    env = {k: v for k, v in os.environ.items() if k != "SMTP_INSPECTOR_PASSWORD"}
    line = one_error_line(run("probe", "127.0.0.1", "--auth", "PLAIN", "--user", "a", env=env), "probe")
    assert "--auth PLAIN needs a password" in line
    line = one_error_line(run("probe", "127.0.0.1", "--auth", "scram-sha-256", "--user", "a", env=env),
                          "probe")
    assert "--auth scram-sha-256 needs a password" in line


def test_replay_names_a_missing_file_once():
    line = one_error_line(run("replay", "/nonexistent.pcap"), "replay")
    assert line.count("/nonexistent.pcap") == 1
    assert line == ("smtp-inspector replay: error: cannot read capture /nonexistent.pcap: "
                    "no such file or directory")


def test_ports_with_a_port_suffix_hints_at_ports_option():
    line = one_error_line(run("ports", "127.0.0.1:25"), "ports")
    assert "write ports 127.0.0.1 --ports 25" in line


# -- case 7: IPv6 ------------------------------------------------------------------------------------

def test_ports_on_ipv6_by_connect(lab_server):
    server = lab_server(host="::1")
    completed = run("ports", "::1", "--connect", "--ports", str(server.port), "--json")

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert [(p["port"], p["state"]) for p in document["ports"]] == [(server.port, "open")]
    assert completed.stderr == ""


def test_probe_header_brackets_ipv6(lab_server):
    server = lab_server(host="::1")
    completed = run("probe", f"[::1]:{server.port}", "--servername", server.hostname,
                    "--cafile", server.ca_path)

    assert completed.returncode == 0, completed.stdout
    assert completed.stdout.splitlines()[0].startswith(f"smtp-inspector probe [::1]:{server.port} ")


def test_unbracketed_ipv6_with_port_is_refused_with_the_bracketed_form():
    line = one_error_line(run("probe", "::1:2525"), "probe")
    assert "write [::1]:2525 for port 2525" in line


@pytest.mark.parametrize("text, expected", [
    ("::1", ("::1", 587)), ("2001:db8::25", ("2001:db8::25", 587)), ("[::1:2525]", ("::1:2525", 587)),
    ("[::1]:2525", ("::1", 2525)), ("localhost:25", ("localhost", 25)),
])
def test_target_forms_that_stay_accepted(text, expected):
    from inspector.commands.common import parse_target

    assert parse_target(text) == expected


def test_os_reasons_are_lower_case_like_our_words():
    import errno

    from inspector.net.transport import _translated_oserror

    error = _translated_oserror(OSError(errno.EHOSTUNREACH, os.strerror(errno.EHOSTUNREACH)),
                                "connecting", True)
    assert str(error) == "no route to host while connecting"


# -- case 10: a healthy local server needs no retries -----------------------------------------------

@pytest.mark.parametrize("implicit", [False, True])
def test_tls_audit_of_the_lab_needs_no_retry(lab_server, implicit):
    """It used to report ``connections: 37 (12 retried)``: the lab closed without the TLS alert."""
    server = lab_server(implicit_tls=implicit)
    mode = ("--implicit-tls",) if implicit else ()
    completed = run("tls", f"127.0.0.1:{server.port}", *mode, "--servername", server.hostname,
                    "--cafile", server.ca_path, "--json")

    document = json.loads(completed.stdout)
    assert completed.returncode == 0, document["error"]
    assert document["connections"]["retried"] == 0


@pytest.mark.parametrize("implicit", [False, True])
def test_lab_answers_an_unacceptable_client_hello_with_an_alert(lab_server, implicit):
    """Like OpenSSL in Postfix: a TLS 1.0-only ClientHello gets a protocol_version alert, not a close."""
    from inspector.tls.client_hello import client_hello
    from inspector.tls.suites import SUITES

    server = lab_server(implicit_tls=implicit)
    suites = [s.code for s in SUITES if s.min_version in ("SSLv3", "TLSv1") and not s.scsv][:40]
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        if not implicit:
            reader = sock.makefile("rb")
            reader.readline()
            sock.sendall(b"EHLO client.example\r\n")
            while not reader.readline().startswith(b"250 "):
                pass
            sock.sendall(b"STARTTLS\r\n")
            assert reader.readline().startswith(b"220 ")
        sock.sendall(client_hello("TLSv1", suites))
        answer = sock.recv(7)
    assert answer[:1] == b"\x15", answer  # an alert record (RFC 8446 §6)


# -- case 12: each command's help lists its own exit codes ------------------------------------------

@pytest.mark.parametrize("command", ["probe", "tls", "ports", "interference", "replay", "discover",
                                     "demo", "lab"])
def test_each_help_lists_only_its_own_exit_codes(command):
    import importlib

    module = importlib.import_module(f"inspector.commands.{command}")
    expected = [entry[0] if isinstance(entry, tuple) else entry for entry in module.EXIT_CODES]
    completed = run(command, "--help")

    block = completed.stdout.split(f"exit codes of {command}:\n", 1)[1]
    listed = [int(m.group(1)) for m in re.finditer(r"^  (\d+)\s", block, re.M)]
    assert completed.returncode == 0 and listed == expected


def test_discover_does_not_list_codes_it_cannot_return():
    completed = run("discover", "--help")
    block = completed.stdout.split("exit codes of discover:\n", 1)[1]
    assert not re.search(r"^  (4|10|11|21)\s", block, re.M)


# -- case 13: the demo's words -----------------------------------------------------------------------

def test_demo_wording():
    completed = run("demo")
    out = completed.stdout

    assert completed.returncode == 0, out
    assert "stands in for 587" in out and "Port 587 is for mail" not in out
    assert "PLAIN and LOGIN are equivalent" in out and "strongest of PLAIN LOGIN" not in out
    assert "(--auth auto)" in out and "--auth AUTO" not in out
    steps = out.split("step ", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"^ehlo\s+ok\s+\S+\s+250 lab\.smtp-inspector\.test", steps, re.M), steps
    assert "250-" not in steps


# -- case 14: what start-up imports ------------------------------------------------------------------

def test_probe_start_up_imports_only_what_it_uses(lab_server):
    """No other command module, no tabulate, shutil, idna codec or textwrap on the probe path."""
    server = lab_server()
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "inspector", "probe", f"127.0.0.1:{server.port}",
         "--servername", server.hostname, "--cafile", server.ca_path],
        capture_output=True, text=True, timeout=60, cwd="/")
    imported = set(re.findall(r"\|\s+([\w.]+)$", completed.stderr, re.M))

    assert completed.returncode == 0, completed.stdout
    assert "inspector.certs" in imported  # the certificate is still checked
    unwanted = {"tabulate", "shutil", "encodings.idna", "textwrap", "scapy", "aiosmtpd",
                "inspector.commands.tls", "inspector.commands.lab", "inspector.commands.replay",
                "cryptography.hazmat.primitives.serialization.ssh"}
    assert imported & unwanted == set()


def test_simple_table_matches_tabulate():
    import random

    from tabulate import tabulate

    from inspector.render.table import simple_table

    rng = random.Random(19)
    cells = [None, "", "a", "  pad ", "250 lab.example", "two\nlines", "12.5", "ü", "\\x1b[", "x" * 40]
    for _ in range(2000):
        width = rng.randint(1, 5)
        headers = [rng.choice(["", "step", "TLS session", "reply / detail"]) for _ in range(width)]
        rows = [tuple(rng.choice(cells) for _ in range(width)) for _ in range(rng.randint(0, 6))]
        assert simple_table(rows, headers) == tabulate(rows, headers=headers, tablefmt="simple",
                                                       disable_numparse=True)
