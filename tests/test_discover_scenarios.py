"""``discover`` end to end: a loopback DNS zone, HTTPS autoconfig/MTA-STS servers and lab SMTP servers.

Every scenario runs the real command (subprocess) and asserts the
recommendation and the reason given for the other candidates; JSON output is
validated against inspector/schema/discover.schema.json.
"""

from __future__ import annotations

import json
import pathlib
import time
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from tests.discover_world import World, spki_sha256

SCHEMA_PATH = pathlib.Path(__file__).parent.parent / "inspector/schema/discover.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text())
EMAIL = "alice@example.test"


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.stop()


def discover(run_cli, world, *extra, email=EMAIL):
    completed, document = run_cli("discover", email, *world.args("--json", *extra))
    assert completed.stderr == ""
    assert document is not None, completed.stdout
    jsonschema.validate(document, SCHEMA)
    return completed, document


def candidate(document, host, port):
    return next(c for c in document["candidates"] if c["host"] == host and c["port"] == port)


def test_srv_records_win_and_implicit_tls_beats_starttls(run_cli, world):
    world.add("_submissions._tcp.example.test. SRV 0 1 465 submit.example.test.",
              "_submission._tcp.example.test. SRV 0 1 587 submit.example.test.",
              "submit.example.test. A 127.0.86.2")
    world.lab("submit.example.test", "127.0.86.2", 465)
    world.lab("submit.example.test", "127.0.86.2", 587)

    completed, doc = discover(run_cli, world)

    assert completed.returncode == 0
    rec = doc["recommendation"]
    assert (rec["host"], rec["port"], rec["mode"]) == ("submit.example.test", 465, "implicit")
    assert rec["sources"] == ["srv _submissions._tcp"]
    assert "PLAIN" in rec["auth_mechanisms"] and rec["username"] == EMAIL
    starttls = candidate(doc, "submit.example.test", 587)
    assert starttls["failure"] is None and "implicit TLS" in starttls["reason"]
    assert "RFC 8314 §3.3" in starttls["reason"]
    assert "does not resolve" in candidate(doc, "smtp.example.test", 465)["reason"]
    assert doc["candidates"][0]["chosen"] and sum(c["chosen"] for c in doc["candidates"]) == 1


def test_autoconfig_only_gives_server_and_user_name_form(run_cli, world):
    xml = b"""<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="example.test"><domain>example.test</domain>
<outgoingServer type="smtp"><hostname>out.%EMAILDOMAIN%</hostname><port>587</port>
<socketType>STARTTLS</socketType><authentication>password-cleartext</authentication>
<username>%EMAILLOCALPART%</username></outgoingServer></emailProvider></clientConfig>"""
    world.add("autoconfig.example.test. A 127.0.86.3", "out.example.test. A 127.0.86.4")
    world.web("autoconfig.example.test", "127.0.86.3", {"/mail/config-v1.1.xml": (200, "text/xml", xml)})
    world.lab("out.example.test", "127.0.86.4", 587)

    completed, doc = discover(run_cli, world)

    assert completed.returncode == 0
    rec = doc["recommendation"]
    assert (rec["host"], rec["port"], rec["mode"]) == ("out.example.test", 587, "starttls")
    assert rec["sources"] == ["autoconfig"]
    assert rec["username"] == "alice" and "local part" in rec["username_form"]
    found = [s for s in doc["sources"] if s["source"] == "autoconfig" and s["status"] == "found"]
    assert len(found) == 1 and found[0]["query"].startswith("https://autoconfig.example.test/")

    text, _ = run_cli("discover", EMAIL, *world.args("--format", "autoconfig"))
    root = ET.fromstring(text.stdout)
    server = root.find("emailProvider/outgoingServer")
    assert server.findtext("hostname") == "out.example.test" and server.findtext("port") == "587"
    assert server.findtext("socketType") == "STARTTLS"
    assert server.findtext("username") == "%EMAILLOCALPART%"
    assert server.findtext("authentication") == "password-cleartext"


