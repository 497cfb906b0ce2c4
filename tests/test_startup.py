"""Start-up stays light (issue 19 case 14): what ``probe`` and ``send`` import, and the suite table.

Nothing here is timed (the numbers are bench/probe_vs_swaks.py's and bench/send_vs_swaks.py's):
the tests assert which modules a command loads, so they cannot be flaky.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

from inspector.tls import suites

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("gen_suites", ROOT / "tools" / "gen_suites.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_suite_table_is_what_the_generator_writes():
    """tools/gen_suites.py's output for the table's rows is the file, byte for byte (no hand edits)."""
    assert (ROOT / "inspector" / "tls" / "suites.py").read_text() == _generator().render(list(suites.ROWS))


def test_the_generator_derives_every_row_from_the_iana_name():
    """kx, auth, cipher, bits, mac, versions and SCSV come from the name (RFC 5246 §A.5, RFC 8446 §B.4)."""
    classify = _generator().classify
    wrong = []
    for row in suites.ROWS:
        f = classify(row[0], row[1])
        derived = (f["kx"], f["auth"], f["cipher"], f["bits"], f["mac"], f["min_version"],
                   f["max_version"], f["scsv"])
        if derived != row[3:10] + (row[11],):
            wrong.append((row[1], derived))
    assert wrong == [] and len(suites.ROWS) >= 350


def test_the_suite_objects_are_built_on_first_use_only():
    import subprocess

    code = ("import sys, inspector.tls.suites as s; built = 'SUITES' in vars(s); "
            "assert s.BY_CODE[0x1301] is s.SUITES[[x.code for x in s.SUITES].index(0x1301)]; "
            "assert s.describe_code(0x1301).iana_name == 'TLS_AES_128_GCM_SHA256'; "
            "assert s.describe_code(0xFEFE).iana_name == 'UNASSIGNED_0xFEFE'; print(built)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _group_from_reader_events(data: bytes):
    """The group as a fold over the one TLS reader's events (what the transport read before)."""
    from inspector.tls.reader import KeyExchangeGroup, ServerHello, read_all

    group = None
    for event in read_all(data):
        if isinstance(event, ServerHello) and event.info.group is not None:
            group = event.info.group_name
        elif isinstance(event, KeyExchangeGroup) and group is None:
            group = event.group
    return group


def test_the_transport_reads_the_group_as_the_reader_does():
    """Real server flights (Postfix, the lab server; fuzz/corpus), cut at every offset, with
    bytes flipped and non-TLS bytes appended: handshake_facts and the reader agree."""
    from inspector.tls.handshake_facts import read_handshake_facts

    flights = [path.read_bytes() for path in sorted((ROOT / "fuzz" / "corpus").glob("tls-*.bin"))]
    assert len(flights) >= 8
    groups = set()
    for flight in flights:
        variants = [flight[:cut] for cut in range(len(flight) + 1)]
        variants += [flight[:at] + bytes([flight[at] ^ 0xFF]) + flight[at + 1:]
                     for at in range(0, len(flight), 7)]
        variants += [flight + b"421 4.3.2 bye\r\n", b"\x15\x03\x03\x00\x02\x02\x28" + flight]
        for data in variants:
            assert read_handshake_facts(data).group == _group_from_reader_events(data), data
        groups.add(read_handshake_facts(flight).group)
    assert None not in groups and len(groups) >= 1
    # The records of all flights recombined: a TLS 1.3 ServerHello followed by a TLS 1.2 flight's
    # ServerKeyExchange, records after a ChangeCipherSpec or an alert, two ServerHellos, ...
    from inspector.tls.records import RecordFramer

    from .test_tls_records import HANDSHAKE, ecdhe_ske, record, tls12_flight, tls13_flight

    flights += [tls13_flight(0x0017), tls12_flight(ecdhe_ske(0x0018, b"\x04" + b"\x01" * 96)),
                record(HANDSHAKE, ecdhe_ske(0x0019, b"\x04" + b"\x02" * 132))]
    pool = {b"\x14\x03\x03\x00\x01\x01", b"\x15\x03\x03\x00\x02\x01\x00", b"\x17\x03\x03\x00\x01\x00"}
    for flight in flights:
        for rec in RecordFramer().feed(flight):
            pool.add(bytes([rec.content_type]) + rec.version.to_bytes(2, "big")
                     + len(rec.body).to_bytes(2, "big") + rec.body)
    for first in pool:
        for second in pool:
            for data in (first + second, first + b"\x14\x03\x03\x00\x01\x01" + second):
                assert read_handshake_facts(data).group == _group_from_reader_events(data), data


#: Modules the ``probe`` and ``send`` commands never need: each costs milliseconds at start-up.
NEVER_AT_START_UP = ("scapy", "jinja2", "dask", "distributed", "psycopg", "dns", "aiosmtpd", "tabulate",
                     "sqlite3", "asyncio", "email.mime", "encodings.idna", "scramp", "concurrent.futures",
                     "inspector.packets", "inspector.tls.suites", "inspector.tls.reader",
                     "inspector.tls.enumerate", "inspector.tls.hello", "inspector.replay", "inspector.scan",
                     "inspector.discover", "inspector.lab", "inspector.render.html",
                     # inspector.frozen needs no dataclasses (~20 ms with inspect, ast, dis, tokenize)
                     "dataclasses", "inspect", "ast", "dis", "tokenize")


def _imported(*args: str, env=None) -> set[str]:
    """Every module the command imported, as ``python -X importtime`` lists them."""
    import os
    import re
    import subprocess

    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "inspector", *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-2000:]
    return set(re.findall(r"^import time:.*\| +(\S+)$", done.stderr, re.M))


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in NEVER_AT_START_UP)}


def test_probe_and_send_import_nothing_they_do_not_use(lab_server, tmp_path):
    """A full STARTTLS probe and a send with AUTH PLAIN against the lab server (aiosmtpd)."""
    from inspector.lab import DEMO_PASSWORD, DEMO_USER

    lab = lab_server()
    secret = tmp_path / "password"
    secret.write_text(DEMO_PASSWORD)
    target = [f"127.0.0.1:{lab.port}", "--servername", lab.hostname, "--cafile", lab.ca_path]
    probe = _imported("probe", *target)
    send = _imported("send", *target, "--auth", "PLAIN", "--user", DEMO_USER, "--password-file", str(secret),
                     "--from", DEMO_USER, "--to", "a@lab.test")
    assert "inspector.certs.validation" in probe and "inspector.probes.transaction" in send  # it ran
    assert _heavy(probe) == set() and _heavy(send) == set()


def test_scrubbing_text_without_a_secret_never_builds_the_own_words_pattern():
    """Our own phrases (the catalogue, the teaching notes) are searched for only once a secret's
    form is found in a text: a regex of every phrase costs a send more than its whole SMTP dialogue."""
    import subprocess

    code = ("import inspector.redaction as r; red = r.Redactor(['s3cret-pass']); "
            "assert r.scrub_output('250 2.0.0 Ok: queued as 9C3B81620CE', red).endswith('0CE'); "
            "built = 'inspector.findings' in __import__('sys').modules; "
            "assert r.scrub_output('wrong s3cret-pass', red) == 'wrong [redacted]'; "
            "print(built, 'inspector.findings' in __import__('sys').modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
