"""Rules for the TLS vulnerability and protocol-feature checks of ``smtp-inspector tls``.

Facts in (from :mod:`inspector.probes.tls_checks` and the enumeration's
accepted suites), findings out. Each function decides one id.
"""

from __future__ import annotations

from ..findings import Finding, make_finding


def insecure_renegotiation(secure_renegotiation: bool | None, version: str | None) -> Finding | None:
    """``tls-insecure-renegotiation``: no renegotiation_info in the ServerHello.

    RFC 5746 §3.6; without it a renegotiation can be spliced (CVE-2009-3555).
    """
    if secure_renegotiation is not False:
        return None
    return make_finding("tls-insecure-renegotiation", f"the {version} ServerHello carries no "
                        "renegotiation_info extension although the ClientHello sent "
                        "TLS_EMPTY_RENEGOTIATION_INFO_SCSV")


def client_renegotiation(accepted: bool | None, detail: str) -> Finding | None:
    """``tls-client-renegotiation``: client-initiated renegotiation accepted (a DoS lever; RFC 5746 §1)."""
    if not accepted:
        return None
    return make_finding("tls-client-renegotiation", detail)


def fallback_scsv_ignored(honoured: bool | None, detail: str) -> Finding | None:
    """``tls-fallback-scsv-ignored``: a downgraded hello with TLS_FALLBACK_SCSV is answered (RFC 7507 §3)."""
    if honoured is not False:
        return None
    return make_finding("tls-fallback-scsv-ignored", detail)


def heartbleed(vulnerable: bool | None, detail: str) -> Finding | None:
    """``tls-heartbleed``: CVE-2014-0160, an over-long HeartbeatRequest is answered (RFC 6520 §4)."""
    return make_finding("tls-heartbleed", detail) if vulnerable else None


def ccs_injection(vulnerable: bool | None, detail: str) -> Finding | None:
    """``tls-ccs-injection``: CVE-2014-0224, an early ChangeCipherSpec is taken (RFC 5246 §7.1)."""
    return make_finding("tls-ccs-injection", detail) if vulnerable else None


def robot(vulnerable: bool | None, detail: str) -> Finding | None:
    """``tls-robot``: distinct answers to malformed RSA premaster secrets.

    Böck, Somorovsky, Young, USENIX Security 2018; RFC 5246 §7.4.7.1 wants one answer.
    """
    return make_finding("tls-robot", detail) if vulnerable else None


def compression(methods: list[int]) -> Finding | None:
    """``tls-compression``: the server picks TLS compression (CRIME; RFC 7457 §2.6, RFC 9325 §3.3)."""
    if not methods:
        return None
    names = ", ".join("DEFLATE" if m == 1 else f"method {m}" for m in methods)
    return make_finding("tls-compression", f"the server picks {names} when the client offers it")


def sweet32(accepted) -> Finding | None:
    """``tls-sweet32``: 64-bit block ciphers accepted (CVE-2016-2183; RFC 9325 §4.1).

    ``accepted``: (version, IANA name, cipher) of every accepted suite.
    """
    short_blocks = ("3DES", "DES", "IDEA", "RC2")
    names = sorted({f"{v} {name}" for v, name, cipher in accepted if cipher in short_blocks})
    return make_finding("tls-sweet32", ", ".join(names)) if names else None


def logjam(dhe_groups) -> Finding | None:
    """``tls-logjam``: DHE groups under 2048 bits (LOGJAM, CVE-2015-4000; RFC 9325 §4.1; RFC 7919).

    ``dhe_groups``: (version, IANA name, group such as "DHE-1024") of accepted DHE suites.
    """
    weak = sorted({f"{v} {name} ({group.removeprefix('DHE-')} bits)" for v, name, group in dhe_groups
                   if group and group.startswith("DHE-") and group[4:].isdigit() and int(group[4:]) < 2048})
    return make_finding("tls-logjam", "; ".join(weak)) if weak else None


def export_ciphers(accepted) -> Finding | None:
    """``tls-export-ciphers``: export suites accepted (FREAK CVE-2015-0204 for RSA_EXPORT; RFC 9325 §4.1).

    ``accepted``: (version, IANA name) of every accepted suite.
    """
    names = sorted({f"{v} {name}" for v, name in accepted if "EXPORT" in name})
    return make_finding("tls-export-ciphers", ", ".join(names)) if names else None


def poodle(accepted) -> Finding | None:
    """``tls-poodle``: SSL 3.0 with a CBC suite (POODLE, CVE-2014-3566; RFC 7568).

    ``accepted``: (version, IANA name) of every accepted suite.
    """
    names = sorted({name for v, name in accepted if v == "SSLv3" and "CBC" in name})
    return make_finding("tls-poodle", "SSLv3 " + ", ".join(names)) if names else None


def rc4(accepted) -> Finding | None:
    """``tls-rc4``: RC4 suites accepted (RFC 7465 §2: MUST NOT be negotiated).

    ``accepted``: (version, IANA name) of every accepted suite.
    """
    names = sorted({f"{v} {name}" for v, name in accepted if "_RC4_" in name})
    return make_finding("tls-rc4", ", ".join(names)) if names else None


def no_extended_master_secret(ems: bool | None, version: str | None) -> Finding | None:
    """``tls-no-extended-master-secret``: no extended_master_secret in the ServerHello (RFC 7627 §5.2)."""
    if ems is not False:
        return None
    return make_finding("tls-no-extended-master-secret", f"the {version} ServerHello does not echo "
                        "extended_master_secret (triple handshake, RFC 7627 §1)")


def ocsp_stapled_invalid(valid: bool | None, detail: str) -> Finding | None:
    """``tls-ocsp-stapled-invalid``: the stapled response is not a good, current one (RFC 6960 §4.2.2.1)."""
    if valid is not False:
        return None
    return make_finding("tls-ocsp-stapled-invalid", detail)


def tls_rpt_missing(state: str | None, detail: str) -> Finding | None:
    """``tls-rpt-missing``: the domain publishes no TLS-RPT record (RFC 8460 §3)."""
    if state not in ("none", "nxdomain"):
        return None
    return make_finding("tls-rpt-missing", detail)
