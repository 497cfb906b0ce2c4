"""Pure parts of discover: ranking, candidates, MTA-STS, autoconfig, DANE matching, arguments."""

from __future__ import annotations

import datetime
import hashlib
import json
import pathlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from inspector.certs import TlsaRecord, match_tlsa
from inspector.discover import autoconfig as ac
from inspector.discover import mta_sts
from inspector.discover.candidates import SrvTarget, build_candidates, mx_base_domains
from inspector.discover.dns import parse_dns_server
from inspector.discover.ranking import Assessment, rank
from inspector.errors import UsageError
from inspector.findings import CATALOGUE
from inspector.lab import make_lab_certificates

SCHEMA_PATH = pathlib.Path(__file__).parent.parent / "inspector/schema/discover.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text())


# -- ranking -----------------------------------------------------------------------------

def assess(index, port=465, tls="implicit", failure=None, cert=None, auth=("PLAIN",), login=None, source=3,
           prio=None, weight=None):
    return Assessment(index, f"h{index}:{port}", failure, tls, cert, auth, login, port, source, prio, weight)


def test_valid_certificate_outranks_implicit_tls_and_source():
    bad_cert = assess(0, 465, "implicit", cert="certificate for another name", source=0)
    good = assess(1, 587, "starttls", source=3)
    ranking = rank([bad_cert, good])
    assert ranking.chosen is good
    assert ranking.reasons[0] == "certificate for another name"


def test_implicit_tls_over_starttls_then_auth_then_port_25():
    a = [assess(0, 587, "starttls"), assess(1, 465, "implicit", auth=()), assess(2, 25, "starttls"),
         assess(3, 465, "implicit")]
    ranking = rank(a)
    assert [x.index for x in ranking.ordered] == [3, 1, 0, 2]
    assert "no AUTH offered" in ranking.reasons[1]
    assert "implicit TLS" in ranking.reasons[0]


def test_port_25_loses_to_submission_ports_of_the_same_mode():
    ranking = rank([assess(0, 25, "starttls"), assess(1, 587, "starttls")])
    assert ranking.chosen.index == 1 and ranking.reasons[0].startswith("port 25 is the relay port")


def test_login_outcome_ranks_before_auth_offer():
    ranking = rank([assess(0, login=False), assess(1, login=True)])
    assert ranking.chosen.index == 1 and ranking.reasons[0] == "login failed"


def test_plain_and_failed_candidates_are_never_chosen():
    ranking = rank([assess(0, 587, "none"), assess(1, failure="port blocked or closed: refused")])
    assert ranking.chosen is None
    assert "clear text" in ranking.reasons[0] and ranking.reasons[1].startswith("port blocked")


def test_srv_priority_then_weight_break_ties():
    a = [assess(0, source=0, prio=10, weight=5), assess(1, source=0, prio=0, weight=1),
         assess(2, source=0, prio=0, weight=9)]
    ranking = rank(a)
    assert [x.index for x in ranking.ordered] == [2, 1, 0]
    assert "SRV preference" in ranking.reasons[0]


# -- candidates ----------------------------------------------------------------------------

def test_candidates_dedup_and_keep_every_source():
    srv = [SrvTarget("_submission._tcp", 0, 1, 587, "smtp.example.org."),
           SrvTarget("_submissions._tcp", 0, 1, 0, ".")]
    auto = [ac.OutgoingServer("SMTP.example.org", 587, "starttls", ("password-cleartext",), "alice")]
    found = build_candidates("example.org", srv, auto, ["mx1.mail.provider.net"])
    keys = [c.key for c in found]
    assert len(keys) == len(set(keys))
    first = found[0]
    assert first.key == ("smtp.example.org", 587, "starttls")
    assert first.sources == ("srv _submission._tcp", "autoconfig", "guess") and first.username == "alice"
    assert ("smtp.mail.provider.net", 465, "implicit") in keys
    assert not any(c.host == "" or c.port == 0 for c in found)


def test_mx_base_skips_the_mail_domain_itself():
    assert mx_base_domains("example.org", ["mx.example.org", "a.b.example.net.", "mx"]) == ["b.example.net"]


