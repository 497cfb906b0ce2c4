"""Rules for path interference: port states and verdicts from observations (pure).

Used by ``ports``, ``interference`` and ``probe --sniff``; each finding id has one function here.

Every verdict is differential (README, path interference): a port is compared with a control port on the
same address, which stands for the host itself. Confidence:

- ``definitive``: the path says so itself (an ICMP "administratively prohibited" from a router; a
  SYN-ACK to a SYN whose TTL could not reach the host; a certificate other than ``--expect-spki``);
- ``strong``: a difference that only a middlebox explains (hop distance of a RST or SYN-ACK below the
  host's, masked keywords, STARTTLS or a certificate present on the control port and not here);
- ``heuristic``: traits that differ for other reasons too (TCP fingerprint, greeting name, no answer
  where only SYNs were compared).
"""

from __future__ import annotations

from ..findings import Finding, make_finding
from ..frozen import frozen
from ..interference.observations import (
    ADMIN_PROHIBITED_CODES,
    ICMP,
    NONE,
    RST,
    SYN_ACK,
    TIME_EXCEEDED,
    UNREACHABLE_CODES,
    PortObservation,
    Trace,
)
from .session import starttls_masked

DEFINITIVE, STRONG, HEURISTIC = "definitive", "strong", "heuristic"
_RANK = {HEURISTIC: 0, STRONG: 1, DEFINITIVE: 2}

OPEN, CLOSED, FILTERED, PROHIBITED, INTERCEPTED = "open", "closed", "filtered", "prohibited", "intercepted"


@frozen
class Verdict:
    id: str                         #: a finding id of inspector.findings.CATALOGUE
    port: int
    confidence: str
    evidence: tuple[str, ...]
    hop: int | None = None          #: hop distance of the box that interferes (1 = our first router)
    hop_address: str | None = None  #: the last router both paths share, or the box's own address
    diverges_at_ttl: int | None = None  #: first traceroute TTL where the path differs from the control's


def host_distance(observations: list[PortObservation],
                  control: PortObservation | None = None) -> int | None:
    """The host's hop distance: the control's SYN-ACK/RST, else the farthest TCP answer seen.

    Boxes that answer in the host's place sit nearer than the host, never farther.
    """
    if control is not None and control.syn is not None and control.syn.kind in (SYN_ACK, RST):
        return control.syn.hop_distance
    distances = [o.syn.hop_distance for o in observations
                 if o.syn is not None and o.syn.kind in (SYN_ACK, RST) and o.syn.ttl]
    return max(distances) if distances else None


def port_state(obs: PortObservation, distance: int | None) -> str:
    """open / closed / filtered / prohibited / intercepted, from the SYN probe or connect()."""
    if obs.syn is None:
        error = obs.connect_error
        if error is None:
            return OPEN
        if error == "refused":
            return CLOSED
        if error.startswith("unreachable"):
            return PROHIBITED
        return FILTERED
    answer = obs.syn
    if answer.kind == ICMP:
        return PROHIBITED
    if answer.kind == NONE:
        return FILTERED
    nearer = distance is not None and answer.hop_distance is not None and answer.hop_distance < distance
    if nearer:
        return INTERCEPTED
    return OPEN if answer.kind == SYN_ACK else CLOSED


def divergence(control: Trace | None, trace: Trace | None) -> tuple[int, str | None] | None:
    """(first TTL where ``trace`` differs from ``control``, last router both share) or None."""
    if control is None or trace is None or control.terminal is None:
        return None
    last_shared = None
    for ttl in range(1, control.terminal.ttl + 1):
        mine, theirs = trace.at(ttl), control.at(ttl)
        if mine is None or theirs is None:
            return None
        if mine.kind != theirs.kind or mine.source != theirs.source:
            return ttl, last_shared
        last_shared = theirs.source
    return None


def judge(control: PortObservation, ports: list[PortObservation], *,
          expect_spki: str | None = None) -> list[Verdict]:
    """Every verdict for ``ports`` against ``control`` (the control port itself is judged for TLS)."""
    distance = host_distance([control, *ports], control)
    verdicts: list[Verdict] = []
    for obs in ports:
        verdicts += _path_verdicts(control, obs, distance)
        verdicts += _service_verdicts(control, obs, [control, *ports])
    verdicts += _spki_verdicts(control, [control, *ports], expect_spki)
    return verdicts


