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

from .analysis import CertificateReport, analyze_chain
from .describe import CertificateInfo, describe_certificate, is_self_signed, signed_by, subject_alt_names
from .names import hostname_matches
from .shape import issuer_path
from .store import FALLBACK_CA_BUNDLE, load_trust_anchors
from .tlsa import TlsaRecord, TlsaResult, check_tlsa, match_tlsa, parse_tlsa, tlsa_matches
from .validation import ISSUER_NOT_FOUND, ISSUER_OF_ANCHOR_NOT_FOUND, SELF_SIGNED, SELF_SIGNED_IN_CHAIN

__all__ = [
    "FALLBACK_CA_BUNDLE", "ISSUER_NOT_FOUND", "ISSUER_OF_ANCHOR_NOT_FOUND", "SELF_SIGNED",
    "SELF_SIGNED_IN_CHAIN",
    "CertificateInfo", "CertificateReport", "TlsaRecord", "TlsaResult",
    "analyze_chain", "check_tlsa", "describe_certificate", "hostname_matches", "is_self_signed",
    "issuer_path", "load_trust_anchors", "match_tlsa", "parse_tlsa", "signed_by",
    "subject_alt_names", "tlsa_matches",
]