# -- MTA-STS -------------------------------------------------------------------------------

def test_sts_txt_record():
    assert mta_sts.parse_sts_txt(["v=STSv1; id=20160831085700Z;", "other"]) == "20160831085700Z"
    with pytest.raises(mta_sts.StsError, match="exactly one"):
        mta_sts.parse_sts_txt(["v=STSv1; id=1;", "v=STSv1; id=2;"])
    with pytest.raises(mta_sts.StsError, match="no id"):
        mta_sts.parse_sts_txt(["v=STSv1; x=1"])


def test_sts_policy_rfc_example_and_mx_patterns():
    policy = mta_sts.parse_sts_policy(b"version: STSv1\nmode: enforce\nmx: mail.example.com\n"
                                      b"mx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n")
    assert policy == mta_sts.StsPolicy("enforce", ("mail.example.com", "*.example.net",
                                                   "backupmx.example.com"), 604800)
    assert mta_sts.mx_matches("*.example.net", "mx1.example.net")
    assert not mta_sts.mx_matches("*.example.net", "a.b.example.net")   # one label only (RFC 8461 §4.1)
    assert not mta_sts.mx_matches("*.example.net", "example.net")
    assert mta_sts.uncovered_mx(policy, ["MAIL.example.com.", "x.example.org"]) == ["x.example.org"]


@pytest.mark.parametrize("body, words", [
    (b"version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n", "version"),
    (b"version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx"),
    (b"version: STSv1\nmode: enforce\nmx: a\nmax_age: 99999999999\n", "max_age"),
    (b"version: STSv1\nmode enforce\n", "without ':'"),
    (b"\xff\xfe", "UTF-8"),
])
def test_sts_policy_refusals(body, words):
    with pytest.raises(mta_sts.StsError, match=words):
        mta_sts.parse_sts_policy(body)


@given(st.binary(max_size=300))
def test_sts_policy_parser_only_raises_its_own_error(body):
    try:
        mta_sts.parse_sts_policy(body)
    except mta_sts.StsError:
        pass


# -- autoconfig ----------------------------------------------------------------------------

def test_autoconfig_refuses_dtd_entities_and_large_documents():
    laughs = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><clientConfig/>'
    with pytest.raises(ac.AutoconfigError, match="DTD"):
        ac.parse_autoconfig(laughs, "a@b.c")
    with pytest.raises(ac.AutoconfigError, match="larger"):
        ac.parse_autoconfig(b"<clientConfig>" + b" " * ac.MAX_BYTES + b"</clientConfig>", "a@b.c")
    with pytest.raises(ac.AutoconfigError, match="no <outgoingServer"):
        ac.parse_autoconfig(b"<clientConfig/>", "a@b.c")
    with pytest.raises(ac.AutoconfigError, match="socketType"):
        ac.parse_autoconfig(b'<clientConfig><outgoingServer type="smtp"><hostname>h</hostname><port>1</port>'
                            b"<socketType>weird</socketType></outgoingServer></clientConfig>", "a@b.c")


@given(st.binary(max_size=400))
def test_autoconfig_parser_only_raises_its_own_error(body):
    try:
        ac.parse_autoconfig(body, "a@b.c")
    except ac.AutoconfigError:
        pass


def test_autoconfig_urls_https_first_http_only_when_allowed():
    assert [u for u, _ in ac.autoconfig_urls("d.test", "a@d.test", allow_http=False)] == [
        "https://autoconfig.d.test/mail/config-v1.1.xml?emailaddress=a@d.test",
        "https://d.test/.well-known/autoconfig/mail/config-v1.1.xml"]
    assert len(ac.autoconfig_urls("d.test", "a@d.test", allow_http=True)) == 4


# -- DANE ----------------------------------------------------------------------------------

def _chain():
    certs = make_lab_certificates("mx.example.test")
    leaf = x509.load_pem_x509_certificate(certs.cert_pem)
    ca = x509.load_pem_x509_certificate(certs.ca_pem)
    der = serialization.Encoding.DER
    spki = leaf.public_key().public_bytes(der, serialization.PublicFormat.SubjectPublicKeyInfo)
    return leaf.public_bytes(der), ca.public_bytes(der), spki