def test_autoconfig_from_an_untrusted_https_server_is_not_used(run_cli, world, tmp_path):
    xml = (b'<clientConfig><emailProvider><outgoingServer type="smtp"><hostname>out.example.test</hostname>'
           b'<port>587</port><socketType>STARTTLS</socketType></outgoingServer></emailProvider></clientConfig>')
    world.add("autoconfig.example.test. A 127.0.86.3")
    world.web("autoconfig.example.test", "127.0.86.3", {"/mail/config-v1.1.xml": (200, "text/xml", xml)})
    other_ca = tmp_path / "other-ca.pem"
    from inspector.lab import make_lab_certificates
    other_ca.write_bytes(make_lab_certificates().ca_pem)
    world.start_dns()
    args = world.args("--json")
    args[args.index("--cafile") + 1] = str(other_ca)

    completed, doc = run_cli("discover", EMAIL, *args)

    source = next(s for s in doc["sources"] if s["query"].startswith("https://autoconfig."))
    assert source["status"] == "error" and "certificate" in source["detail"]
    assert not any(c["sources"] == ["autoconfig"] for c in doc["candidates"])
    assert completed.returncode == 20


def test_guessing_only_finds_smtp_subdomain(run_cli, world):
    world.add("smtp.example.test. A 127.0.86.5")
    world.lab("smtp.example.test", "127.0.86.5", 465)
    world.lab("smtp.example.test", "127.0.86.5", 587)

    completed, doc = discover(run_cli, world)

    assert completed.returncode == 0
    rec = doc["recommendation"]
    assert (rec["host"], rec["port"], rec["mode"], rec["sources"]) == (
        "smtp.example.test", 465, "implicit", ["guess"])
    assert "implicit TLS" in candidate(doc, "smtp.example.test", 587)["reason"]
    assert candidate(doc, "smtp.example.test", 25)["reason"].startswith("port blocked or closed")
    assert "does not resolve" in candidate(doc, "mail.example.test", 587)["reason"]
    assert all(s["status"] != "found" for s in doc["sources"])


def test_valid_certificate_beats_a_stronger_source(run_cli, world):
    """465 (guess) is fine; 587 (named by SRV) shows a certificate for another name."""
    world.add("_submission._tcp.example.test. SRV 0 1 587 smtp.example.test.",
              "smtp.example.test. A 127.0.86.5")
    world.lab("smtp.example.test", "127.0.86.5", 465)
    world.lab("smtp.example.test", "127.0.86.5", 587, cert_name="mx.other-provider.test")

    completed, doc = discover(run_cli, world)

    assert completed.returncode == 0
    rec = doc["recommendation"]
    assert (rec["host"], rec["port"]) == ("smtp.example.test", 465)
    bad = candidate(doc, "smtp.example.test", 587)
    assert bad["sources"] == ["srv _submission._tcp", "guess"]
    assert bad["reason"].startswith("certificate for another name (DNS:mx.other-provider.test")
    assert bad["certificate"]["hostname_match"] is False and "cert-hostname-mismatch" in bad["finding_ids"]

    text, _ = run_cli("discover", EMAIL, *world.args())
    assert "Port:            465" in text.stdout and "certificate for another name" in text.stdout


def test_port_25_only_is_recommended_with_a_warning(run_cli, world):
    world.add("smtp.example.test. A 127.0.86.5")
    world.lab("smtp.example.test", "127.0.86.5", 25)

    completed, doc = discover(run_cli, world)

    assert completed.returncode == 0  # a warning, not an error
    rec = doc["recommendation"]
    assert (rec["host"], rec["port"], rec["mode"]) == ("smtp.example.test", 25, "starttls")
    assert [f["id"] for f in doc["findings"]] == ["discover-port-25"]
    assert candidate(doc, "smtp.example.test", 465)["reason"].startswith("port blocked or closed")
    assert candidate(doc, "smtp.example.test", 587)["reason"].startswith("port blocked or closed")


