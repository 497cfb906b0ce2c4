"""Chain shape, serverAuth EKU and DANE TLSA (issue 4); chains are minted with cryptography."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from inspector import certs
from inspector.errors import UsageError
from tests.test_certs import (
    NOW,
    SERVER,
    analyze,
    der,
    ec_key,
    ids,
    intermediate,  # noqa: F401  (fixture)
    issuer,  # noqa: F401  (fixture)
    leaf,
    root,  # noqa: F401  (fixture)
    rsa_key,
    write_pem,
)
from tests.test_certs import cafile as cafile  # noqa: F401  (fixture)


def spki(cert) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def with_eku(cert: x509.Certificate, issuer_cert, issuer_key, usages) -> x509.Certificate:
    """Same leaf, its extendedKeyUsage replaced."""
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(issuer_cert.subject)
               .public_key(cert.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(cert.not_valid_before_utc).not_valid_after(cert.not_valid_after_utc))
    for ext in cert.extensions:
        if isinstance(ext.value, x509.ExtendedKeyUsage):
            continue
        builder = builder.add_extension(ext.value, ext.critical)
    builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def test_good_chain_has_no_new_findings(issuer, intermediate, cafile):  # noqa: F811
    report = analyze([leaf(issuer), intermediate], cafile)
    assert report.trusted and ids(report) == set()


def test_wrong_order_is_reported_but_still_trusted(issuer, intermediate, root, cafile):  # noqa: F811
    report = analyze([leaf(issuer), root, intermediate], cafile)
    assert report.trusted is True
    assert ids(report) == {"cert-chain-order"}
    assert "chain[0] -> chain[2] -> chain[1]" in report.findings[0].evidence


def test_missing_intermediate_names_the_issuer(issuer, cafile):  # noqa: F811
    report = analyze([leaf(issuer, aia="http://ca.example.com/int.crt")], cafile)  # see test_certs.py
    assert {"cert-missing-intermediate", "cert-untrusted"} == ids(report)
    evidence = next(f.evidence for f in report.findings if f.id == "cert-missing-intermediate")
    assert "Test Intermediate CA" in evidence


def test_untrusted_root_is_not_a_missing_intermediate(tmp_path, issuer, intermediate, root):  # noqa: F811
    other = certs_root_elsewhere()
    report = analyze([leaf(issuer), intermediate, root], write_pem(tmp_path / "other.pem", other))
    assert ids(report) == {"cert-untrusted"}
    # the intermediate is sent, the unknown root omitted: still not "missing intermediate"
    report = analyze([leaf(issuer), intermediate], write_pem(tmp_path / "other2.pem", other))
    assert ids(report) == {"cert-untrusted"}


def certs_root_elsewhere():
    from tests.test_certs import make_cert
    return make_cert("Another Root", rsa_key(2048, 7), ca=True, not_before=NOW.replace(year=2020),
                     not_after=NOW.replace(year=2036))


def test_leaf_without_server_auth_eku(issuer, intermediate, cafile):  # noqa: F811
    cert = with_eku(leaf(issuer), intermediate, rsa_key(2048, 1), [ExtendedKeyUsageOID.CLIENT_AUTH])
    report = analyze([cert, intermediate], cafile)
    assert "cert-no-server-auth-eku" in ids(report)
    assert "clientAuth" in next(f.evidence for f in report.findings if f.id == "cert-no-server-auth-eku")


def test_any_extended_key_usage_is_enough(issuer, intermediate, cafile):  # noqa: F811
    cert = with_eku(leaf(issuer), intermediate, rsa_key(2048, 1),
                    [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE])
    assert "cert-no-server-auth-eku" not in ids(analyze([cert, intermediate], cafile))


# ----------------------------------------------------------------------------- DANE


def tlsa_report(chain, records, cafile, servername=SERVER):
    parsed = [certs.parse_tlsa(text) for text in records]
    return certs.analyze_chain([der(c) for c in chain], servername, cafile=cafile, now=NOW, tlsa=parsed)


def test_dane_ee_spki_sha256_matches_the_leaf(issuer, intermediate, cafile):  # noqa: F811
    cert = leaf(issuer)
    report = tlsa_report([cert, intermediate], [f"3 1 1 {hashlib.sha256(spki(cert)).hexdigest()}"], cafile)
    assert [r.matched for r in report.tlsa] == [True]
    assert not {"tlsa-mismatch", "tlsa-unusable"} & ids(report)


def test_dane_ee_full_certificate_sha512_and_exact(issuer, intermediate, cafile):  # noqa: F811
    cert = leaf(issuer)
    records = [f"3 0 2 {hashlib.sha512(der(cert)).hexdigest()}", f"3 1 0 {spki(cert).hex()}"]
    assert [r.matched for r in tlsa_report([cert, intermediate], records, cafile).tlsa] == [True, True]


def test_dane_ee_ignores_the_name_but_ta_does_not(issuer, intermediate, cafile):  # noqa: F811
    cert = leaf(issuer)
    ee = f"3 1 1 {hashlib.sha256(spki(cert)).hexdigest()}"
    ta = f"2 0 1 {hashlib.sha256(der(intermediate)).hexdigest()}"
    report = tlsa_report([cert, intermediate], [ee], cafile, servername="other.example.net")
    assert report.tlsa[0].matched is True                       # RFC 7672 §3.1.1
    report = tlsa_report([cert, intermediate], [ta], cafile, servername="other.example.net")
    assert report.tlsa[0].matched is False and "tlsa-mismatch" in ids(report)  # RFC 7672 §3.1.2
    report = tlsa_report([cert, intermediate], [ta], cafile)
    assert report.tlsa[0].matched is True and "tlsa-mismatch" not in ids(report)


def test_dane_ta_must_be_on_the_issuer_path(issuer, intermediate, cafile):  # noqa: F811
    cert = leaf(issuer)
    stranger = leaf(issuer, key=ec_key(5), cn="stranger.example.com")
    ta = f"2 1 1 {hashlib.sha256(spki(stranger)).hexdigest()}"
    report = tlsa_report([cert, intermediate, stranger], [ta], cafile)
    assert "tlsa-mismatch" in ids(report)


def test_wrong_digest_is_a_mismatch(issuer, intermediate, cafile):  # noqa: F811
    report = tlsa_report([leaf(issuer), intermediate], ["3 1 1 " + "00" * 32], cafile)
    assert "tlsa-mismatch" in ids(report)
    assert report.findings[[f.id for f in report.findings].index("tlsa-mismatch")].severity.value == "error"


def test_pkix_usages_are_unusable_for_smtp(issuer, intermediate, cafile):  # noqa: F811
    cert = leaf(issuer)
    report = tlsa_report([cert, intermediate], [f"1 1 1 {hashlib.sha256(spki(cert)).hexdigest()}"], cafile)
    assert report.tlsa[0].usable is False
    assert "tlsa-unusable" in ids(report) and "tlsa-mismatch" not in ids(report)


@pytest.mark.parametrize("text", ["3 1 1", "3 1 1 zz", "4 1 1 " + "00" * 32, "3 1 1 " + "00" * 31,
                                  "x 1 1 00", "3 2 0 00"])
def test_bad_tlsa_text_is_a_usage_error(text):
    with pytest.raises(UsageError):
        certs.parse_tlsa(text)


# ------------------------------------------------- issue 19 case 11, issue 13 case 2


def test_leaf_signed_directly_by_an_unknown_root_is_one_finding(tmp_path):
    """19.11: cert-untrusted alone; nothing says an intermediate is missing (none is)."""
    from tests.test_certs import make_cert
    private_root = make_cert("My Root CA", rsa_key(2048, 8), ca=True, not_before=NOW.replace(year=2020),
                             not_after=NOW.replace(year=2036))
    cert = leaf((private_root, rsa_key(2048, 8)))
    report = analyze([cert], write_pem(tmp_path / "other.pem", certs_root_elsewhere()))
    assert ids(report) == {"cert-untrusted"}
    assert report.verify_error == 20   # openssl: unable to get local issuer certificate
    assert "unable to get local issuer certificate" in report.trust_error
    [untrusted] = report.findings
    assert "CN=My Root CA" in untrusted.evidence


def test_private_root_sent_but_not_in_the_store_is_self_signed_in_chain(tmp_path):
    """13.2: a two-certificate chain with its own root: openssl error 19, not "max depth"."""
    from tests.test_certs import make_cert
    private_root = make_cert("My Root CA", rsa_key(2048, 8), ca=True, not_before=NOW.replace(year=2020),
                             not_after=NOW.replace(year=2036))
    report = analyze([leaf((private_root, rsa_key(2048, 8))), private_root],
                     write_pem(tmp_path / "other.pem", certs_root_elsewhere()))
    assert ids(report) == {"cert-untrusted"}
    assert report.verify_error == 19
    assert "self-signed certificate in certificate chain" in report.trust_error
    assert "max depth" not in report.trust_error


def test_leaf_without_aki_is_trusted_but_nonconforming(root, cafile):  # noqa: F811
    """13.1: a departure from RFC 5280 §4.2.1.1 is a warning naming the stricter verifier."""
    from tests.test_certs import make_cert
    cert = make_cert(SERVER, ec_key(0), issuer=(root, rsa_key(2048, 0)))
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(root.subject)
               .public_key(cert.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(cert.not_valid_before_utc).not_valid_after(cert.not_valid_after_utc))
    for ext in cert.extensions:
        if not isinstance(ext.value, x509.AuthorityKeyIdentifier):
            builder = builder.add_extension(ext.value, ext.critical)
    report = analyze([builder.sign(rsa_key(2048, 0), hashes.SHA256())], cafile)
    assert report.trusted is True and report.verify_error == 0
    assert ids(report) == {"cert-profile-nonconforming"}
    [finding] = report.findings
    assert finding.severity.value == "warning"
    assert "X509_STRICT" in finding.evidence and "Missing Authority Key Identifier" in finding.evidence


def test_intermediate_alone_in_the_store_is_not_an_anchor_for_openssl(tmp_path, issuer, intermediate):  # noqa: F811
    """OpenSSL clients need the self-signed root in the store (no partial chains): error 2."""
    report = analyze([leaf(issuer), intermediate], write_pem(tmp_path / "int.pem", intermediate))
    assert report.trusted is False
    assert report.verify_error == 2
    assert report.trust_error == certs.ISSUER_OF_ANCHOR_NOT_FOUND
    assert ids(report) == {"cert-untrusted"}


def test_unrelated_ca_sent_shows_the_missing_intermediate(tmp_path, issuer, cafile):  # noqa: F811
    """The server sent a CA that certifies nothing on the path: a link is missing between them."""
    stranger = certs_root_elsewhere()
    report = analyze([leaf(issuer), stranger], cafile)
    assert ids(report) == {"cert-untrusted", "cert-missing-intermediate"}
    evidence = next(f.evidence for f in report.findings if f.id == "cert-missing-intermediate")
    assert "Another Root" in evidence and "Test Intermediate CA" in evidence


def test_without_libcrypto_cryptography_judges_and_says_so(monkeypatch, issuer, intermediate, cafile):  # noqa: F811
    from inspector.certs import openssl

    def unavailable():
        raise openssl.OpenSslUnavailable("no libcrypto")
    monkeypatch.setattr(openssl, "_library", unavailable)
    assert analyze([leaf(issuer), intermediate], cafile).trusted is True
    report = analyze([leaf(issuer)], cafile)
    assert report.trusted is False and "cryptography's web PKI verifier" in report.trust_error