@pytest.mark.parametrize("usage, selector, mtype", [(3, 1, 1), (3, 0, 1), (3, 1, 2), (3, 0, 0), (2, 0, 1)])
def test_tlsa_parameters_match(usage, selector, mtype):
    leaf, ca, spki = _chain()
    cert = ca if usage == 2 else leaf
    data = {0: cert, 1: spki if usage == 3 else None}[selector]
    data = {0: lambda d: d, 1: lambda d: hashlib.sha256(d).digest(), 2: lambda d: hashlib.sha512(d).digest()}[
        mtype](data)
    (checked,) = match_tlsa([TlsaRecord(usage, selector, mtype, data)], [leaf, ca], hostname_match=True)
    assert checked.usable and checked.matched, checked.detail


def test_tlsa_mismatch_and_unusable_pkix_usages():
    leaf, ca, spki = _chain()
    digest = hashlib.sha256(spki).digest()
    (wrong,) = match_tlsa([TlsaRecord(3, 1, 1, b"\0" * 32)], [leaf, ca], hostname_match=True)
    assert wrong.usable and not wrong.matched
    (pkix,) = match_tlsa([TlsaRecord(1, 1, 1, digest)], [leaf, ca], hostname_match=True)
    assert not pkix.usable and not pkix.matched and "RFC 7672 §3.1.3" in pkix.detail
    (unknown,) = match_tlsa([TlsaRecord(3, 7, 1, digest)], [leaf, ca], hostname_match=True)
    assert not unknown.usable and "unknown" in unknown.detail
    # DANE-TA never matches the leaf itself
    (ta_on_leaf,) = match_tlsa([TlsaRecord(2, 1, 1, digest)], [leaf, ca], hostname_match=True)
    assert not ta_on_leaf.matched


# -- arguments, schema -----------------------------------------------------------------------

def test_dns_server_argument():
    assert parse_dns_server("127.0.0.53") == ("127.0.0.53", 53)
    assert parse_dns_server("127.0.86.1:5353") == ("127.0.86.1", 5353)
    assert parse_dns_server("[::1]:53") == ("::1", 53)
    for bad in ("dns.example", "127.0.0.1:0", "127.0.0.1:x"):
        with pytest.raises(UsageError):
            parse_dns_server(bad)


@pytest.mark.parametrize("args, words", [
    (["not-an-address"], "is not an e-mail address"),
    (["a@nodot"], "has no dot"),
    (["a@exa mple.org"], "not a valid host name"),
    (["a@example.org", "--dns-server", "resolver.example"], "--dns-server wants an IP address"),
    (["a@example.org", "--cafile", "/nonexistent.pem"], "cannot read --cafile"),
])
def test_bad_arguments_give_one_line_and_exit_2(run_cli, args, words):
    completed, _ = run_cli("discover", *args)
    assert completed.returncode == 2
    assert words in completed.stderr and len(completed.stderr.strip().splitlines()) == 1


def test_schema_knows_every_finding_id():
    assert set(SCHEMA["properties"]["findings"]["items"]["properties"]["id"]["enum"]) == set(CATALOGUE)


def test_help_lists_discover(run_cli):
    completed, _ = run_cli("--help")
    assert "discover" in completed.stdout and "20  discover" in completed.stdout
    completed, _ = run_cli("discover", "--help")
    assert "--dns-server" in completed.stdout and "--format" in completed.stdout


def test_probes_start_staggered(lab_server):
    from inspector.discover.probing import run_staggered
    from inspector.probes.session import ProbeConfig

    lab = lab_server()
    configs = [ProbeConfig(host=lab.host, port=lab.port, servername=lab.hostname, cafile=lab.ca_path,
                           timeout=5, deadline=10)] * 4
    outcomes = run_staggered(configs, concurrency=4, stagger=0.1,
                             deadline_at=__import__("time").monotonic() + 20)
    starts = sorted(datetime.datetime.fromisoformat(o.result.started_at) for o in outcomes)
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert all(o.result.tls is not None for o in outcomes)
    assert all(gap >= 0.09 for gap in gaps), gaps
