"""Catalogue part: path interference (``ports``, ``interference``, ``probe --sniff``).

README "Is the path interfering?" explains them.

Decided in :mod:`inspector.rules` (interference.py).
"""

from __future__ import annotations

from .kind import LIVE, FindingKind, OneSided, Severity

KINDS = [
    FindingKind("silently-dropped", Severity.ERROR,
                "SYNs to this port get no answer while the control port on the same address answers: "
                "a filter on the path drops them", "RFC 9293 §3.5",
                rule="interference.silently_dropped"),
    FindingKind("icmp-prohibited", Severity.ERROR,
                "A router answered with ICMP destination unreachable (administratively prohibited): "
                "a filter refuses this port", "RFC 1812 §5.2.7.1; RFC 792",
                rule="interference.icmp_prohibited"),
    FindingKind("rst-injected", Severity.ERROR,
                "A TCP RST came from nearer than the host (other hop distance or fingerprint): "
                "a firewall or injector resets this port", "RFC 9293 §3.5.2",
                rule="interference.rst_injected",
                one_sided=OneSided(LIVE, "told from the sniffer's segments and the SYN-ACK's hop distance")),
    FindingKind("transparent-proxy", Severity.ERROR,
                "Something other than the host answers on this port (fewer hops, another fingerprint, "
                "greeting or certificate): a transparent proxy or redirect", "RFC 3207 §4; RFC 9293 §3.5",
                rule="interference.transparent_proxy"),
    FindingKind("starttls-stripped", Severity.ERROR,
                "STARTTLS is offered on another port of the same host but missing here: "
                "the path removed it", "RFC 3207 §4; RFC 8314 §3",
                rule="interference.starttls_stripped", step="ehlo"),
    FindingKind("tls-intercepted", Severity.ERROR,
                "The certificate key differs from the control port's (or from --expect-spki): "
                "TLS is terminated and re-signed on this path", "RFC 8314 §3; RFC 7672 §3",
                rule="interference.tls_intercepted", step="certificate"),
]
