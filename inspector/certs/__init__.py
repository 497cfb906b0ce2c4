"""Certificate analysis: describe the chain a server sent, check trust, the name and DANE.

Everything here works on DER bytes already read from the wire and does no network I/O.
One module per job:

- :mod:`.describe` - parsing and describing certificates (RFC 5280 §4.1)
- :mod:`.names` - does the leaf name the server (RFC 6125 §6.4)
- :mod:`.store` - reading trust stores (a CA file, the system store)
- :mod:`.openssl` and :mod:`.validation` - path validation as OpenSSL clients do it (RFC 5280 §6.1),
  and the stricter profiles that would still reject a chain
- :mod:`.shape` - issuer order and what is absent from the chain (RFC 5246 §7.4.2)
- :mod:`.tlsa` - DANE TLSA matching (RFC 6698, RFC 7672)
- :mod:`.analysis` - :func:`analyze_chain`, gathering the facts for ``inspector.rules.certificates``
"""

import importlib

#: public name -> submodule; loaded on first use (PEP 562), so that ``probe`` never loads DANE
_HOMES = {
    "CertificateReport": "analysis", "analyze_chain": "analysis",
    "MAX_CERTIFICATE_BYTES": "analysis", "MAX_CHAIN_BYTES": "analysis", "MAX_CHAIN_CERTIFICATES": "analysis",
    "CertificateInfo": "describe", "describe_certificate": "describe", "is_self_signed": "describe",
    "signed_by": "describe", "subject_alt_names": "describe",
    "hostname_matches": "names",
    "issuer_path": "shape",
    "FALLBACK_CA_BUNDLE": "store", "load_trust_anchors": "store",
    "TlsaRecord": "tlsa", "TlsaResult": "tlsa", "check_tlsa": "tlsa", "match_tlsa": "tlsa",
    "parse_tlsa": "tlsa", "tlsa_matches": "tlsa",
    "ISSUER_NOT_FOUND": "validation", "ISSUER_OF_ANCHOR_NOT_FOUND": "validation",
    "SELF_SIGNED": "validation", "SELF_SIGNED_IN_CHAIN": "validation",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_HOMES))
