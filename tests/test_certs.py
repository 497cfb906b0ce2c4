"""Tests for inspector.certs: certificates are minted here with cryptography."""

from __future__ import annotations

import datetime
import functools
import hashlib
import ipaddress
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from inspector import certs
from inspector.errors import UsageError
from inspector.findings import Finding
from inspector.frozen import fields
from inspector.render import json_output

NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
SERVER = "mail.example.com"


# ------------------------------------------------------------------- builders


@functools.cache
def ec_key(slot: int) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@functools.cache
def rsa_key(bits: int, slot: int = 0) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def _read_tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """Split DER into (tag, content) at one level; definite lengths, one-byte tags."""
    out, pos = [], 0
    while pos < len(data):
        tag, length = data[pos], data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
        out.append((tag, data[pos:pos + length]))
        pos += length
    return out


SHA256_RSA = bytes.fromhex("2a864886f70d01010b")
SHA1_RSA = bytes.fromhex("2a864886f70d010105")


def _assemble(tbs: bytes, algorithm_oid: bytes, signature: bytes) -> x509.Certificate:
    algorithm = _tlv(0x30, _tlv(0x06, algorithm_oid) + b"\x05\x00")
    der = _tlv(0x30, tbs + algorithm + _tlv(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def resign_with_sha1(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """cryptography 48 refuses to sign with SHA-1, so swap the OID and sign the TBS by hand."""
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(SHA256_RSA) == 1
    tbs = tbs.replace(SHA256_RSA, SHA1_RSA)
    return _assemble(tbs, SHA1_RSA, issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1()))


def duplicate_last_extension(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Re-encode the TBS with its last extension repeated (RFC 5280 §4.2 forbids this)."""
    [(_, tbs_body)] = _read_tlvs(cert.tbs_certificate_bytes)
    parts = _read_tlvs(tbs_body)
    assert parts[-1][0] == 0xA3
    [(_, extensions)] = _read_tlvs(parts[-1][1])
    items = _read_tlvs(extensions)
    items.append(items[-1])
    new_extensions = _tlv(0xA3, _tlv(0x30, b"".join(_tlv(t, b) for t, b in items)))
    tbs = _tlv(0x30, b"".join(_tlv(t, b) for t, b in parts[:-1]) + new_extensions)
    return _assemble(tbs, SHA256_RSA, issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA256()))


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _general_name(entry: str) -> x509.GeneralName:
    kind, _, value = entry.partition(":")
    if kind == "IP":
        return x509.IPAddress(ipaddress.ip_address(value))
    assert kind == "DNS"
    return x509.DNSName(value)


def make_cert(cn: str, key, *, issuer: tuple[x509.Certificate, object] | None = None,
              ca: bool = False, sans: tuple[str, ...] | None = ("DNS:" + SERVER,),
              not_before: datetime.datetime = NOW - 30 * DAY,
              not_after: datetime.datetime = NOW + 300 * DAY,
              sha1: bool = False, aia: str | None = None) -> x509.Certificate:
    """One certificate; self-signed when ``issuer`` is None. ``sans=None`` omits the SAN;
    ``aia`` adds an authorityInfoAccess caIssuers URL, as public CAs put in every leaf."""
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                       critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        if sans is not None:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(s) for s in sans]), critical=False)
    if aia is not None:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia))]),
            critical=False)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(issuer_key, algorithm)
    return resign_with_sha1(cert, issuer_key) if sha1 else cert


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def write_pem(path, *cert_list: x509.Certificate) -> str:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in cert_list))
    return str(path)


@pytest.fixture(scope="module")
def root():
    return make_cert("Test Root CA", rsa_key(2048, 0), ca=True,
                     not_before=NOW - 3650 * DAY, not_after=NOW + 3650 * DAY)


@pytest.fixture(scope="module")
def intermediate(root):
    return make_cert("Test Intermediate CA", rsa_key(2048, 1), issuer=(root, rsa_key(2048, 0)),
                     ca=True, not_before=NOW - 1000 * DAY, not_after=NOW + 1000 * DAY)


@pytest.fixture(scope="module")
def issuer(intermediate):
    return (intermediate, rsa_key(2048, 1))


@pytest.fixture
def cafile(tmp_path, root):
    return write_pem(tmp_path / "root.pem", root)


def leaf(issuer, **kwargs) -> x509.Certificate:
    return make_cert(kwargs.pop("cn", SERVER), kwargs.pop("key", ec_key(0)), issuer=issuer, **kwargs)


def ids(report: certs.CertificateReport) -> set[str]:
    return {f.id for f in report.findings}


def analyze(chain, cafile, servername=SERVER, now=NOW):
    return certs.analyze_chain([der(c) for c in chain], servername, cafile=cafile, now=now)


# --------------------------------------------------------------------- trust


def test_good_chain_is_trusted_without_findings(issuer, intermediate, cafile):
    report = analyze([leaf(issuer), intermediate], cafile)
    assert report.trusted is True
    assert report.trust_error is None
    assert report.hostname_match is True
    assert ids(report) == set()
    assert [c.subject for c in report.chain] == [f"CN={SERVER}", "CN=Test Intermediate CA"]


def test_chain_info_fields(issuer, intermediate, cafile):
    cert = leaf(issuer, sans=("DNS:" + SERVER, "IP:192.0.2.7"))
    info = analyze([cert, intermediate], cafile).chain[0]
    assert info.issuer == "CN=Test Intermediate CA"
    assert info.sans == ("DNS:" + SERVER, "IP:192.0.2.7")
    assert info.serial == format(cert.serial_number, "x")
    assert info.not_before == "2026-01-30T12:00:00Z"
    assert info.not_after == "2026-12-26T12:00:00Z"
    assert (info.key_type, info.key_bits, info.curve) == ("EC", 256, "secp256r1")
    assert info.signature_algorithm == "sha256WithRSAEncryption"
    assert info.sha256_fingerprint == hashlib.sha256(der(cert)).hexdigest()
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert info.spki_sha256 == hashlib.sha256(spki).hexdigest()
    assert info.self_signed is False


def test_root_sent_in_chain_is_flagged_self_signed_and_still_trusted(issuer, intermediate, root, cafile):
    report = analyze([leaf(issuer), intermediate, root], cafile)
    assert report.trusted is True
    assert [c.self_signed for c in report.chain] == [False, False, True]
    assert ids(report) == set()


INTERMEDIATE_URL = "http://ca.example.com/intermediate.crt"


def test_missing_intermediate_is_untrusted_with_reason(issuer, cafile):
    # The leaf names where its issuer's certificate is (AIA caIssuers): that shows the absent
    # issuer is an intermediate. Without it the chain is the same as a leaf signed directly by
    # an unknown root, which is one finding (issue 19 case 11, tests/test_certs_chain.py).
    report = analyze([leaf(issuer, aia=INTERMEDIATE_URL)], cafile)
    assert report.trusted is False
    assert report.trust_error == certs.ISSUER_NOT_FOUND
    # issue 4: the missing intermediate is named by its own finding, next to cert-untrusted
    assert ids(report) == {"cert-untrusted", "cert-missing-intermediate"}
    assert report.hostname_match is True


def test_wrong_anchors_are_untrusted(tmp_path, issuer, intermediate):
    other = make_cert("Other Root CA", ec_key(9), ca=True)
    report = analyze([leaf(issuer), intermediate], write_pem(tmp_path / "other.pem", other))
    assert report.trusted is False
    assert report.trust_error == certs.ISSUER_NOT_FOUND
    assert ids(report) == {"cert-untrusted"}


def test_hostname_mismatch_is_not_also_untrusted(issuer, intermediate, cafile):
    report = analyze([leaf(issuer, sans=("DNS:a.example",)), intermediate], cafile,
                     servername="b.example")
    assert report.trusted is True
    assert report.hostname_match is False
    assert ids(report) == {"cert-hostname-mismatch"}
    [finding] = report.findings
    assert finding.evidence == "SANs: DNS:a.example, servername b.example"


def test_wildcard_leaf_is_trusted(issuer, intermediate, cafile):
    report = analyze([leaf(issuer, sans=("DNS:*.example.com",)), intermediate], cafile)
    assert report.trusted is True
    assert ids(report) == set()


def test_ip_only_leaf_is_trusted(issuer, intermediate, cafile):
    report = analyze([leaf(issuer, sans=("IP:192.0.2.7",)), intermediate], cafile,
                     servername="192.0.2.7")
    assert (report.trusted, report.hostname_match) == (True, True)
    assert ids(report) == set()


def test_system_store_does_not_trust_test_root(issuer, intermediate):
    report = analyze([leaf(issuer), intermediate], None)
    assert report.trusted is False
    assert ids(report) == {"cert-untrusted"}


# ----------------------------------------------------------- hostname rules


@pytest.mark.parametrize(("sans", "name", "expected"), [
    (("DNS:mail.example.com",), "mail.example.com", True),
    (("DNS:mail.example.com",), "MAIL.Example.COM", True),
    (("DNS:MAIL.EXAMPLE.COM",), "mail.example.com", True),
    (("DNS:mail.example.com",), "mail.example.com.", True),
    (("DNS:mail.example.com",), "mx.example.com", False),
    (("DNS:mail.example.com",), "example.com", False),
    (("DNS:other.example", "DNS:mail.example.com"), "mail.example.com", True),
    (("DNS:*.example.com",), "a.example.com", True),
    (("DNS:*.example.com",), "A.EXAMPLE.COM", True),
    (("DNS:*.example.com",), "example.com", False),
    (("DNS:*.example.com",), "a.b.example.com", False),
    (("DNS:*.example.com",), "a.example.org", False),
    (("DNS:f*.example.com",), "foo.example.com", False),
    (("DNS:*oo.example.com",), "foo.example.com", False),
    (("DNS:a.*.example.com",), "a.b.example.com", False),
    (("DNS:*.com",), "example.com", False),
    (("DNS:*",), "localhost", False),
    (("DNS:xn--bcher-kva.example",), "xn--bcher-kva.example", True),
    (("DNS:xn--bcher-kva.example",), "bücher.example", True),
    (("DNS:*.example.com",), "xn--bcher-kva.example.com", True),
    (("IP:192.0.2.7",), "192.0.2.7", True),
    (("IP:192.0.2.7",), "192.0.2.8", False),
    (("IP:2001:db8::1",), "2001:DB8:0:0::1", True),
    (("IP:2001:db8::1",), "[2001:db8::1]", True),
    (("DNS:192.0.2.7",), "192.0.2.7", False),
    (("IP:192.0.2.7",), "mail.example.com", False),
    (("DNS:*.example.com",), "*.example.com", False),
])
def test_hostname_rules(issuer, sans, name, expected):
    assert certs.hostname_matches(leaf(issuer, sans=sans), name) is expected


def test_cn_is_ignored_when_a_san_exists(issuer):
    cert = leaf(issuer, cn="mail.example.com", sans=("DNS:other.example",))
    assert certs.hostname_matches(cert, "mail.example.com") is False


def test_cn_fallback_only_without_san(issuer):
    cert = leaf(issuer, cn="mail.example.com", sans=None)
    assert certs.hostname_matches(cert, "mail.example.com") is True
    assert certs.hostname_matches(cert, "mx.example.com") is False


def test_cn_fallback_never_serves_ip_literals(issuer):
    cert = leaf(issuer, cn="192.0.2.7", sans=None)
    assert certs.hostname_matches(cert, "192.0.2.7") is False


# -------------------------------------------------------------- findings


def test_expired_leaf(issuer, intermediate, cafile):
    cert = leaf(issuer, not_before=NOW - 400 * DAY, not_after=NOW - 120 * DAY)
    report = analyze([cert, intermediate], cafile)
    assert ids(report) == {"cert-expired", "cert-untrusted"}
    assert report.trust_error == "certificate expired (leaf)"
    expired = next(f for f in report.findings if f.id == "cert-expired")
    assert expired.evidence == "leaf notAfter 2025-11-01T12:00:00Z, 120 days ago"


def test_expired_intermediate_names_its_position(root, cafile):
    old_ca = make_cert("Old Intermediate", rsa_key(2048, 2), issuer=(root, rsa_key(2048, 0)),
                       ca=True, not_before=NOW - 900 * DAY, not_after=NOW - 5 * DAY)
    report = analyze([leaf((old_ca, rsa_key(2048, 2))), old_ca], cafile)
    assert ids(report) == {"cert-expired", "cert-untrusted"}
    expired = next(f for f in report.findings if f.id == "cert-expired")
    assert expired.evidence.startswith("chain[1] (Old Intermediate) notAfter")
    assert report.trust_error == "certificate expired (chain[1] (Old Intermediate))"


def test_not_yet_valid_leaf(issuer, intermediate, cafile):
    cert = leaf(issuer, not_before=NOW + 5 * DAY, not_after=NOW + 100 * DAY)
    report = analyze([cert, intermediate], cafile)
    assert ids(report) == {"cert-not-yet-valid", "cert-untrusted"}
    assert report.trust_error == "certificate not yet valid (leaf)"
    finding = next(f for f in report.findings if f.id == "cert-not-yet-valid")
    assert finding.evidence == "leaf notBefore 2026-03-06T12:00:00Z, in 5 days"


def test_expiring_soon_leaf(issuer, intermediate, cafile):
    cert = leaf(issuer, not_after=NOW + 12 * DAY)
    report = analyze([cert, intermediate], cafile)
    assert report.trusted is True
    assert ids(report) == {"cert-expiring-soon"}
    assert report.findings[0].evidence == "leaf notAfter 2026-03-13T12:00:00Z, in 12 days"


def test_leaf_with_31_days_left_is_not_expiring_soon(issuer, intermediate, cafile):
    report = analyze([leaf(issuer, not_after=NOW + 31 * DAY), intermediate], cafile)
    assert ids(report) == set()


def test_expiring_soon_applies_to_the_leaf_only(root, cafile):
    short_ca = make_cert("Short Intermediate", rsa_key(2048, 2), issuer=(root, rsa_key(2048, 0)),
                         ca=True, not_after=NOW + 10 * DAY)
    cert = leaf((short_ca, rsa_key(2048, 2)), not_after=NOW + 9 * DAY)
    report = analyze([cert, short_ca], cafile)
    assert report.trusted is True
    assert [(f.id, f.evidence) for f in report.findings] == [
        ("cert-expiring-soon", "leaf notAfter 2026-03-10T12:00:00Z, in 9 days")]


def test_weak_rsa_leaf_key(issuer, intermediate, cafile):
    cert = leaf(issuer, key=rsa_key(1024))
    report = analyze([cert, intermediate], cafile)
    # OpenSSL clients verify at their security level (2 on Debian: RSA >= 2048 bits), so a
    # weak leaf key is refused: "EE certificate key too weak" (X509_V_ERR 66), as s_client says.
    assert report.trusted is False
    assert report.verify_error == 66
    assert ids(report) == {"cert-weak-key", "cert-untrusted"}
    assert next(f for f in report.findings if f.id == "cert-weak-key").evidence == "leaf: RSA 1024 bits"
    assert (report.chain[0].key_type, report.chain[0].key_bits) == ("RSA", 1024)


def test_weak_intermediate_key_is_reported_and_untrusted(root, cafile):
    weak_ca = make_cert("Weak Intermediate", rsa_key(1024, 1), issuer=(root, rsa_key(2048, 0)),
                        ca=True)
    report = analyze([leaf((weak_ca, rsa_key(1024, 1))), weak_ca], cafile)
    assert ids(report) == {"cert-weak-key", "cert-untrusted"}
    weak = next(f for f in report.findings if f.id == "cert-weak-key")
    assert weak.evidence == "chain[1] (Weak Intermediate): RSA 1024 bits"
    assert "RSA key is too weak" in report.trust_error


def test_small_ec_key_is_weak(issuer, intermediate, cafile):
    small = ec.generate_private_key(ec.SECP224R1())
    report = analyze([leaf(issuer, key=small), intermediate], cafile)
    assert "cert-weak-key" in ids(report)
    assert next(f for f in report.findings if f.id == "cert-weak-key").evidence == \
        "leaf: EC 224 bits (secp224r1)"


def test_sha1_signed_leaf(issuer, intermediate, cafile):
    cert = leaf(issuer, sha1=True)
    report = analyze([cert, intermediate], cafile)
    assert report.chain[0].signature_algorithm == "sha1WithRSAEncryption"
    assert ids(report) == {"cert-sha1-signature", "cert-untrusted"}
    sha1 = next(f for f in report.findings if f.id == "cert-sha1-signature")
    assert sha1.evidence == "leaf: sha1WithRSAEncryption"


def test_sha1_self_signed_root_is_not_flagged(tmp_path):
    old_root = make_cert("Old Root", rsa_key(2048, 3), ca=True, sha1=True)
    site = make_cert(SERVER, ec_key(0), issuer=(old_root, rsa_key(2048, 3)))
    report = analyze([site, old_root], write_pem(tmp_path / "old.pem", old_root))
    assert report.chain[1].self_signed is True  # detected despite the SHA-1 signature
    assert "cert-sha1-signature" not in ids(report)


def test_self_signed_leaf(issuer, cafile):
    cert = make_cert(SERVER, ec_key(3))
    report = analyze([cert], cafile)
    assert report.chain[0].self_signed is True
    assert report.trust_error == certs.SELF_SIGNED
    assert ids(report) == {"cert-self-signed", "cert-untrusted"}


def test_self_signed_leaf_pinned_as_anchor_is_trusted(tmp_path):
    cert = make_cert(SERVER, ec_key(3))
    report = analyze([cert], write_pem(tmp_path / "pin.pem", cert))
    assert report.trusted is True
    assert ids(report) == {"cert-self-signed"}


def test_leaf_without_san(issuer, intermediate, cafile):
    cert = leaf(issuer, cn=SERVER, sans=None)
    report = analyze([cert, intermediate], cafile)
    assert report.hostname_match is True  # legacy CN fallback
    # OpenSSL clients trust the path (the name is not part of it) and X509_check_host falls
    # back to the CN without a SAN; only web-PKI verifiers refuse. cert-no-san says so.
    assert report.trusted is True
    assert report.trust_error is None
    assert ids(report) == {"cert-no-san"}


def test_leaf_without_san_and_wrong_cn(issuer, intermediate, cafile):
    report = analyze([leaf(issuer, cn="other.example", sans=None), intermediate], cafile)
    assert ids(report) == {"cert-no-san", "cert-hostname-mismatch"}
    mismatch = next(f for f in report.findings if f.id == "cert-hostname-mismatch")
    assert mismatch.evidence == f"no SAN, CN other.example, servername {SERVER}"


def test_many_problems_give_one_finding_per_id(root, cafile):
    weak_ca = make_cert("Weak Intermediate", rsa_key(1024, 1), issuer=(root, rsa_key(2048, 0)),
                        ca=True)
    cert = leaf((weak_ca, rsa_key(1024, 1)), key=rsa_key(1024))
    report = analyze([cert, weak_ca], cafile)
    assert [f.id for f in report.findings] == ["cert-untrusted", "cert-weak-key"]
    weak = next(f for f in report.findings if f.id == "cert-weak-key")
    assert weak.evidence == "leaf: RSA 1024 bits; chain[1] (Weak Intermediate): RSA 1024 bits"


def test_ed25519_key_is_described(tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    cert = make_cert(SERVER, key)
    info = certs.analyze_chain([der(cert)], SERVER, cafile=write_pem(tmp_path / "e.pem", cert),
                               now=NOW).chain[0]
    assert (info.key_type, info.key_bits, info.curve) == ("Ed25519", 256, None)
    assert info.signature_algorithm == "ed25519"
    assert info.self_signed is True


# ------------------------------------------------------------- robustness


def test_garbage_der_does_not_raise(cafile):
    report = certs.analyze_chain([b"\x30\x03garbage"], SERVER, cafile=cafile, now=NOW)
    assert report.chain == ()
    assert report.trusted is False
    assert report.hostname_match is False
    assert report.trust_error.startswith("certificate could not be parsed: chain[0]")
    assert ids(report) == {"cert-untrusted"}


def test_garbage_intermediate_keeps_parsed_leaf(issuer, cafile):
    report = certs.analyze_chain([der(leaf(issuer)), b"nonsense"], SERVER, cafile=cafile, now=NOW)
    assert len(report.chain) == 1
    assert report.hostname_match is True
    assert report.trusted is False
    assert report.trust_error.startswith("certificate could not be parsed: chain[1]")
    assert ids(report) == {"cert-untrusted"}


def test_empty_chain(cafile):
    report = certs.analyze_chain([], SERVER, cafile=cafile, now=NOW)
    assert (report.chain, report.trusted, report.hostname_match) == ((), False, False)
    assert report.trust_error == "server sent no certificate"
    assert ids(report) == {"cert-untrusted"}


def test_duplicate_extension_is_treated_as_absent(issuer, intermediate, cafile):
    cert = duplicate_last_extension(leaf(issuer), issuer[1])
    with pytest.raises(x509.DuplicateExtension):
        cert.extensions  # noqa: B018 - decoded lazily, so loading did not fail
    assert certs.hostname_matches(cert, SERVER) is True  # CN fallback: SAN unreadable
    report = analyze([cert, intermediate], cafile)
    assert report.chain[0].sans == ()
    assert report.trusted is False
    assert "cert-no-san" in ids(report)


def test_unreadable_cafile_becomes_trust_error(tmp_path, issuer, intermediate):
    report = analyze([leaf(issuer), intermediate], str(tmp_path / "missing.pem"))
    assert report.trusted is False
    assert report.trust_error.startswith("cannot read CA file")


def test_naive_now_is_taken_as_utc(issuer, intermediate, cafile):
    report = analyze([leaf(issuer), intermediate], cafile, now=NOW.replace(tzinfo=None))
    assert report.trusted is True


# ------------------------------------------------------------ trust anchors


def test_load_trust_anchors_from_cafile_skips_broken_entries(tmp_path, root):
    other = make_cert("Other Root CA", ec_key(9), ca=True)
    broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    path = tmp_path / "bundle.pem"
    path.write_bytes(root.public_bytes(serialization.Encoding.PEM) + broken
                     + other.public_bytes(serialization.Encoding.PEM))
    anchors = certs.load_trust_anchors(str(path))
    assert [a.subject.rfc4514_string() for a in anchors] == ["CN=Test Root CA", "CN=Other Root CA"]


def test_load_trust_anchors_rejects_unusable_cafile(tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here\n")
    with pytest.raises(UsageError):
        certs.load_trust_anchors(str(empty))
    with pytest.raises(UsageError):
        certs.load_trust_anchors(str(tmp_path / "absent.pem"))


def test_load_trust_anchors_system_store_returns_certificates():
    anchors = certs.load_trust_anchors(None)
    assert all(isinstance(a, x509.Certificate) for a in anchors)


def test_a_non_positive_serial_warns_nobody_even_after_a_filter_reset():
    """cryptography warns on a serial <= 0 (RFC 5280 §4.1.2.2; one is in Debian's CA store), and test
    runners reset the warning filters before each test: parsing must stay silent all the same."""
    import base64
    import warnings

    from inspector.certs.describe import load_der, load_pem

    [(_, body)] = _read_tlvs(der(make_cert("serial-zero", ec_key(0))))
    (_, tbs), *rest = _read_tlvs(body)
    version, _serial, *fields = _read_tlvs(tbs)
    tbs = b"".join(_tlv(tag, content) for tag, content in (version, (0x02, b"\x00"), *fields))
    zero = _tlv(0x30, _tlv(0x30, tbs) + b"".join(_tlv(tag, content) for tag, content in rest))
    pem = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(zero) + b"-----END CERTIFICATE-----\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # as pytest leaves them for each test
        serials = [load_der(zero).serial_number, load_pem(pem).serial_number]
    assert serials == [0, 0] and [str(w.message) for w in caught] == []


# -------------------------------------------------------------------- JSON


def test_to_json_round_trips(issuer, intermediate, cafile):
    report = analyze([leaf(issuer, sans=("DNS:" + SERVER, "IP:192.0.2.7")), intermediate], cafile,
                     servername="other.example")
    data = json_output.certificate_report(report)
    assert set(data) == {"servername", "hostname_match", "trusted", "trust_error", "chain"}
    assert json.loads(json.dumps(data)) == data
    assert set(data["chain"][0]) == {f.name for f in fields(certs.CertificateInfo)}
    assert data["chain"][0]["sans"] == ["DNS:" + SERVER, "IP:192.0.2.7"]
    assert data["servername"] == "other.example" and data["hostname_match"] is False
    assert all(isinstance(f, Finding) for f in report.findings)
    json.dumps([json_output.finding(f) for f in report.findings])