def test_nothing_reachable_says_so_quickly(run_cli, world):
    world.add("smtp.example.test. A 127.0.86.5", "mail.example.test. A 127.0.86.9",
              "example.test. MX 10 mx.example.test.")
    started = time.monotonic()

    completed, _ = run_cli("discover", EMAIL, *world.args())
    elapsed = time.monotonic() - started

    assert completed.returncode == 20
    assert "No working submission server found for alice@example.test" in completed.stdout
    assert "port blocked or closed" in completed.stdout and "does not resolve" in completed.stdout
    assert elapsed < 15  # bounded by --deadline 20; in practice well under a second
    _, doc = discover(run_cli, world)
    assert doc["recommendation"] is None and doc["exit_code"] == 20 and "no submission server" in doc["error"]


def test_dns_server_not_answering_ends_within_the_deadline(run_cli, world):
    started = time.monotonic()
    completed, _ = run_cli("discover", EMAIL, "--dns-server", "127.0.86.1:9", "--timeout", "0.3",
                           "--deadline", "3")
    assert completed.returncode == 20
    assert "no answer from DNS server 127.0.86.1:9" in completed.stdout
    assert time.monotonic() - started < 10


# -- inbound: MTA-STS and DANE -------------------------------------------------------------

POLICY_OK = b"version: STSv1\r\nmode: enforce\r\nmx: *.example.test\r\nmax_age: 86400\r\n"


def inbound_world(world, *, tlsa: str, policy: tuple, txt: str = '"v=STSv1; id=20261129T000000;"',
                  authenticated=True):
    world.add("example.test. MX 10 mx.example.test.", "mx.example.test. A 127.0.86.6",
              "mta-sts.example.test. A 127.0.86.7", f"_mta-sts.example.test. TXT {txt}",
              f"_25._tcp.mx.example.test. TLSA {tlsa}",
              "smtp.example.test. A 127.0.86.5")
    mx = world.lab("mx.example.test", "127.0.86.6", 25)
    world.lab("smtp.example.test", "127.0.86.5", 465)
    world.web("mta-sts.example.test", "127.0.86.7", {"/.well-known/mta-sts.txt": policy})
    world.start_dns(authenticated={"_25._tcp.mx.example.test"} if authenticated else False)
    return mx


def test_valid_mta_sts_policy_and_matching_tlsa(run_cli, world):
    import inspector.lab as lab
    certs = lab.make_lab_certificates("mx.example.test")
    world.add("example.test. MX 10 mx.example.test.", "mx.example.test. A 127.0.86.6",
              "mta-sts.example.test. A 127.0.86.7",
              '_mta-sts.example.test. TXT "v=STSv1; id=20261129T000000;"',
              f"_25._tcp.mx.example.test. TLSA 3 1 1 {spki_sha256(certs.cert_pem)}",
              "smtp.example.test. A 127.0.86.5")
    world.smtp.append(lab.LabServer(host="127.0.86.6", port=25, hostname="mx.example.test",
                                    certificates=certs).start())
    world.lab("smtp.example.test", "127.0.86.5", 465)
    world.web("mta-sts.example.test", "127.0.86.7",
              {"/.well-known/mta-sts.txt": (200, "text/plain; charset=utf-8", POLICY_OK)})
    world.start_dns(authenticated={"_25._tcp.mx.example.test"})

    completed, doc = discover(run_cli, world)

    assert completed.returncode == 0, doc["findings"]
    assert doc["findings"] == []
    (mx,) = doc["mx"]
    assert mx["host"] == "mx.example.test" and mx["certificate_valid"] is True
    assert mx["tlsa_match"] is True and mx["tlsa_authenticated"] is True
    assert mx["tlsa_records"][0].startswith("3 1 1 ")
    sts = doc["mta_sts"]
    assert (sts["id"], sts["mode"], sts["mx"], sts["max_age"], sts["uncovered_mx"], sts["error"]) == (
        "20261129T000000", "enforce", ["*.example.test"], 86400, [], None)
    assert doc["recommendation"]["port"] == 465


