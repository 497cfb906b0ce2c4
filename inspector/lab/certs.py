"""Throw-away PKI for the built-in lab server.

:func:`make_lab_certificates` issues a fresh CA and a server leaf signed by it,
both on EC P-256 keys (generation takes a few milliseconds, unlike RSA).
Nothing is cached: every call gives a new CA, so a lab CA can never be
trusted by accident beyond the lab it was made for.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..frozen import frozen

__all__ = ["DEFAULT_LAB_HOSTNAME", "LabCertificates", "make_lab_certificates"]

DEFAULT_LAB_HOSTNAME = "lab.smtp-inspector.test"
LEAF_VALIDITY = _dt.timedelta(days=90)
CA_VALIDITY = _dt.timedelta(days=91)
BACKDATE = _dt.timedelta(hours=1)


@frozen
class LabCertificates:
    """PEM material of one lab PKI: the CA certificate, the leaf and its key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def write(self, directory: str | os.PathLike[str]) -> tuple[str, str, str]:
        """Write ``ca.pem``, ``cert.pem`` and ``key.pem`` (mode 0600) into
        *directory* (created if missing) and return their paths in that order.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        ca_path, cert_path, key_path = d / "ca.pem", d / "cert.pem", d / "key.pem"
        ca_path.write_bytes(self.ca_pem)
        cert_path.write_bytes(self.cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.key_pem)
        return str(ca_path), str(cert_path), str(key_path)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smtp-inspector lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_lab_certificates(hostname: str = DEFAULT_LAB_HOSTNAME) -> LabCertificates:
    """Create a fresh lab CA and a server certificate for *hostname*.

    The leaf carries SAN ``DNS:<hostname>, DNS:localhost, IP:127.0.0.1,
    IP:::1``, the serverAuth EKU, and is valid from one hour ago for 90 days.
    """
    now = _dt.datetime.now(_dt.UTC)
    not_before = now - BACKDATE

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("smtp-inspector lab CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hostname))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in dict.fromkeys([hostname, "localhost"])]
                + [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    return LabCertificates(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        cert_pem=leaf_cert.public_bytes(serialization.Encoding.PEM),
        key_pem=leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
