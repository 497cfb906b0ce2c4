"""What certificates say about themselves: parsing and a description of each (RFC 5280 §4.1).

Everything here works on DER bytes or parsed certificates and degrades instead of raising:
an undecodable name or extension becomes text in the description.
"""

from __future__ import annotations

import datetime
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes
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
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from ..frozen import frozen

try:  # the enums alone: the public package also imports the SSH key code and ciphers (~4 ms)
    from cryptography.hazmat.primitives._serialization import Encoding, PublicFormat
except ImportError:  # pragma: no cover - a cryptography that moved them
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_WEAK_SIGNATURE_OIDS = frozenset({
    SignatureAlgorithmOID.RSA_WITH_SHA1,
    SignatureAlgorithmOID.RSA_WITH_MD5,
    SignatureAlgorithmOID.ECDSA_WITH_SHA1,
    SignatureAlgorithmOID.DSA_WITH_SHA1,
    x509.ObjectIdentifier("1.2.840.113549.1.1.2"),  # md2WithRSAEncryption
    x509.ObjectIdentifier("1.3.14.3.2.29"),  # sha1WithRSASignature (OIW)
})


@frozen
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


def iso_utc(moment: datetime.datetime) -> str:
    moment = moment.astimezone(datetime.timezone.utc)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z")


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """A naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def span(delta: datetime.timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds >= 86400:
        days = int(seconds // 86400)
        return f"{days} day" if days == 1 else f"{days} days"
    hours = int(seconds // 3600)
    return f"{hours} hour" if hours == 1 else f"{hours} hours"


def name_string(name_of) -> str:
    """RFC 4514 form of a Name; names are decoded lazily and may fail."""
    try:
        return name_of().rfc4514_string()
    except Exception as exc:  # undecodable string type, bad attribute value
        return f"<undecodable name: {one_line(exc)}>"


def one_line(exc: BaseException, limit: int = 200) -> str:
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
            out.append(f"dirName:{name_string(lambda name=general_name: name.value)}")
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
    spki = spki_der(key)
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


def signature_algorithm_name(cert: x509.Certificate) -> str:
    """OpenSSL-style long name ("sha256WithRSAEncryption", "ecdsa-with-SHA256")."""
    oid = cert.signature_algorithm_oid
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else name


def key_size(cert: x509.Certificate) -> tuple[str, int]:
    """(key type, bits) of the certificate's public key, e.g. ("RSA", 2048)."""
    key_type, key_bits, _curve, _spki = _key_description(cert)
    return key_type, key_bits


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


def uses_weak_hash(cert: x509.Certificate) -> bool:
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
        subject=name_string(lambda: cert.subject),
        issuer=name_string(lambda: cert.issuer),
        serial=format(cert.serial_number, "x"),
        sans=_san_strings(subject_alt_names(cert)),
        not_before=iso_utc(cert.not_valid_before_utc),
        not_after=iso_utc(cert.not_valid_after_utc),
        key_type=key_type,
        key_bits=key_bits,
        curve=curve,
        signature_algorithm=signature_algorithm_name(cert),
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        spki_sha256=digest.finalize().hex() if spki is not None else "",
        self_signed=is_self_signed(cert),
    )


def common_names(cert: x509.Certificate) -> list[str]:
    try:
        return [str(attr.value) for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    except Exception:
        return []


def position(index: int, cert: x509.Certificate) -> str:
    """"leaf" or "chain[N] (CN)": where a certificate sits in what the server sent."""
    if index == 0:
        return "leaf"
    names = common_names(cert)
    return f"chain[{index}] ({names[0]})" if names else f"chain[{index}]"


def _quiet() -> None:
    """cryptography warns (CryptographyDeprecationWarning) when it parses a certificate it will one
    day refuse, e.g. a serial number that is not positive (RFC 5280 §4.1.2.2). The certificate is
    judged on its own terms here; the warning must never reach the user's terminal. A process-wide
    filter, not ``warnings.catch_warnings()``, which is not thread-safe (``ports`` runs threads); set
    again before each parse, since test runners reset the filters."""
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)


_quiet()


def load_der(der: bytes) -> x509.Certificate:
    """Parse one DER certificate (library warnings silenced, see :func:`_quiet`)."""
    _quiet()
    return x509.load_der_x509_certificate(bytes(der))


def load_pem(block: bytes) -> x509.Certificate:
    """Parse one PEM certificate (library warnings silenced, see :func:`_quiet`)."""
    _quiet()
    return x509.load_pem_x509_certificate(block)


def spki_der(key) -> bytes:
    """DER SubjectPublicKeyInfo of a public key (RFC 5280 §4.1.2.7)."""
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def der_of(cert: x509.Certificate) -> bytes:
    """DER encoding of a certificate (the bytes as sent, for one that was parsed from DER)."""
    return cert.public_bytes(Encoding.DER)


def is_ca(cert: x509.Certificate) -> bool:
    """basicConstraints cA is set (RFC 5280 §4.2.1.9)."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except Exception:
        return False


def issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """``parent`` issued ``child``: names chain and the signature verifies (RFC 5280 §6.1.3)."""
    try:
        return child.issuer == parent.subject and signed_by(child, parent.public_key())
    except Exception:
        return False
