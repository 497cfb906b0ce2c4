"""Names from the IANA TLS registries: protocol versions, cipher suites, groups, alerts.

The one place that turns TLS code points into names. Suites come from the
generated registry table (:mod:`inspector.tls.suites`, IANA tls-parameters-4, loaded on first use);
groups from the TLS Supported Groups registry (tls-parameters-8); alerts from
the TLS Alerts registry (tls-parameters-6, RFC 8446 §6).
"""

from __future__ import annotations

#: Protocol versions by name (RFC 6101, RFC 2246, RFC 4346, RFC 5246, RFC 8446).
VERSIONS: dict[str, int] = {"SSLv3": 0x0300, "TLSv1": 0x0301, "TLSv1.1": 0x0302,
                            "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
VERSION_NAMES: dict[int, str] = {code: name for name, code in VERSIONS.items()}
#: Versions RFC 8996 deprecates (and SSL 3.0, RFC 7568).
LEGACY_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1")

#: IANA TLS Supported Groups registry (the entries seen in practice).
GROUP_NAMES: dict[int, str] = {
    0x0017: "secp256r1", 0x0018: "secp384r1", 0x0019: "secp521r1",
    0x001A: "brainpoolP256r1", 0x001B: "brainpoolP384r1", 0x001C: "brainpoolP512r1",
    0x001D: "x25519", 0x001E: "x448",
    0x0100: "ffdhe2048", 0x0101: "ffdhe3072", 0x0102: "ffdhe4096",
    0x0103: "ffdhe6144", 0x0104: "ffdhe8192",
    0x11EB: "SecP256r1MLKEM768", 0x11EC: "X25519MLKEM768", 0x11ED: "SecP384r1MLKEM1024",
    0x6399: "X25519Kyber768Draft00",
}

#: TLS alert descriptions (RFC 8446 §6, RFC 5246 §7.2), by code.
ALERT_NAMES: dict[int, str] = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
    22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure",
    42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
    45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter",
    48: "unknown_ca", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
    90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
    110: "unsupported_extension", 112: "unrecognized_name",
    116: "certificate_required", 120: "no_application_protocol"}


#: IANA TLS SignatureScheme registry (RFC 8446 §4.2.3; the TLS 1.2 hash/signature pairs, RFC 5246 §7.4.1.4.1).
SIGNATURE_SCHEMES: dict[int, str] = {
    0x0401: "rsa_pkcs1_sha256", 0x0501: "rsa_pkcs1_sha384", 0x0601: "rsa_pkcs1_sha512",
    0x0403: "ecdsa_secp256r1_sha256", 0x0503: "ecdsa_secp384r1_sha384", 0x0603: "ecdsa_secp521r1_sha512",
    0x0804: "rsa_pss_rsae_sha256", 0x0805: "rsa_pss_rsae_sha384", 0x0806: "rsa_pss_rsae_sha512",
    0x0807: "ed25519", 0x0808: "ed448", 0x0809: "rsa_pss_pss_sha256", 0x080A: "rsa_pss_pss_sha384",
    0x080B: "rsa_pss_pss_sha512", 0x0201: "rsa_pkcs1_sha1", 0x0203: "ecdsa_sha1",
    0x0101: "rsa_pkcs1_md5", 0x0301: "sha224_rsa", 0x0303: "sha224_ecdsa", 0x0402: "dsa_sha256",
    0x0202: "dsa_sha1", 0x0302: "sha224_dsa", 0x0502: "dsa_sha384", 0x0602: "dsa_sha512"}


def signature_scheme_name(code: int) -> str:
    return SIGNATURE_SCHEMES.get(code, f"0x{code:04x}")


def is_grease(code: int) -> bool:
    """RFC 8701 §2: 0x?A?A values reserved to keep extension points working."""
    return (code & 0x0F0F) == 0x0A0A and (code >> 8) == (code & 0xFF)


def version_name(code: int | None) -> str | None:
    if code is None:
        return None
    return VERSION_NAMES.get(code, f"0x{code:04x}")


def suite_name(code: int | None) -> str | None:
    """The IANA name of a cipher suite; GREASE and unassigned code points as hex."""
    if code is None:
        return None
    if is_grease(code):
        return f"GREASE 0x{code:04x}"
    from . import suites  # imported and built on first use: a probe never names a suite

    suite = suites.BY_CODE.get(code)
    return suite.iana_name if suite is not None else f"0x{code:04x}"


def group_name(code: int | None) -> str | None:
    if code is None:
        return None
    return GROUP_NAMES.get(code, f"0x{code:04x}")


def alert_name(code: int) -> str:
    return ALERT_NAMES.get(code, f"alert {code}")