def _path_verdicts(control: PortObservation, obs: PortObservation, distance: int | None) -> list[Verdict]:
    answer = obs.syn
    if answer is None:
        return []
    split = divergence(control.trace, obs.trace)
    diverges_at, shared = split if split else (None, None)
    trace_note = (f"traceroute: port {obs.port} leaves the control path at TTL {diverges_at}"
                  f" (last shared hop {shared or 'none'})") if split else None
    control_up = control.syn is not None and control.syn.kind == SYN_ACK
    if answer.kind == NONE:
        if not control_up:
            return []
        evidence = [f"port {obs.port}: {answer.describe()}",
                    f"control port {control.port}: {control.syn.describe()}"]
        if split:
            evidence.append(trace_note)
        last_hop = diverges_at - 1 if split and diverges_at > 1 else None
        return [silently_dropped(obs.port, evidence, STRONG if split else HEURISTIC, hop=last_hop,
                                 hop_address=shared, diverges_at_ttl=diverges_at)]
    if answer.kind == ICMP:
        verdict = icmp_prohibited(obs, distance, trace_note, diverges_at)
        return [verdict] if verdict else []
    nearer = distance is not None and answer.hop_distance is not None and answer.hop_distance < distance
    differs = (control.syn.fingerprint.differences(answer.fingerprint)
               if control_up and answer.kind == SYN_ACK else [])
    if answer.kind == RST:
        evidence = [f"port {obs.port}: {answer.describe()}",
                    f"the host answers from {distance} hops (control port {control.port})"]
        if trace_note:
            evidence.append(trace_note)
        verdict = rst_injected(obs.port, answer.hop_distance, distance, evidence, STRONG,
                               hop_address=shared, diverges_at_ttl=diverges_at)
        return [verdict] if verdict else []  # a RST from the host itself: the port is closed
    # A SYN-ACK: the host, or a box that answers for it.
    evidence, confidence = [], None
    terminal = obs.trace.terminal if obs.trace else None
    control_terminal = control.trace.terminal if control.trace else None
    if (terminal and terminal.answer.kind == SYN_ACK and control_terminal
            and terminal.ttl < control_terminal.ttl):
        evidence.append(f"a SYN with TTL {terminal.ttl} got a SYN-ACK; the host is "
                        f"{control_terminal.ttl} hops away")
        confidence = DEFINITIVE
    if nearer:
        evidence.append(f"SYN-ACK from hop {answer.hop_distance} (TTL {answer.ttl}); the host answers "
                        f"from hop {distance} on port {control.port}")
        confidence = confidence or STRONG
    if differs:
        evidence.append("TCP fingerprint differs from the control port: " + "; ".join(differs))
        confidence = confidence or HEURISTIC
    mine, theirs = obs.service, control.service
    if _other_server(mine, theirs):
        evidence.append(f"greeting names {mine.greeting_host!r}; port {control.port} names "
                        f"{theirs.greeting_host!r}")
        if mine.spki_sha256 and theirs.spki_sha256 and mine.spki_sha256 != theirs.spki_sha256:
            evidence.append(f"and its certificate key differs ({mine.spki_sha256[:16]}... vs "
                            f"{theirs.spki_sha256[:16]}...)")
        confidence = confidence or HEURISTIC
    if obs.trace and control.syn is not None:
        translated = [h.ttl for h in obs.trace.hops
                      if h.answer.kind == TIME_EXCEEDED and h.answer.source == control.syn.source]
        if translated:
            evidence.append(f"ICMP time-exceeded at TTL {translated[0]} carries the host's own address: "
                            f"address translation at hop {translated[0]}")
    if evidence and trace_note:
        evidence.append(trace_note)
    hop = answer.hop_distance if nearer else (terminal.ttl if terminal else None)
    verdict = transparent_proxy(obs.port, evidence, confidence, hop=hop, hop_address=shared,
                                diverges_at_ttl=diverges_at)
    return [verdict] if verdict else []


def _other_server(mine, theirs) -> bool:
    """Both greetings readable and naming different hosts: another server answers."""
    return bool(mine and theirs and mine.greeting_host and theirs.greeting_host and not mine.banner_masked
                and not theirs.banner_masked and mine.greeting_host != theirs.greeting_host)


def _service_verdicts(control: PortObservation, obs: PortObservation,
                      everyone: list[PortObservation]) -> list[Verdict]:
    service = obs.service
    if service is None:
        return []
    out = []
    masked = starttls_masked(masked_lines=list(service.masked)
                             + ([service.greeting] if service.banner_masked else []))
    if masked is not None:
        out.append(Verdict(masked.id, obs.port, STRONG,
                           (f"port {obs.port}: masked by a middlebox: " + masked.evidence,)))
    else:
        verdict = starttls_stripped(control, obs, everyone)
        if verdict:
            out.append(verdict)
    return out


def starttls_stripped(control: PortObservation, obs: PortObservation,
                      everyone: list[PortObservation]) -> Verdict | None:
    """RFC 3207 §4, RFC 8314 §3: STARTTLS missing here, offered on another port of the host."""
    service = obs.service
    if not (service.starttls_offered is False and service.tls_mode == "none" and service.greeting):
        return None
    offering = [o for o in everyone if o.port != obs.port and o.service and o.service.starttls_offered]
    offering.sort(key=lambda o: o.port != control.port)
    if not offering:
        return None
    return Verdict("starttls-stripped", obs.port, STRONG, (
        f"port {obs.port}: the EHLO reply has no STARTTLS",
        f"port {offering[0].port} of the same host offers STARTTLS"))


