"""inspector.rules.certificates: one pure function per certificate finding id."""

from __future__ import annotations

import datetime

from inspector.certs.shape import AbsentIssuer
from inspector.certs.validation import ISSUER_NOT_FOUND, TrustVerdict
from inspector.findings import CATALOGUE
from inspector.frozen import replace
from inspector.rules import certificates as rules

NOW = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)


def test_every_cert_and_tlsa_id_has_exactly_one_rule_named_after_it():
    ids = {fid for fid in CATALOGUE if fid.startswith(("cert-", "tlsa-"))}
    named = [rule.__name__.replace("_", "-") for rule in rules.RULES]
    assert sorted(named) == sorted(ids)


def facts(**changes):
    from inspector.certs.facts import ChainFacts

    base = ChainFacts(servername="mail.example.test", now=NOW, sent_count=1, certificates=(),
                      leaf=None, complete=True, hostname_match=True,
                      trust=TrustVerdict(False, ISSUER_NOT_FOUND, "unable to get local issuer "
                                         "certificate: the issuer of leaf, CN=My Root CA, ...", 20, 0),
                      chain_order=None,
                      absent_issuer=AbsentIssuer("leaf", "CN=My Root CA", None))
    return replace(base, **changes)


def test_absent_issuer_without_evidence_is_not_a_missing_intermediate():
    """Issue 19 case 11: the only finding is cert-untrusted, and it names the issuer."""
    judged = rules.judge_chain(facts())
    assert [f.id for f in judged] == ["cert-untrusted"]
    assert "CN=My Root CA" in judged[0].evidence


def test_absent_intermediate_with_evidence_is_reported_once():
    absent = AbsentIssuer("leaf", "CN=Int", "leaf points to its issuer's certificate at http://x/i.crt")
    judged = rules.judge_chain(facts(absent_issuer=absent))
    assert [f.id for f in judged] == ["cert-untrusted", "cert-missing-intermediate"]


def test_missing_intermediate_needs_openssls_no_local_issuer_class():
    absent = AbsentIssuer("leaf", "CN=Int", "evidence")
    trust = TrustVerdict(False, "certificate expired (leaf)", None, 10, 0)
    assert rules.cert_missing_intermediate(facts(absent_issuer=absent, trust=trust)) is None


def test_profile_departures_are_one_warning_and_only_on_a_trusted_chain():
    trusted = TrustVerdict(True, None, None, 0, 0, ("OpenSSL with X509_STRICT rejects it: a", "b"))
    finding = rules.cert_profile_nonconforming(facts(trust=trusted))
    assert finding.severity.value == "warning" and finding.evidence.endswith("a; b")
    untrusted = replace(trusted, trusted=False)
    assert rules.cert_profile_nonconforming(facts(trust=untrusted)) is None
