"""Property: whatever a server sends, ``probe`` returns a result that renders and validates.

A scripted server answers the greeting and each command line with bytes drawn
by hypothesis (valid replies, broken ones, garbage, early close). The probe
must never raise, must end with a documented exit code, and its JSON must
match the schema.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.exitcodes import ExitCode
from inspector.probes.session import STARTTLS, ProbeConfig, run_probe
from inspector.render import json_output
from inspector.render.text import render_probe
from tests.scripted_server import ScriptedServer, command_lines

SCHEMA = json.loads(resources.files("inspector").joinpath("schema/probe-result.schema.json").read_text())

reply_line = st.builds(
    lambda code, sep, text, end: code + sep + text + end,
    st.sampled_from([b"220", b"250", b"421", b"454", b"502", b"554", b"221", b"2x0", b""]),
    st.sampled_from([b" ", b"-", b"", b"x"]),
    st.sampled_from([b"ok", b"STARTTLS", b"AUTH PLAIN LOGIN", b"XXXXXXXA", b"SIZE 9", b"\x00\xff", b""]),
    st.sampled_from([b"\r\n", b"\n", b""]),
)
answer = st.one_of(st.lists(reply_line, min_size=1, max_size=4).map(b"".join), st.binary(max_size=64))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.lists(answer, min_size=1, max_size=5))
def test_any_server_bytes_give_a_rendered_result(answers):
    def script(conn, stop):
        conn.sendall(answers[0])
        # answers first: zip stops when they run out, without waiting for another line
        for reply, _line in zip(answers[1:], command_lines(conn), strict=False):
            conn.sendall(reply)

    with ScriptedServer(script) as server:
        result = run_probe(ProbeConfig(host=server.host, port=server.port, mode=STARTTLS,
                                       require_tls=False, timeout=0.15, deadline=2.0,
                                       servername="fuzz.example"))

    assert isinstance(result.exit_code, ExitCode)
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS, ExitCode.GREETING, ExitCode.EHLO,
                                ExitCode.STARTTLS, ExitCode.TLS, ExitCode.CERTIFICATE)
    assert result.steps and result.steps[0].name == "connect"
    jsonschema.validate(json_output.probe_result(result), SCHEMA)
    assert render_probe(result).splitlines()[-1].startswith(f"Result: exit {int(result.exit_code)}")
