"""The shape of the chain a server sent: issuer order, and what is absent when no path leads up.

RFC 5246 §7.4.2 / RFC 8446 §4.4.2: the server sends its leaf first and each further
certificate should certify the one before it; the root may be left out. These are facts;
the findings (cert-chain-order, cert-missing-intermediate) are decided in
``inspector.rules.certificates``.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from ..frozen import frozen
from .describe import is_ca, is_self_signed, issued, name_string, position


@frozen
class AbsentIssuer:
    """The certificate at the top of the sent path was issued by someone nobody supplied."""

    position: str              #: "leaf" or "chain[N] (CN)"
    issuer: str                #: RFC 4514 name of the absent issuer
    not_a_root: str | None     #: why the absent issuer must be an intermediate, or None if unknown


def issuer_path(sent: list[x509.Certificate]) -> list[int]:
    """Indexes of the certificates that lead up from the leaf, wherever they sit in the list."""
    path = [0]
    while True:
        current = sent[path[-1]]
        if is_self_signed(current):
            return path
        parent = next((i for i, cand in enumerate(sent) if i not in path and issued(current, cand)), None)
        if parent is None:
            return path
        path.append(parent)


def _aia_ca_issuers(cert: x509.Certificate) -> list[str]:
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except Exception:
        return []
    return [str(d.access_location.value) for d in access
            if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS]


def _aki_issuer_names(cert: x509.Certificate) -> list[str]:
    """authorityCertIssuer of the AKI (RFC 5280 §4.2.1.1): the name of the issuer's issuer."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except Exception:
        return []
    names = []
    for general_name in aki.authority_cert_issuer or ():
        if isinstance(general_name, x509.DirectoryName):
            names.append(name_string(lambda n=general_name: n.value))
    return names


def absent_issuer(sent: list[x509.Certificate]) -> AbsentIssuer | None:
    """Who is missing above the sent path, and whether that one can be a root.

    From the certificates alone a leaf whose issuer is absent may hang off an unknown root
    (a private CA signs leaves directly) or lack its intermediate; it counts as an
    intermediate only on evidence: the leaf points to its issuer's certificate (AIA
    caIssuers, RFC 5280 §4.2.2.1, which root-issued private leaves do not carry and
    CA/Browser Forum leaves always do, roots never issuing them directly), its AKI names the
    issuer's own issuer, or the server sent CA certificates that certify nothing on the path.
    """
    if not sent:
        return None
    path = issuer_path(sent)
    top_index = path[-1]
    top = sent[top_index]
    if is_self_signed(top):
        return None
    issuer = name_string(lambda: top.issuer)
    evidence = None
    off_path = [i for i, cert in enumerate(sent) if i not in path and is_ca(cert)]
    aki_names = [n for n in _aki_issuer_names(top) if n != issuer]
    if off_path:
        shown = ", ".join(position(i, sent[i]) for i in off_path)
        evidence = f"the server sent {shown}, which did not issue {position(top_index, top)}"
    elif aki_names:
        evidence = f"its authorityKeyIdentifier names the issuer's own issuer {aki_names[0]}"
    elif not is_ca(top):
        urls = _aia_ca_issuers(top)
        if urls:
            evidence = f"{position(top_index, top)} points to its issuer's certificate at {urls[0]}"
    return AbsentIssuer(position(top_index, top), issuer, evidence)


def order_problem(sent: list[x509.Certificate]) -> str | None:
    """The issuer path when it does not run straight down the list (RFC 5246 §7.4.2), else None."""
    if not sent:
        return None
    path = issuer_path(sent)
    if path == list(range(len(path))):
        return None
    return " -> ".join(f"chain[{i}]" for i in path)
