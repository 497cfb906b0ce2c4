"""Does a certificate name the server? RFC 6125 §6.4 for DNS names, RFC 5280 §4.2.1.6 for IPs.

Our own matcher, so that a name mismatch and an untrusted chain stay two separate findings.
"""

from __future__ import annotations

import ipaddress

from cryptography import x509

from .describe import common_names, subject_alt_names


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
        presented = common_names(cert)
    return any(_dns_pattern_matches(pattern, wanted) for pattern in presented)