def test_wrong_tlsa_and_policy_not_covering_the_mx(run_cli, world):
    policy = (200, "text/plain", POLICY_OK.replace(b"*.example.test", b"mail.other.test"))
    inbound_world(world, tlsa="3 1 1 " + "00" * 32, policy=policy, authenticated=False)

    completed, doc = discover(run_cli, world)

    assert completed.returncode == 1
    ids = {f["id"] for f in doc["findings"]}
    assert {"tlsa-mismatch", "mta-sts-mx-mismatch", "dnssec-unauthenticated"} <= ids
    (mx,) = doc["mx"]
    assert mx["tlsa_match"] is False and mx["tlsa_authenticated"] is False
    assert doc["mta_sts"]["uncovered_mx"] == ["mx.example.test"]
    assert doc["recommendation"]["host"] == "smtp.example.test"  # inbound trouble does not change it


@pytest.mark.parametrize("policy, txt, finding, words", [
    ((200, "text/plain", b"version: STSv1\nmode: bogus\nmx: *.example.test\nmax_age: 86400\n"),
     '"v=STSv1; id=1;"', "mta-sts-policy-invalid", "mode is 'bogus'"),
    ((200, "text/html", POLICY_OK), '"v=STSv1; id=1;"', "mta-sts-policy-invalid", "not text/plain"),
    ((404, "text/plain", b"gone"), '"v=STSv1; id=1;"', "mta-sts-policy-invalid", "HTTP 404"),
    ((200, "text/plain", POLICY_OK), '"v=STSv1; id=no-dashes-allowed;"', "mta-sts-record-invalid",
     "letters and digits"),
])
def test_invalid_mta_sts_policies_and_records(run_cli, world, policy, txt, finding, words):
    inbound_world(world, tlsa="3 1 1 " + "00" * 32, policy=policy, txt=txt)

    completed, doc = discover(run_cli, world)

    matching = [f for f in doc["findings"] if f["id"] == finding]
    assert matching and words in matching[0]["evidence"], doc["findings"]
    assert completed.returncode == 1


@pytest.mark.parametrize("right_password", [True, False], ids=["right-password", "wrong-password"])
def test_auth_verifies_the_login_on_each_candidate(run_cli, world, tmp_path, right_password):
    from inspector.lab import DEMO_PASSWORD, DEMO_USER

    world.add("_submissions._tcp.example.test. SRV 0 1 465 submit.example.test.",
              "_submission._tcp.example.test. SRV 0 1 587 submit.example.test.",
              "submit.example.test. A 127.0.86.2")
    world.lab("submit.example.test", "127.0.86.2", 465)
    world.lab("submit.example.test", "127.0.86.2", 587)
    secret = DEMO_PASSWORD if right_password else "not-the-password-4711"
    password_file = tmp_path / "password"
    password_file.write_text(secret + "\n")

    completed, doc = discover(run_cli, world, "--auth", "auto", "--user", DEMO_USER,
                              "--password-file", str(password_file))

    rec = doc["recommendation"]
    assert (rec["host"], rec["port"]) == ("submit.example.test", 465)
    assert rec["login_verified"] is right_password
    assert candidate(doc, "submit.example.test", 587)["login"] is right_password
    assert secret not in completed.stdout
    if right_password:
        assert completed.returncode == 0
    else:
        assert completed.returncode == 16, "a failed login is the AUTH exit code"
        text, _ = run_cli("discover", EMAIL, *world.args("--auth", "auto", "--user", DEMO_USER,
                                                         "--password-file", str(password_file)))
        assert "LOGIN FAILED" in text.stdout and secret not in text.stdout


def test_auth_all_is_for_probe_only(run_cli):
    completed, _ = run_cli("discover", EMAIL, "--auth", "all")
    assert completed.returncode == 2
    assert "all is for probe" in completed.stderr and len(completed.stderr.strip().splitlines()) == 1
