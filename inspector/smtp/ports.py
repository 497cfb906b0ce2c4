"""What the port of a session says about TLS (RFC 8314 §3.3, RFC 6409 §3.1, RFC 3207).

The one policy shared by ``probe`` (its defaults), ``replay`` (which cannot
ask the client what it required), ``tls`` and ``interference``.
"""

from __future__ import annotations

#: Ports where TLS starts before SMTP (RFC 8314 §3.3: submissions).
IMPLICIT_TLS_PORTS = (465,)
#: Ports where a session without TLS is an error (RFC 8314 §3.3, RFC 6409 §3.1 with RFC 3207).
TLS_REQUIRED_PORTS = (465, 587)


def implicit_tls(port: int) -> bool:
    return port in IMPLICIT_TLS_PORTS


def tls_required(port: int) -> bool:
    """Is TLS required by default on ``port``? (25 and others: opportunistic.)"""
    return port in TLS_REQUIRED_PORTS
