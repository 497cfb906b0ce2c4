"""Reading trust stores: a PEM CA file, or the system store (RFC 5280 §6.1.1 (d) trust anchors).

Path validation itself hands the system store to OpenSSL (X509_STORE_set_default_paths); the
certificates read here serve a CA file, DANE, discover and replay.
"""

from __future__ import annotations

import os
import re
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from inspector.errors import UsageError

from .describe import load_pem

FALLBACK_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s.+?-----END CERTIFICATE-----", re.DOTALL
)


def _certificates_from_pem(data: bytes) -> list[x509.Certificate]:
    """Every parsable certificate in a PEM bundle; broken entries are skipped."""
    found: list[x509.Certificate] = []
    for block in _PEM_BLOCK.findall(data):
        try:
            found.append(load_pem(block))
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


def load_trust_anchors(cafile: str | None) -> list[x509.Certificate]:
    """Trust anchors (RFC 5280 §6.1.1 (d)): the given PEM file only, else the system store.

    Raises :class:`UsageError` when an explicit ``cafile`` cannot be read or
    holds no certificate; the system store yields whatever it can (maybe nothing).
    """
    if cafile is not None:
        try:
            with open(cafile, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise UsageError(f"cannot read CA file {cafile}: {exc.strerror or exc}") from exc
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
