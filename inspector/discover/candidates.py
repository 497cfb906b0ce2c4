"""Sources → submission candidates (host, port, TLS mode), deduplicated, strongest source first.

Sources, in the order they are trusted:
- ``srv``: ``_submissions._tcp`` (implicit TLS) and ``_submission._tcp`` (STARTTLS),
  RFC 6186 §3 and RFC 8314 §5.1, ordered by priority then weight (RFC 2782);
  a target of "." means "no such service" (RFC 6186 §3, RFC 2782);
- ``autoconfig``: the provider's own config-v1.1.xml;
- ``mx-base``: ``smtp.``/``mail.`` under the domain of the MX host (Thunderbird's guess);
- ``guess``: ``smtp.<d>``, ``mail.<d>``, ``<d>`` on 465 (implicit TLS), 587 and 25 (STARTTLS).
"""

from __future__ import annotations

from ..frozen import frozen, replace

IMPLICIT, STARTTLS, PLAIN = "implicit", "starttls", "plain"

SOURCE_ORDER = ("srv", "autoconfig", "mx-base", "guess")

#: port → TLS mode guessed for it (RFC 8314 §3.3: 465 implicit; RFC 6409 §3.1: 587; RFC 5321: 25)
GUESS_PORTS = ((465, IMPLICIT), (587, STARTTLS), (25, STARTTLS))
MX_BASE_PORTS = ((465, IMPLICIT), (587, STARTTLS))

SRV_SERVICES = (("_submissions._tcp", IMPLICIT), ("_submission._tcp", STARTTLS))


@frozen
class SrvTarget:
    service: str
    priority: int
    weight: int
    port: int
    target: str


@frozen
class Candidate:
    host: str
    port: int
    mode: str
    sources: tuple[str, ...]            #: e.g. ("srv _submissions._tcp", "guess")
    source_rank: int                    #: index in SOURCE_ORDER of the strongest source
    srv_priority: int | None = None
    srv_weight: int | None = None
    username: str | None = None         #: from autoconfig, placeholders filled in
    authentication: tuple[str, ...] = ()  #: autoconfig authentication values

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.host, self.port, self.mode)

    @property
    def label(self) -> str:
        from ..net.address import host_port

        return host_port(self.host, self.port)


def normalise(host: str) -> str:
    return host.strip().rstrip(".").lower()


def mx_base_domains(domain: str, mx_hosts: list[str]) -> list[str]:
    """The parent domain of each MX host, when it differs from the mail domain (≥ 2 labels)."""
    bases = []
    for host in mx_hosts:
        parent = normalise(host).partition(".")[2]
        if parent.count(".") >= 1 and parent != normalise(domain) and parent not in bases:
            bases.append(parent)
    return bases


def build_candidates(domain: str, srv: list[SrvTarget], autoconfig: list,
                     mx_hosts: list[str], *, guesses: bool = True) -> list[Candidate]:
    """Every candidate once; a candidate named by several sources keeps all their names."""
    domain = normalise(domain)
    found: dict[tuple[str, int, str], Candidate] = {}

    def add(candidate: Candidate) -> None:
        existing = found.get(candidate.key)
        if existing is None:
            found[candidate.key] = candidate
            return
        found[candidate.key] = replace(
            existing,
            sources=existing.sources + tuple(s for s in candidate.sources if s not in existing.sources),
            username=existing.username or candidate.username,
            authentication=existing.authentication or candidate.authentication)

    for record in sorted(srv, key=lambda r: (r.priority, -r.weight)):
        if normalise(record.target) == "" or record.port == 0:
            continue
        mode = dict(SRV_SERVICES)[record.service]
        add(Candidate(normalise(record.target), record.port, mode, (f"srv {record.service}",), 0,
                      record.priority, record.weight))
    for server in autoconfig:
        add(Candidate(normalise(server.hostname), server.port, server.mode, ("autoconfig",), 1,
                      username=server.username, authentication=server.authentication))
    for base in mx_base_domains(domain, mx_hosts):
        for name in (f"smtp.{base}", f"mail.{base}"):
            for port, mode in MX_BASE_PORTS:
                add(Candidate(name, port, mode, ("mx-base",), 2))
    for name in (f"smtp.{domain}", f"mail.{domain}", domain) if guesses else ():
        for port, mode in GUESS_PORTS:
            add(Candidate(name, port, mode, ("guess",), 3))
    return list(found.values())
