"""Reading trust stores: a PEM CA file, or the system store (RFC 5280 §6.1.1 (d) trust anchors).

The system store is the one OpenSSL clients use by default (``ssl.get_default_verify_paths``:
SSL_CERT_FILE / SSL_CERT_DIR, else OpenSSL's compiled-in bundle and directory); it is read
once per process.
"""

from __future__ import annotations

import binascii
import functools
import os
import re
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from inspector.errors import UsageError

from .describe import der_of, load_pem

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


_CA_FILES: dict[str, bytes] = {}


def _ca_file_bytes(cafile: str) -> bytes:
    """The CA file, read once per process (non-blocking, bounded: inspector/files.py), so a FIFO
    is not opened a second time."""
    if cafile not in _CA_FILES:
        from ..net.files import MAX_CA_FILE, read_limited

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


def _pem_ders(data: bytes) -> list[bytes]:
    """The DER inside each PEM certificate block, undecoded."""
    found = []
    for block in _PEM_BLOCK.findall(data):
        try:
            found.append(binascii.a2b_base64(block.split(b"-----")[2]))
        except (binascii.Error, IndexError):
            continue
    return found


def _file_ders(path: str) -> list[bytes]:
    try:
        with open(path, "rb") as handle:
            return _pem_ders(handle.read())
    except OSError:
        return []


@functools.cache
def _system_ders() -> tuple[bytes, ...]:
    """The system store as :func:`load_trust_anchors` reads it, as DER, once per process."""
    paths = ssl.get_default_verify_paths()
    if paths.cafile and (found := _file_ders(paths.cafile)):
        return tuple(dict.fromkeys(found))
    if paths.capath:
        try:
            entries = sorted(os.listdir(paths.capath))
        except OSError:
            entries = []
        found = [der for entry in entries if os.path.isfile(os.path.join(paths.capath, entry))
                 for der in _file_ders(os.path.join(paths.capath, entry))]
        if found:
            return tuple(dict.fromkeys(found))
    return tuple(dict.fromkeys(_file_ders(FALLBACK_CA_BUNDLE)))


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos`` (X.690 §8.1)."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _issuer_and_subject(der: bytes) -> tuple[bytes, bytes]:
    """The raw issuer and subject Names of a certificate (RFC 5280 §4.1: tbsCertificate fields)."""
    _, tbs, _ = _tlv(der, 0)
    _, pos, _ = _tlv(der, tbs)
    tag, _, end = _tlv(der, pos)
    if tag == 0xA0:                       # [0] version
        _, _, end = _tlv(der, end)        # serialNumber
    _, _, pos = _tlv(der, end)            # signature
    _, start, issuer_end = _tlv(der, pos)
    issuer = der[start:issuer_end]
    _, _, pos = _tlv(der, issuer_end)     # validity
    _, start, end = _tlv(der, pos)
    return issuer, der[start:end]


def _name_key(name: bytes) -> frozenset[str]:
    """A loose form of a Name: its attribute values, lower-cased, whitespace collapsed.

    Looser than OpenSSL's canonical comparison (RFC 5280 §7.1), so that selecting anchors
    by it never leaves out one OpenSSL would match.
    """
    values, pos = set(), 0
    while pos < len(name):
        _, rdn, rdn_end = _tlv(name, pos)
        while rdn < rdn_end:
            _, attribute, attribute_end = _tlv(name, rdn)
            _, _, oid_end = _tlv(name, attribute)
            tag, start, end = _tlv(name, oid_end)
            codec = {0x1E: "utf-16-be", 0x1C: "utf-32-be"}.get(tag, "utf-8")
            values.add(" ".join(name[start:end].decode(codec, "replace").lower().split()))
            rdn = attribute_end
        pos = rdn_end
    return frozenset(values)


def anchors_for(sent: list[x509.Certificate], cafile: str | None) -> list[bytes]:
    """The trust store's certificates (DER) that a path from ``sent`` could reach.

    OpenSSL finds an issuer in the store by its subject name only (X509_STORE_CTX_get1_issuer),
    so the anchors whose names chain up from the sent certificates' issuers give the same
    verdict as the whole store, without OpenSSL parsing a bundle of ~150 roots (~25 ms).
    Raises :class:`UsageError` for an unreadable ``cafile``.
    """
    store = _system_ders() if cafile is None else [der_of(c) for c in load_trust_anchors(cafile)]
    keyed, chosen = [], {}
    for der in store:
        try:
            issuer, subject = _issuer_and_subject(der)
            keyed.append((_name_key(subject), _name_key(issuer), der))
        except (ValueError, IndexError):
            chosen[der] = None            # unreadable here: let OpenSSL judge it
    wanted = set()
    for cert in sent:
        try:
            wanted.add(_name_key(_issuer_and_subject(der_of(cert))[0]))
        except (ValueError, IndexError):
            continue
    grew = True
    while grew:
        grew = False
        for subject, issuer, der in keyed:
            if der not in chosen and subject in wanted:
                chosen[der] = None
                wanted.add(issuer)
                grew = True
    return list(chosen)
