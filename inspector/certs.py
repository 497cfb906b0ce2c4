"""Certificate analysis: describe the chain a server sent, check trust and the name.

Everything here works on DER bytes already read from the wire; this module does
no network I/O. Trust is validated with ``cryptography.x509.verification``
(RFC 5280 §6 path validation under a Web PKI profile); the server name is
matched by our own RFC 6125 §6.4 rules, so that a name mismatch and an
untrusted chain are reported as two separate findings.

Nothing in :func:`analyze_chain` raises on bad input: unparsable certificates,
undecodable extensions and verifier errors all become data in the report.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import ssl
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import (
    dsa,
    ec,
    ed448,
    ed25519,
    rsa,
    x448,
    x25519,
)
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID
from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store

from inspector.errors import UsageError
from inspector.findings import CATALOGUE, Finding, make_finding

#: cryptography warns (CryptographyDeprecationWarning) when it parses a certificate it will one day
#: refuse, e.g. a serial number that is not positive (RFC 5280 §4.1.2.2). The certificate is judged
#: on its own terms here; the warning must never reach the user's terminal. One process-wide filter,
#: set once at import: ``warnings.catch_warnings()`` is not thread-safe, and ``ports`` runs threads.
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)

FALLBACK_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
EXPIRY_WARNING_DAYS = 30
MIN_RSA_DSA_BITS = 2048
MIN_EC_BITS = 256

ISSUER_NOT_FOUND = "issuer not found in trust store (missing intermediate or unknown root)"
SELF_SIGNED = "self-signed certificate"

_WEAK_SIGNATURE_OIDS = frozenset({
    SignatureAlgorithmOID.RSA_WITH_SHA1,
    SignatureAlgorithmOID.RSA_WITH_MD5,
    SignatureAlgorithmOID.ECDSA_WITH_SHA1,
    SignatureAlgorithmOID.DSA_WITH_SHA1,
    x509.ObjectIdentifier("1.2.840.113549.1.1.2"),  # md2WithRSAEncryption
    x509.ObjectIdentifier("1.3.14.3.2.29"),  # sha1WithRSASignature (OIW)
})

_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s.+?-----END CERTIFICATE-----", re.DOTALL
)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class CertificateInfo:
    """What one certificate says about itself (RFC 5280 §4.1)."""

    subject: str
    issuer: str
    serial: str
    sans: tuple[str, ...]
    not_before: str
    not_after: str
    key_type: str
    key_bits: int
    curve: str | None
    signature_algorithm: str
    sha256_fingerprint: str
    spki_sha256: str
    self_signed: bool


@dataclass(frozen=True)
class TlsaRecord:
    """One DANE TLSA record (RFC 6698 §2.1): certificate usage, selector, matching type, data."""

    usage: int
    selector: int
    matching_type: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.matching_type} {self.data.hex()}"


@dataclass(frozen=True)
class TlsaResult:
    record: TlsaRecord
    usable: bool                 #: RFC 7672 §3.1.3: only DANE-TA(2) and DANE-EE(3) are usable for SMTP
    matched: bool
    detail: str


@dataclass(frozen=True)
class CertificateReport:
    """The verdict on the chain a server presented; findings are merged by the caller."""

    servername: str
    chain: tuple[CertificateInfo, ...]
    hostname_match: bool
    trusted: bool
    trust_error: str | None
    findings: tuple[Finding, ...]
    tlsa: tuple[TlsaResult, ...] = ()


# --------------------------------------------------------------- small helpers


def _iso_utc(moment: datetime.datetime) -> str:
    moment = moment.astimezone(datetime.timezone.utc)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z")


def _as_utc(moment: datetime.datetime) -> datetime.datetime:
    """A naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _span(delta: datetime.timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds >= 86400:
        days = int(seconds // 86400)
        return f"{days} day" if days == 1 else f"{days} days"
    hours = int(seconds // 3600)
    return f"{hours} hour" if hours == 1 else f"{hours} hours"


def _name_string(name_of) -> str:
    """RFC 4514 form of a Name; names are decoded lazily and may fail."""
    try:
        return name_of().rfc4514_string()
    except Exception as exc:  # undecodable string type, bad attribute value
        return f"<undecodable name: {_one_line(exc)}>"


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def subject_alt_names(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    """The SAN extension (RFC 5280 §4.2.1.6), or None if absent or undecodable.

    cryptography decodes extensions lazily, so a duplicate or malformed extension
    surfaces only here; such a certificate is treated as having no SAN.
    """
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:  # ExtensionNotFound, DuplicateExtension, ValueError
        return None


def _common_names(cert: x509.Certificate) -> list[str]:
    try:
        return [str(attr.value) for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    except Exception:
        return []


def _san_strings(san: x509.SubjectAlternativeName | None) -> tuple[str, ...]:
    if san is None:
        return ()
    out: list[str] = []
    for general_name in san:
        if isinstance(general_name, x509.DNSName):
            out.append(f"DNS:{general_name.value}")
        elif isinstance(general_name, x509.IPAddress):
            out.append(f"IP:{general_name.value}")
        elif isinstance(general_name, x509.RFC822Name):
            out.append(f"email:{general_name.value}")
        elif isinstance(general_name, x509.UniformResourceIdentifier):
            out.append(f"URI:{general_name.value}")
        elif isinstance(general_name, x509.DirectoryName):
            out.append(f"dirName:{_name_string(lambda name=general_name: name.value)}")
        elif isinstance(general_name, x509.RegisteredID):
            out.append(f"RID:{general_name.value.dotted_string}")
        elif isinstance(general_name, x509.OtherName):
            out.append(f"othername:{general_name.type_id.dotted_string}")
    return tuple(out)


def _key_description(cert: x509.Certificate) -> tuple[str, int, str | None, bytes | None]:
    """(key_type, key_bits, curve, DER SubjectPublicKeyInfo) for the certificate key."""
    try:
        key = cert.public_key()
    except Exception:  # unsupported algorithm (e.g. GOST) or a malformed key
        try:
            oid = cert.public_key_algorithm_oid
            label = oid._name if oid._name != "Unknown OID" else oid.dotted_string
        except Exception:
            label = "unknown"
        return label, 0, None, None
    spki = key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None, spki
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name, spki
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None, spki
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None, spki
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 448, None, spki
    if isinstance(key, x25519.X25519PublicKey):
        return "X25519", 256, None, spki
    if isinstance(key, x448.X448PublicKey):
        return "X448", 448, None, spki
    return type(key).__name__, 0, None, spki


def _signature_algorithm_name(cert: x509.Certificate) -> str:
    """OpenSSL-style long name ("sha256WithRSAEncryption", "ecdsa-with-SHA256")."""
    oid = cert.signature_algorithm_oid
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else name


def signed_by(cert: x509.Certificate, issuer_key) -> bool:
    """True if ``issuer_key`` verifies the signature on ``cert`` (RFC 5280 §4.1.1.3).

    Done by hand rather than with ``verify_directly_issued_by``, which refuses
    SHA-1 signatures outright and so could not recognise an old self-signed root.
    """
    try:
        signature, tbs = cert.signature, cert.tbs_certificate_bytes
        if isinstance(issuer_key, rsa.RSAPublicKey):
            issuer_key.verify(signature, tbs, cert.signature_algorithm_parameters,
                              cert.signature_hash_algorithm)
        elif isinstance(issuer_key, ec.EllipticCurvePublicKey):
            issuer_key.verify(signature, tbs, cert.signature_algorithm_parameters)
        elif isinstance(issuer_key, dsa.DSAPublicKey):
            issuer_key.verify(signature, tbs, cert.signature_hash_algorithm)
        elif isinstance(issuer_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            issuer_key.verify(signature, tbs)
        else:
            return False
    except Exception:  # InvalidSignature, UnsupportedAlgorithm, key/algorithm mismatch
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    """Subject equals issuer and the certificate's own key verifies its signature."""
    try:
        if cert.subject != cert.issuer:
            return False
        return signed_by(cert, cert.public_key())
    except Exception:
        return False


def _uses_weak_hash(cert: x509.Certificate) -> bool:
    """SHA-1 or MD5 signature (RFC 9155 §5); RSASSA-PSS names its hash in parameters."""
    if cert.signature_algorithm_oid in _WEAK_SIGNATURE_OIDS:
        return True
    try:
        return isinstance(cert.signature_hash_algorithm, (hashes.SHA1, hashes.MD5))
    except Exception:
        return False


def describe_certificate(cert: x509.Certificate) -> CertificateInfo:
    """Summarise one certificate; every field degrades instead of raising."""
    key_type, key_bits, curve, spki = _key_description(cert)
    digest = hashes.Hash(hashes.SHA256())
    if spki is not None:
        digest.update(spki)
    return CertificateInfo(
        subject=_name_string(lambda: cert.subject),
        issuer=_name_string(lambda: cert.issuer),
        serial=format(cert.serial_number, "x"),
        sans=_san_strings(subject_alt_names(cert)),
        not_before=_iso_utc(cert.not_valid_before_utc),
        not_after=_iso_utc(cert.not_valid_after_utc),
        key_type=key_type,
        key_bits=key_bits,
        curve=curve,
        signature_algorithm=_signature_algorithm_name(cert),
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        spki_sha256=digest.finalize().hex() if spki is not None else "",
        self_signed=is_self_signed(cert),
    )


# --------------------------------------------------------------- name matching


def _parse_ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    candidate = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def _normalise_dns(name: str) -> str | None:
    """Lower-case ASCII form without a trailing dot; U-labels become A-labels."""
    name = name.strip().rstrip(".")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    name = name.lower()
    if not name or any(label == "" for label in name.split(".")):
        return None
    return name


def _dns_pattern_matches(pattern: str, name: str) -> bool:
    """RFC 6125 §6.4.1 exact match or §6.4.3 wildcard in the complete left-most label.

    ``name`` is already normalised. A wildcard must be the whole first label, may
    match exactly one label, and must sit above at least two further labels
    (no ``*.com``). Partial wildcards (``f*.example.com``) never match.
    """
    normalised = _normalise_dns(pattern) if pattern.isascii() else None
    if normalised is None:
        return False
    if "*" not in normalised:
        return normalised == name
    pattern_labels = normalised.split(".")
    if pattern_labels[0] != "*" or any("*" in label for label in pattern_labels[1:]):
        return False
    if len(pattern_labels) < 3:
        return False
    name_labels = name.split(".")
    return len(name_labels) == len(pattern_labels) and name_labels[1:] == pattern_labels[1:]


def hostname_matches(cert: x509.Certificate, name: str) -> bool:
    """Does ``cert`` name ``name``? (RFC 6125 §6.4; IP literals per RFC 5280 §4.2.1.6.)

    DNS names match SAN dNSName entries only; IP literals match SAN iPAddress
    entries only. The subject CN is consulted only when the certificate has no
    SAN extension at all (RFC 6125 §6.4.4 legacy fallback).
    """
    san = subject_alt_names(cert)
    address = _parse_ip(name)
    if address is not None:
        if san is None:
            return False
        return any(value == address for value in san.get_values_for_type(x509.IPAddress))
    wanted = _normalise_dns(name)
    if wanted is None or "*" in wanted:
        return False
    if san is not None:
        presented = san.get_values_for_type(x509.DNSName)
    else:
        presented = _common_names(cert)
    return any(_dns_pattern_matches(pattern, wanted) for pattern in presented)


# ----------------------------------------------------------------------- trust


def _certificates_from_pem(data: bytes) -> list[x509.Certificate]:
    """Every parsable certificate in a PEM bundle; broken entries are skipped."""
    found: list[x509.Certificate] = []
    for block in _PEM_BLOCK.findall(data):
        try:
            found.append(x509.load_pem_x509_certificate(block))
        except Exception:
            continue
    return found


def _read_bundle(path: str) -> list[x509.Certificate]:
    try:
        with open(path, "rb") as handle:
            return _certificates_from_pem(handle.read())
    except OSError:
        return []


def _read_directory(path: str) -> list[x509.Certificate]:
    found: dict[bytes, x509.Certificate] = {}
    try:
        entries = sorted(os.listdir(path))
    except OSError:
        return []
    for entry in entries:
        full = os.path.join(path, entry)
        if os.path.isfile(full):
            for cert in _read_bundle(full):
                found.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    return list(found.values())


_CA_FILES: dict[str, bytes] = {}


def _ca_file_bytes(cafile: str) -> bytes:
    """The CA file, read once per process (non-blocking, bounded: inspector/files.py), so a FIFO
    is not opened a second time."""
    if cafile not in _CA_FILES:
        from .files import MAX_CA_FILE, read_limited

        _CA_FILES[cafile] = read_limited(cafile, what="CA file", limit=MAX_CA_FILE)
    return _CA_FILES[cafile]


def load_trust_anchors(cafile: str | None) -> list[x509.Certificate]:
    """Trust anchors (RFC 5280 §6.1.1 (d)): the given PEM file only, else the system store.

    Raises :class:`UsageError` when an explicit ``cafile`` cannot be read or
    holds no certificate; the system store yields whatever it can (maybe nothing).
    """
    if cafile is not None:
        data = _ca_file_bytes(cafile)
        anchors = _certificates_from_pem(data)
        if not anchors:
            raise UsageError(f"CA file {cafile} holds no PEM certificate")
        return anchors
    paths = ssl.get_default_verify_paths()
    if paths.cafile:
        anchors = _read_bundle(paths.cafile)
        if anchors:
            return anchors
    if paths.capath:
        anchors = _read_directory(paths.capath)
        if anchors:
            return anchors
    return _read_bundle(FALLBACK_CA_BUNDLE)


def _verifier_subject(leaf: x509.Certificate):
    """A name the leaf itself presents, so trust is judged apart from the hostname."""
    san = subject_alt_names(leaf)
    if san is None:
        return None
    for pattern in san.get_values_for_type(x509.DNSName):
        concrete = "x" + pattern[1:] if pattern.startswith("*.") else pattern
        try:
            return DNSName(concrete)
        except Exception:
            continue
    for address in san.get_values_for_type(x509.IPAddress):
        try:
            return IPAddress(address)
        except Exception:
            continue
    return None


def _position(index: int, cert: x509.Certificate) -> str:
    if index == 0:
        return "leaf"
    names = _common_names(cert)
    return f"chain[{index}] ({names[0]})" if names else f"chain[{index}]"


def _explain_verification_error(exc: Exception, leaf_is_self_signed: bool,
                                sent: list[tuple[int, x509.Certificate]],
                                now: datetime.datetime) -> str:
    """Turn a verifier message into a short reason a person can act on."""
    message = _one_line(exc, limit=1000)
    message = re.sub(r"^validation failed:\s*", "", message)
    message = re.sub(r"\s*\(encountered processing <Certificate.*$", "", message)
    if "not valid at validation time" in message:
        for index, cert in sent:
            if now > cert.not_valid_after_utc:
                return f"certificate expired ({_position(index, cert)})"
            if now < cert.not_valid_before_utc:
                return f"certificate not yet valid ({_position(index, cert)})"
        return "a certificate in the path (trust anchor?) is outside its validity period"
    if leaf_is_self_signed:
        return SELF_SIGNED
    if message.endswith("all candidates exhausted with no interior errors"):
        return ISSUER_NOT_FOUND
    return _one_line(Exception(message))


def _check_trust(leaf: x509.Certificate, intermediates: list[x509.Certificate],
                 sent: list[tuple[int, x509.Certificate]], cafile: str | None,
                 now: datetime.datetime) -> str | None:
    """RFC 5280 §6 path validation; returns None when trusted, else the reason."""
    try:
        anchors = load_trust_anchors(cafile)
    except UsageError as exc:
        return str(exc)
    if not anchors:
        return "no trust anchors could be loaded"
    subject = _verifier_subject(leaf)
    if subject is None:
        if subject_alt_names(leaf) is None:
            return "leaf certificate has no subjectAltName; it cannot be validated (RFC 6125 §6.4.4)"
        return "leaf subjectAltName holds no usable DNS name or IP address"
    try:
        verifier = PolicyBuilder().store(Store(anchors)).time(now).build_server_verifier(subject)
        verifier.verify(leaf, intermediates)
    except Exception as exc:  # VerificationError, ValueError, UnsupportedAlgorithm, ...
        return _explain_verification_error(exc, is_self_signed(leaf), sent, now)
    return None


# -------------------------------------------------------------------- analysis


class _FindingCollector:
    """One finding per id; further evidence for the same id is appended."""

    def __init__(self) -> None:
        self._evidence: dict[str, list[str]] = {}

    def add(self, finding_id: str, evidence: str) -> None:
        parts = self._evidence.setdefault(finding_id, [])
        if evidence not in parts:
            parts.append(evidence)

    def findings(self) -> tuple[Finding, ...]:
        ordered = [fid for fid in CATALOGUE if fid in self._evidence]
        return tuple(make_finding(fid, "; ".join(self._evidence[fid])) for fid in ordered)


def _short_sans(sans: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(sans[:limit])
    return shown + (f" (+{len(sans) - limit} more)" if len(sans) > limit else "")


def _check_validity(collector: _FindingCollector, index: int, cert: x509.Certificate,
                    now: datetime.datetime) -> None:
    """RFC 5280 §4.1.2.5: the validity period must contain the current time."""
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    where = _position(index, cert)
    if now > not_after:
        collector.add("cert-expired",
                      f"{where} notAfter {_iso_utc(not_after)}, {_span(now - not_after)} ago")
    elif now < not_before:
        collector.add("cert-not-yet-valid",
                      f"{where} notBefore {_iso_utc(not_before)}, in {_span(not_before - now)}")
    elif index == 0 and not_after - now <= datetime.timedelta(days=EXPIRY_WARNING_DAYS):
        collector.add("cert-expiring-soon",
                      f"{where} notAfter {_iso_utc(not_after)}, in {_span(not_after - now)}")


def _check_key(collector: _FindingCollector, index: int, cert: x509.Certificate,
               info: CertificateInfo) -> None:
    """RFC 9325 §4.3: RSA/DSA keys of at least 2048 bits, EC keys of at least 256."""
    too_small = (
        (info.key_type in ("RSA", "DSA") and info.key_bits < MIN_RSA_DSA_BITS)
        or (info.key_type == "EC" and info.key_bits < MIN_EC_BITS)
    )
    if too_small:
        curve = f" ({info.curve})" if info.curve else ""
        collector.add("cert-weak-key",
                      f"{_position(index, cert)}: {info.key_type} {info.key_bits} bits{curve}")


# ------------------------------------------------------- chain shape and usage


def _issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """``parent`` issued ``child``: names chain and the signature verifies (RFC 5280 §6.1.3)."""
    try:
        return child.issuer == parent.subject and signed_by(child, parent.public_key())
    except Exception:
        return False


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except Exception:
        return False


def issuer_path(sent: list[x509.Certificate]) -> list[int]:
    """Indexes of the certificates that lead up from the leaf, wherever they sit in the list."""
    path = [0]
    while True:
        current = sent[path[-1]]
        if is_self_signed(current):
            return path
        parent = next((i for i, cand in enumerate(sent) if i not in path and _issued(current, cand)), None)
        if parent is None:
            return path
        path.append(parent)


def _check_chain_shape(collector: _FindingCollector, sent: list[x509.Certificate],
                       anchors: list[x509.Certificate] | None) -> None:
    """RFC 5246 §7.4.2 order, and which certificate is missing when no path leads to an anchor."""
    path = issuer_path(sent)
    if path != list(range(len(path))):
        order = " -> ".join(f"chain[{i}]" for i in path)
        collector.add("cert-chain-order",
                      f"the issuer path is {order}; each certificate must directly follow the one "
                      "it certifies")
    top = sent[path[-1]]
    if anchors is None or is_self_signed(top) or any(_issued(top, anchor) for anchor in anchors):
        return
    if not _is_ca(top):
        collector.add("cert-missing-intermediate",
                      f"{_position(path[-1], top)} was issued by {_name_string(lambda: top.issuer)}, "
                      "which the server did not send and no trust anchor is")


def _check_server_auth_eku(collector: _FindingCollector, leaf: x509.Certificate) -> None:
    """RFC 5280 §4.2.1.12: with an EKU extension, the key may serve TLS only if it lists serverAuth."""
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    except Exception:
        collector.add("cert-no-server-auth-eku", "leaf extendedKeyUsage cannot be decoded")
        return
    allowed = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    if not allowed & set(usages):
        names = ", ".join(getattr(oid, "_name", oid.dotted_string) for oid in usages) or "none"
        collector.add("cert-no-server-auth-eku", f"leaf extendedKeyUsage lists {names}, not serverAuth")


# ------------------------------------------------------------------------ DANE


def parse_tlsa(text: str) -> TlsaRecord:
    """``"U S M HEX"`` as in a TLSA RR's presentation form (RFC 6698 §2.2); UsageError if malformed."""
    parts = text.split()
    if len(parts) < 4 or not all(p.isascii() and p.isdigit() for p in parts[:3]):
        raise UsageError(f"--tlsa {text!r}: expected \"USAGE SELECTOR MATCHING-TYPE HEX\", "
                         "e.g. \"3 1 1 ab12...\"")
    usage, selector, matching = (int(p) for p in parts[:3])
    if usage > 3 or selector > 1 or matching > 2:
        raise UsageError(f"--tlsa {text!r}: usage 0-3, selector 0-1 and matching type 0-2 (RFC 6698 §2.1)")
    try:
        data = bytes.fromhex("".join(parts[3:]))
    except ValueError:
        raise UsageError(f"--tlsa {text!r}: the association data is not hexadecimal") from None
    expected = {1: 32, 2: 64}.get(matching)
    if expected is not None and len(data) != expected:
        raise UsageError(f"--tlsa {text!r}: matching type {matching} needs {expected} bytes, "
                         f"got {len(data)}")
    return TlsaRecord(usage, selector, matching, data)


def _tlsa_selected(cert: x509.Certificate, selector: int) -> bytes:
    if selector == 0:
        return cert.public_bytes(serialization.Encoding.DER)
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def tlsa_matches(record: TlsaRecord, cert: x509.Certificate) -> bool:
    """RFC 6698 §2.1.2-2.1.3: selector picks full certificate or SPKI; matching type 0/1/2."""
    try:
        selected = _tlsa_selected(cert, record.selector)
    except Exception:
        return False
    if record.matching_type == 1:
        digest = hashes.Hash(hashes.SHA256())
    elif record.matching_type == 2:
        digest = hashes.Hash(hashes.SHA512())
    else:
        return selected == record.data
    digest.update(selected)
    return digest.finalize() == record.data


def check_tlsa(records, sent: list[x509.Certificate], hostname_match: bool) -> tuple[TlsaResult, ...]:
    """DANE for SMTP (RFC 7672 §3.1): DANE-EE(3) matches the leaf alone, names and dates ignored;
    DANE-TA(2) matches a CA certificate on the leaf's issuer path, and the name must match.
    PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (RFC 7672 §3.1.3)."""
    results = []
    path = issuer_path(sent) if sent else []
    for record in records:
        if record.usage not in (2, 3):
            results.append(TlsaResult(record, False, False,
                                      f"usage {record.usage} is not usable for SMTP (RFC 7672 §3.1.3)"))
            continue
        if record.selector not in (0, 1) or record.matching_type not in (0, 1, 2):
            results.append(TlsaResult(record, False, False, f"selector {record.selector} or matching "
                                      f"type {record.matching_type} is unknown (RFC 6698 §2.1)"))
            continue
        if record.usage == 3:
            ok = bool(sent) and tlsa_matches(record, sent[0])
            results.append(TlsaResult(record, True, ok, "leaf matches" if ok else "leaf does not match"))
            continue
        matched = next((i for i in path[1:] if tlsa_matches(record, sent[i])), None)
        if matched is None:
            results.append(TlsaResult(record, True, False,
                                      "no certificate on the leaf's issuer path matches"))
        elif not hostname_match:
            results.append(TlsaResult(record, True, False,
                                      f"chain[{matched}] matches but the leaf does not name the server "
                                      "(RFC 7672 §3.2.2)"))
        else:
            results.append(TlsaResult(record, True, True, f"trust anchor chain[{matched}] matches"))
    return tuple(results)


def match_tlsa(records, der_chain, *, hostname_match: bool) -> tuple[TlsaResult, ...]:
    """:func:`check_tlsa` on certificates as sent (DER, leaf first); unparsable ones are left out."""
    sent = []
    for der in der_chain:
        try:
            sent.append(x509.load_der_x509_certificate(der))
        except ValueError:
            break
    return check_tlsa(records, sent, hostname_match)


#: Size caps on what a server sends: real certificates are 1-4 KB, real chains 2-5 certificates.
MAX_CERTIFICATE_BYTES = 64 * 1024
MAX_CHAIN_CERTIFICATES = 16
MAX_CHAIN_BYTES = 256 * 1024


def _bounded_chain(der_chain) -> tuple[list[bytes], str | None]:
    """The first certificates of a chain within MAX_CHAIN_CERTIFICATES and MAX_CHAIN_BYTES."""
    kept, size = [], 0
    for der in der_chain:
        size += len(der)
        if len(kept) >= MAX_CHAIN_CERTIFICATES or size > MAX_CHAIN_BYTES:
            return kept, (f"chain cut after {len(kept)} of {len(der_chain)} certificates (caps: "
                          f"{MAX_CHAIN_CERTIFICATES} certificates, {MAX_CHAIN_BYTES:,} bytes)")
        kept.append(der)
    return kept, None


def analyze_chain(der_chain: list[bytes], servername: str, *, cafile: str | None = None,
                  now: datetime.datetime | None = None, tlsa=()) -> CertificateReport:
    """Describe and judge the certificates a server sent (leaf first). Never raises."""
    now = _as_utc(now) if now is not None else datetime.datetime.now(datetime.timezone.utc)
    collector = _FindingCollector()

    if not der_chain:
        collector.add("cert-untrusted", "server sent no certificate")
        return CertificateReport(servername, (), False, False, "server sent no certificate",
                                 collector.findings())

    sent: list[tuple[int, x509.Certificate]] = []
    infos: list[CertificateInfo] = []
    parse_error: str | None = None
    der_chain, parse_error = _bounded_chain(der_chain)
    for index, der in enumerate(der_chain):
        if len(der) > MAX_CERTIFICATE_BYTES:
            parse_error = parse_error or (f"certificate not parsed: chain[{index}] is {len(der):,} "
                                          f"bytes, over the {MAX_CERTIFICATE_BYTES:,}-byte cap")
            continue
        try:
            cert = x509.load_der_x509_certificate(bytes(der))
            info = describe_certificate(cert)
        except Exception as exc:
            if parse_error is None:
                parse_error = f"certificate could not be parsed: chain[{index}]: {_one_line(exc)}"
            continue
        sent.append((index, cert))
        infos.append(info)

    leaf = sent[0][1] if sent and sent[0][0] == 0 else None
    leaf_info = infos[0] if leaf is not None else None

    hostname_match = False
    if leaf is not None:
        hostname_match = hostname_matches(leaf, servername)
        san = subject_alt_names(leaf)
        if not hostname_match and servername:
            presented = (f"SANs: {_short_sans(leaf_info.sans)}" if san is not None
                         else f"no SAN, CN {', '.join(_common_names(leaf)) or '(none)'}")
            collector.add("cert-hostname-mismatch", f"{presented}, servername {servername}")
        if san is None:
            collector.add("cert-no-san", f"leaf {leaf_info.subject} has no subjectAltName")
        if leaf_info.self_signed:
            collector.add("cert-self-signed", f"leaf {leaf_info.subject} is its own issuer")

    for (index, cert), info in zip(sent, infos, strict=True):
        _check_validity(collector, index, cert, now)
        _check_key(collector, index, cert, info)
        if _uses_weak_hash(cert) and not (index > 0 and info.self_signed):
            collector.add("cert-sha1-signature",
                          f"{_position(index, cert)}: {info.signature_algorithm}")

    if parse_error is not None:
        trust_error: str | None = parse_error
    elif leaf is None:  # cannot happen when every entry parsed; kept for safety
        trust_error = "certificate could not be parsed"
    else:
        intermediates = [cert for index, cert in sent[1:]]
        trust_error = _check_trust(leaf, intermediates, sent, cafile, now)
    trusted = trust_error is None
    if not trusted:
        collector.add("cert-untrusted", trust_error)
    certificates = [cert for _index, cert in sent]
    if leaf is not None and parse_error is None:
        _check_server_auth_eku(collector, leaf)
        anchors: list[x509.Certificate] | None = None  # None: trusted, so nothing is missing
        if not trusted:
            try:
                anchors = load_trust_anchors(cafile)
            except UsageError:
                anchors = []
        _check_chain_shape(collector, certificates, anchors)

    tlsa_results = check_tlsa(tlsa, certificates if parse_error is None else [], hostname_match)
    usable = [r for r in tlsa_results if r.usable]
    for result in tlsa_results:
        if not result.usable:
            collector.add("tlsa-unusable", f"{result.record}: {result.detail}")
    if usable and not any(r.matched for r in usable):
        collector.add("tlsa-mismatch", "; ".join(f"{r.record.usage} {r.record.selector} "
                                                 f"{r.record.matching_type} ...: {r.detail}" for r in usable))

    return CertificateReport(
        servername=servername,
        chain=tuple(infos),
        hostname_match=hostname_match,
        trusted=trusted,
        trust_error=trust_error,
        findings=collector.findings(),
        tlsa=tlsa_results,
    )
