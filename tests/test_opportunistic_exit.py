"""Exit status where TLS is opportunistic (issue 13, case 8).

On 25, 2525 and any port other than 587/465, ``probe`` does not require TLS.
Still, a script must not read 0 when the server advertised STARTTLS and then
refused it (a failed step, exit 13), nor when it offers password mechanisms
with no TLS to be had (``auth-without-tls-possible``, an error: exit 1).
Peers: the built-in lab server's faults and the real Postfix lab on port 25.
"""

from __future__ import annotations

from inspector.exitcodes import ExitCode
from inspector.findings import Severity
from inspector.probes.session import STARTTLS, ProbeConfig, run_probe
from inspector.rules.plaintext import (
    TLS_ESTABLISHED,
    TLS_NOT_OFFERED,
    TLS_REFUSED,
    auth_without_tls_possible,
)
from inspector.smtp.capabilities import Capabilities
from inspector.smtp.reply import ReplyParser


def probe(server, **overrides):
    settings = dict(host=server.host, port=server.port, servername=server.hostname,
                    cafile=server.ca_path, mode=STARTTLS, require_tls=False, timeout=5.0,
                    deadline=20.0)
    settings.update(overrides)
    return run_probe(ProbeConfig(**settings))


def cli_probe(run_cli, server, *extra):
    """The real command line with default options: an ephemeral port is opportunistic."""
    return run_cli("probe", f"{server.host}:{server.port}", "--servername", server.hostname,
                   "--cafile", server.ca_path, "--json", *extra)


def test_advertised_starttls_answered_454_is_a_failed_step_on_an_opportunistic_port(lab_server):
    result = probe(lab_server(fault="starttls-454"))

    assert result.exit_code is ExitCode.STARTTLS, result.error
    assert result.step("starttls").status == "failed"
    [finding] = [f for f in result.findings if f.id == "starttls-failed"]
    assert finding.severity is Severity.ERROR
    # The session still goes on in clear, as an opportunistic client would.
    assert result.step("quit").status == "ok"


def test_starttls_454_exit_code_on_the_command_line(lab_server, run_cli):
    completed, document = cli_probe(run_cli, lab_server(fault="starttls-454"))

    assert completed.returncode == 13 == document["exit_code"]
    assert document["error"].startswith("starttls: ")


def test_password_mechanisms_with_no_starttls_is_an_error_finding(lab_server):
    result = probe(lab_server(fault="no-starttls-plain-auth"))

    assert result.exit_code is ExitCode.FINDINGS
    [finding] = [f for f in result.findings if f.id == "auth-without-tls-possible"]
    assert finding.severity is Severity.ERROR
    assert "PLAIN LOGIN" in finding.evidence and "STARTTLS is not offered" in finding.evidence
    # Not offering STARTTLS alone stays a warning on an opportunistic port.
    assert [f.severity for f in result.findings if f.id == "starttls-not-offered"] == [Severity.WARNING]


def test_no_starttls_plain_auth_on_the_command_line(lab_server, run_cli):
    completed, document = cli_probe(run_cli, lab_server(fault="no-starttls-plain-auth"))

    assert completed.returncode == 1 == document["exit_code"]
    assert "auth-without-tls-possible" in {f["id"] for f in document["findings"]}


def test_required_tls_still_exits_13_and_names_the_password_risk(lab_server):
    result = probe(lab_server(fault="no-starttls-plain-auth"), require_tls=True)

    assert result.exit_code is ExitCode.STARTTLS
    assert "auth-without-tls-possible" in result.finding_ids


def test_no_starttls_and_no_auth_stays_exit_0_with_a_warning(lab_server):
    result = probe(lab_server(fault="strip-starttls"))

    assert result.exit_code is ExitCode.OK
    assert result.finding_ids == {"starttls-not-offered"}


def test_auth_offered_in_clear_next_to_working_starttls_is_a_warning_only(lab_server):
    result = probe(lab_server(fault="plain-auth-before-tls"))

    assert result.exit_code is ExitCode.OK
    assert result.finding_ids == {"auth-before-tls"}


def test_real_postfix_port_25_is_clean(mail_lab, run_cli):
    """Postfix on 25: STARTTLS offered and working, AUTH only inside TLS: exit 0."""
    completed, document = run_cli("probe", f"{mail_lab.host}:25", "--servername", mail_lab.servername,
                                  "--cafile", mail_lab.cafile, "--json")

    assert completed.returncode == 0, completed.stdout[-2000:]
    assert document["findings"] == []
    assert "STARTTLS" in document["capabilities"]["before_tls"]["keywords"]


def test_real_postfix_port_25_in_clear_is_not_auth_without_tls(mail_lab, run_cli):
    """--plain on 25: TLS was possible (STARTTLS offered), and Postfix offers no AUTH in clear."""
    completed, document = run_cli("probe", f"{mail_lab.host}:25", "--plain", "--json")

    assert completed.returncode == 0
    assert {f["id"] for f in document["findings"]} == {"tls-not-used"}


def _caps(lines: bytes) -> Capabilities:
    [reply] = ReplyParser().feed(lines)
    return Capabilities.from_reply(reply)


def test_auth_without_tls_possible_rule():
    plain = _caps(b"250-x\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n")
    scram = _caps(b"250-x\r\n250 AUTH SCRAM-SHA-256 CRAM-MD5\r\n")

    assert auth_without_tls_possible(plain, TLS_ESTABLISHED, "port 25") is None
    assert auth_without_tls_possible(scram, TLS_NOT_OFFERED, "port 25") is None
    assert auth_without_tls_possible(None, TLS_NOT_OFFERED, "port 25") is None
    refused = auth_without_tls_possible(plain, TLS_REFUSED, "port 2525")
    assert refused.id == "auth-without-tls-possible" and "refused" in refused.evidence
    assert "CRAM-MD5" not in refused.evidence


def test_json_document_with_the_new_finding_validates(lab_server, run_cli):
    from tests.test_cli import validate

    _, document = cli_probe(run_cli, lab_server(fault="no-starttls-plain-auth"))
    validate(document)
