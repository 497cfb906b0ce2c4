"""Discover's findings: submission settings and the domain's inbound mail (pure).

Facts in (lookup states, the frozen reports of ``inspector.discover.results``),
findings out. One rule of all of them: a lookup that got no answer, or an
error instead of one (``Lookup.unknown``), says nothing about the domain, so
no finding is ever derived from it; only ``found``, ``none``, ``nxdomain``
and ``null`` are statements a rule may judge.

Ids decided here: ``mx-null``, ``autoconfig-invalid``, ``autoconfig-http``,
``discover-port-25``, ``discover-certificate-invalid``, ``mta-sts-record-invalid``,
``mta-sts-policy-invalid``, ``mta-sts-mx-mismatch``, ``mta-sts-testing``,
``mta-sts-mx-certificate``, ``dnssec-unauthenticated``. (``tlsa-mismatch`` and
``tlsa-unusable`` belong to the certificate rules.)
"""

from __future__ import annotations

from ..findings import Finding, make_finding

FOUND, NONE, NXDOMAIN, NULL = "found", "none", "nxdomain", "null"


def null_mx(domain: str, mx_state: str) -> list[Finding]:
    """RFC 7505 §3: a lone ``MX 0 .`` says the domain accepts no mail (an address there gets none)."""
    if mx_state != NULL:
        return []
    return [make_finding("mx-null", f"{domain} MX 0 . : the domain accepts no mail; "
                                    "an address here can send but never receive")]


def autoconfig_document(url: str, refusal: str | None) -> list[Finding]:
    """A fetched document that was refused, or accepted over plain HTTP (RFC 8314 §5.1)."""
    if refusal is not None:
        return [make_finding("autoconfig-invalid", f"{url}: {refusal}")]
    if url.startswith("http://"):
        return [make_finding("autoconfig-http", f"{url} (fetched because of --allow-http)")]
    return []


def recommended_server(host: str, port: int, certificate_problem: str | None) -> list[Finding]:
    """Port 25 only (RFC 8314 §3.3, RFC 6409 §3.1); a certificate a client rejects (RFC 6125 §6)."""
    found = []
    if port == 25:
        found.append(make_finding("discover-port-25", f"only {host}:25 worked; "
                                  "port 25 is for server-to-server relay and often blocked"))
    if certificate_problem:
        found.append(make_finding("discover-certificate-invalid", f"{host}:{port}: {certificate_problem}"))
    return found


def mta_sts(domain: str, record_state: str, sts, mx_reports) -> list[Finding]:
    """RFC 8461: judged only when a ``v=STSv1`` record was found and the policy answered.

    ``sts`` is a StsReport (None: no record); ``mx_reports`` are MxReports. A
    policy that could not be fetched for want of an answer (``policy_state``
    "unknown") is not "invalid"; an MX whose address or session is unknown is
    not judged for its certificate.
    """
    if record_state != FOUND or sts is None:
        return []
    found = []
    if sts.txt_error:
        found.append(make_finding("mta-sts-record-invalid", f"_mta-sts.{domain}: {sts.txt_error}"))
    elif sts.policy_state == "invalid":
        found.append(make_finding("mta-sts-policy-invalid", f"{sts.policy_url}: {sts.error}"))
    if sts.uncovered_mx:
        found.append(make_finding("mta-sts-mx-mismatch", f"MX {', '.join(sts.uncovered_mx)} not matched by "
                                  f"the policy's mx patterns ({', '.join(sts.mx_patterns)})"))
    if sts.mode == "testing":
        found.append(make_finding("mta-sts-testing", f"{sts.policy_url}: mode testing"))
    if sts.mode in ("enforce", "testing"):
        for mx in mx_reports:
            problem = _mx_certificate_problem(mx)
            if problem:
                found.append(make_finding("mta-sts-mx-certificate",
                                          f"MX {mx.host}: {problem} (policy mode {sts.mode})"))
    return found


def _mx_certificate_problem(mx) -> str | None:
    """RFC 8461 §4.2: the MX must present a valid certificate for its name; unknowns are not judged."""
    if mx.certificate_valid is False:
        return mx.certificate_detail
    if mx.address_lookup is not None and mx.address_lookup.state in (NONE, NXDOMAIN):
        return mx.error
    if mx.tried and mx.certificate_valid is None:
        return mx.error or "no certificate received"
    return None


def dnssec_unauthenticated(host: str, tlsa_state: str, authenticated: bool, server: str) -> list[Finding]:
    """RFC 7672 §2.2: TLSA records count for DANE only when the resolver validated them (AD)."""
    if tlsa_state != FOUND or authenticated:
        return []
    return [make_finding("dnssec-unauthenticated",
                         f"_25._tcp.{host} TLSA answer without the AD flag from {server}")]