def _spki_verdicts(control: PortObservation, everyone: list[PortObservation],
                   expect_spki: str | None) -> list[Verdict]:
    keyed = [o for o in everyone if o.service and o.service.spki_sha256]
    if expect_spki:
        expected, confidence, source = expect_spki.lower(), DEFINITIVE, "--expect-spki"
    elif control.service and control.service.spki_sha256:
        expected, confidence, source = control.service.spki_sha256, STRONG, f"port {control.port}"
    else:
        return []
    out = []
    for obs in keyed:
        if _other_server(obs.service, control.service) and not expect_spki:
            continue  # another server altogether: reported as transparent-proxy with the key as evidence
        if obs.service.spki_sha256 != expected:
            out.append(tls_intercepted(obs.port, confidence, (
                f"port {obs.port}: certificate key SHA-256 {obs.service.spki_sha256[:16]}... issued by "
                f"{obs.service.cert_issuer!r}",
                f"{source}: key SHA-256 {expected[:16]}...")))
    return out


def tls_intercepted(port: int, confidence: str, evidence: tuple[str, ...]) -> Verdict:
    """RFC 8314 §3, RFC 7672 §3: the certificate key differs from the control's or --expect-spki."""
    return Verdict("tls-intercepted", port, confidence, evidence)


def strongest(verdicts: list[Verdict]) -> str | None:
    return max((v.confidence for v in verdicts), key=_RANK.__getitem__, default=None)


# -- one function per id (the path and port-scan verdicts and the sniffer share them) -----

def silently_dropped(port: int, evidence, confidence: str, **where) -> Verdict:
    """RFC 9293 §3.5: SYNs get no answer here while the control port answers."""
    return Verdict("silently-dropped", port, confidence, tuple(evidence), **where)


def icmp_prohibited(obs: PortObservation, distance: int | None, trace_note: str | None = None,
                    diverges_at: int | None = None) -> Verdict | None:
    """RFC 1812 §5.2.7.1, RFC 792: a router refused the port with ICMP unreachable.

    Definitive for "administratively prohibited" codes; strong for other
    unreachable codes sent by a router nearer than the host.
    """
    answer = obs.syn
    code = answer.icmp_code
    from_router = answer.source is not None and (distance is None or answer.hop_distance < distance)
    if not from_router and code not in ADMIN_PROHIBITED_CODES:
        return None
    name = UNREACHABLE_CODES.get(code, f"code {code}")
    evidence = [f"port {obs.port}: ICMP destination unreachable ({name}) from {answer.source}, "
                f"hop {answer.hop_distance}"]
    if distance is not None:
        evidence.append(f"the host is {distance} hops away")
    if trace_note:
        evidence.append(trace_note)
    confidence = DEFINITIVE if code in ADMIN_PROHIBITED_CODES else STRONG
    return Verdict("icmp-prohibited", obs.port, confidence, tuple(evidence), hop=answer.hop_distance,
                   hop_address=answer.source, diverges_at_ttl=diverges_at)


def rst_injected(port: int, rst_hop: int | None, host_hop: int | None, evidence, confidence: str,
                 **where) -> Verdict | None:
    """RFC 9293 §3.5.2: a RST from nearer than the host: a firewall or injector resets the port."""
    if rst_hop is None or host_hop is None or rst_hop >= host_hop:
        return None
    return Verdict("rst-injected", port, confidence, tuple(evidence), hop=rst_hop, **where)


def transparent_proxy(port: int, evidence, confidence: str | None, **where) -> Verdict | None:
    """RFC 3207 §4, RFC 9293 §3.5: something other than the host answers (hops, fingerprint, name)."""
    if not evidence:
        return None
    return Verdict("transparent-proxy", port, confidence or HEURISTIC, tuple(evidence), **where)


def port_scan_verdicts(observations, distance: int | None) -> list[Verdict]:
    """What a port scan alone supports (no control port): a box nearer than the host answers."""
    out = []
    for o in observations:
        state = port_state(o, distance)
        if o.syn is None:
            continue
        note = f"port {o.port}: {o.syn.describe()}; the host answers from hop {distance} " \
               "(heuristic: no control port compared)"
        if state == INTERCEPTED:
            if o.syn.kind == RST:
                verdict = rst_injected(o.port, o.syn.hop_distance, distance, [note], HEURISTIC)
            else:
                verdict = transparent_proxy(o.port, [note], HEURISTIC, hop=o.syn.hop_distance)
            out.append(verdict)
        elif state == PROHIBITED:
            out.append(icmp_prohibited(o, distance))
    return [v for v in out if v is not None]


def verdict_finding(verdict: Verdict) -> Finding:
    """The finding that reports one verdict (its id, its confidence and hop, its evidence)."""
    where = f" at hop {verdict.hop}" if verdict.hop is not None else ""
    via = f" (after {verdict.hop_address})" if verdict.hop_address else ""
    return make_finding(verdict.id, f"port {verdict.port}, {verdict.confidence}{where}{via}: "
                                    + "; ".join(verdict.evidence))
