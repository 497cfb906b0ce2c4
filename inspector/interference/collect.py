"""Gather observations for ``ports`` and ``interference``: SYN probes or connect(), traceroutes, sessions.

Only the one target address is probed. Packet work goes through :mod:`inspector.packets.tcp_probes`
(imported only when raw sockets are used); SMTP sessions through the core probe
(:func:`inspector.probes.session.run_probe`). Nothing here raises for network trouble: it is data.
"""

from __future__ import annotations

import concurrent.futures
import time

from ..errors import UsageError
from ..exitcodes import ExitCode
from ..findings import Finding, Severity
from ..frozen import frozen
from ..net.plain import connect_state, resolve_ipv4
from ..rules.interference import (
    OPEN,
    Verdict,
    host_distance,
    judge,
    port_scan_verdicts,
    port_state,
    verdict_finding,
)
from ..smtp.ports import IMPLICIT_TLS_PORTS
from .observations import SYN_ACK, PortObservation, Service, Trace

#: Control ports tried for the baseline, in order (README, "Is the path interfering?").
CONTROL_PORTS = (587, 465, 443, 80)


@frozen
class Timing:
    syn_timeout: float = 1.0       #: wait for answers to one round of SYNs
    syn_tries: int = 3             #: SYNs per port before "filtered"
    hop_timeout: float = 1.0       #: wait for answers to one round of traceroute probes
    session_timeout: float = 5.0   #: per SMTP step
    deadline: float = 60.0         #: the whole command

    def until(self, started: float) -> float:
        return started + self.deadline


@frozen
class PortsReport:
    host: str
    address: str
    method: str                              #: "syn" (raw sockets) or "connect"
    states: tuple[tuple[int, str], ...]      #: (port, state)
    observations: tuple[PortObservation, ...]
    host_distance: int | None
    notes: tuple[str, ...]
    findings: tuple[Finding, ...]
    exit_code: ExitCode

    def state(self, port: int) -> str:
        return dict(self.states)[port]


@frozen
class InterferenceReport:
    host: str
    address: str
    control_port: int | None
    host_distance: int | None
    states: tuple[tuple[int, str], ...]
    observations: tuple[PortObservation, ...]   #: the control port first
    verdicts: tuple[Verdict, ...]
    notes: tuple[str, ...]
    findings: tuple[Finding, ...]
    exit_code: ExitCode

    @property
    def verdict_ids(self) -> set[str]:
        return {v.id for v in self.verdicts}


def service_check(address: str, port: int, timing: Timing, deadline: float) -> Service:
    """Greeting, EHLO, STARTTLS or implicit TLS and the certificate, by the core session probe."""
    from ..probes.session import IMPLICIT, STARTTLS, ProbeConfig, run_probe

    implicit = port in IMPLICIT_TLS_PORTS
    left = max(0.1, deadline - time.monotonic())
    config = ProbeConfig(host=address, port=port, mode=IMPLICIT if implicit else STARTTLS,
                         require_tls=False, insecure=True, timeout=min(timing.session_timeout, left),
                         deadline=left)
    result = run_probe(config)
    greeting = result.step("greeting")
    caps = result.capabilities_before if not implicit else result.capabilities_after
    handshake = result.step("tls-handshake")
    if implicit:
        if handshake and handshake.status == "ok":
            mode = "implicit"
        elif handshake and handshake.status == "failed" and result.exit_code == ExitCode.TLS:
            mode = "none"
        else:  # never got as far as a complete handshake attempt (deadline, closed, reset)
            mode = "unknown"
    elif result.capabilities_before is None:
        mode = "unknown"  # no EHLO reply: STARTTLS neither seen nor missed
    else:
        mode = "starttls" if result.capabilities_before.starttls else "none"
    leaf = result.certificate.chain[0] if result.certificate and result.certificate.chain else None
    connect = result.step("connect")
    to_greeting = None
    if greeting and greeting.status == "ok":
        to_greeting = sum(s.duration_ms or 0 for s in result.steps[:result.steps.index(greeting) + 1]
                          if s.name != "connect") + 0.0
    text = greeting.reply.lines[0].raw.decode("utf-8", "replace").rstrip("\r\n") \
        if greeting and greeting.reply else None
    error = result.error if result.error and not (connect and connect.status == "ok"
                                                  and greeting and greeting.status == "ok") else None
    return Service(
        port=port, tls_mode=mode, greeting=text,
        time_to_greeting_ms=round(to_greeting, 3) if to_greeting is not None else None,
        starttls_offered=None if caps is None or implicit else caps.starttls,
        masked=tuple(caps.masked) if caps else (),
        spki_sha256=leaf.spki_sha256 if leaf else None,
        cert_subject=leaf.subject if leaf else None, cert_issuer=leaf.issuer if leaf else None,
        error=error)


def _parallel(function, items) -> list:
    if not items:
        return []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        return list(pool.map(function, items))


def _observe(address: str, ports: list[int], timing: Timing, deadline: float,
             raw: bool, service_ports=None) -> list[PortObservation]:
    """SYN probes (raw) or connect() per port, in parallel, then a session on every open port."""
    observations = []
    if raw:
        from ..packets.tcp_probes import syn_scan

        answers = syn_scan(address, ports, timeout=timing.syn_timeout, tries=timing.syn_tries,
                           deadline=deadline)
        observations = [PortObservation(port, syn=answers[port]) for port in ports]
    else:
        timeout = timing.syn_timeout * timing.syn_tries
        outcomes = _parallel(lambda p: connect_state(address, p, timeout), ports)
        observations = [PortObservation(port, connect_error=err, connect_ms=ms)
                        for port, (err, ms) in zip(ports, outcomes, strict=True)]
    answered = [o for o in observations if (o.syn.kind == SYN_ACK if o.syn else o.connect_error is None)
                and (service_ports is None or o.port in service_ports)]
    services = dict(zip([o.port for o in answered],
                        _parallel(lambda o: service_check(address, o.port, timing, deadline), answered),
                        strict=True))
    return [PortObservation(o.port, o.syn, o.connect_error, o.connect_ms, services.get(o.port), o.trace)
            for o in observations]


def _exit_code(findings, *, complete: bool = True) -> ExitCode:
    """1 for an error finding; else 5 when the deadline cut the observations short; else 0."""
    if any(f.severity is Severity.ERROR for f in findings):
        return ExitCode.FINDINGS
    return ExitCode.OK if complete else ExitCode.INCOMPLETE


def run_ports(host: str, ports: list[int], timing: Timing, *, raw: bool,
              addresses: tuple[str, ...] | None = None) -> PortsReport:
    """``addresses``: what ``host`` resolved to, when the caller resolved it already.

    SYN probes speak IPv4; for a host with only IPv6 addresses connect() is used
    (it needs no raw packets), and a note says so.
    """
    started = time.monotonic()
    notes = []
    if addresses is None:
        address = resolve_ipv4(host) if raw or ":" not in host else host
    else:
        address = next((a for a in addresses if ":" not in a), None) if raw else addresses[0]
        if address is None:
            address, raw = addresses[0], False
            notes.append("IPv6: SYN probes speak IPv4 only, so connect() was used")
    observations = _observe(address, ports, timing, timing.until(started), raw)
    distance = host_distance(observations)
    if not raw and not notes:  # (an IPv6 note already says why connect() was used)
        notes.append("connect() mode: 'closed' may be a RST from a firewall, 'prohibited' "
                     "does not say which router refused, and 'intercepted' cannot be seen; run as root "
                     "(or with CAP_NET_RAW) without --connect for SYN probes with TTLs and ICMP sources")
    complete = time.monotonic() < timing.until(started)
    if not complete:
        notes.append(f"the deadline of {timing.deadline:g} s ran out; some observations are missing")
    findings = [verdict_finding(v) for v in port_scan_verdicts(observations, distance)] if raw else []
    return PortsReport(host, address, "syn" if raw else "connect",
                       tuple((o.port, port_state(o, distance)) for o in observations),
                       tuple(observations), distance, tuple(notes), tuple(findings),
                       _exit_code(findings, complete=complete))


def _traces(address: str, ports: list[int], max_ttl: int, timing: Timing,
            deadline: float) -> dict[int, Trace]:
    from ..packets.tcp_probes import tcp_traceroute
    from .observations import Hop

    hops = tcp_traceroute(address, ports, max_ttl=max_ttl, timeout=timing.hop_timeout, tries=3,
                          deadline=deadline)
    traces = {}
    for port, pairs in hops.items():
        kept = []
        for ttl, answer in sorted(pairs, key=lambda pair: pair[0]):
            kept.append(Hop(ttl, answer))
            if answer.kind in ("syn-ack", "rst", "icmp-unreachable"):
                break  # the path ends here; later TTLs only repeat it
        traces[port] = Trace(port, tuple(kept))
    return traces


def run_interference(host: str, ports: list[int], timing: Timing, *, control_port: int | None = None,
                     expect_spki: str | None = None, max_ttl: int = 30,
                     addresses: tuple[str, ...] | None = None) -> InterferenceReport:
    started = time.monotonic()
    deadline = timing.until(started)
    address = resolve_ipv4(host) if addresses is None else next((a for a in addresses if ":" not in a), None)
    if address is None:
        raise UsageError(f"{host} has only IPv6 addresses; packet probes speak IPv4 only")
    candidates = [control_port] if control_port else [p for p in CONTROL_PORTS]
    probe_ports = list(dict.fromkeys([*candidates, *ports]))
    smtp_ports = set(ports) | {p for p in candidates if p in (25, 465, 587, 2525)}
    observed = {o.port: o for o in _observe(address, probe_ports, timing, deadline, raw=True,
                                            service_ports=smtp_ports)}
    control = next((observed[p] for p in candidates if observed[p].syn.kind == SYN_ACK), None)
    notes = []
    if control is None:
        notes.append(f"no control port answered ({', '.join(map(str, candidates))}): without a baseline "
                     "on the same address, no verdict can be differential")
    examined = [p for p in ports if control is None or p != control.port]
    distance = host_distance([observed[p] for p in examined], control)
    trace_ports = ([control.port] if control else []) + examined
    limit = min(max_ttl, distance + 1) if distance else max_ttl
    traces = _traces(address, trace_ports, limit, timing, deadline) if time.monotonic() < deadline else {}
    final = {p: PortObservation(p, o.syn, o.connect_error, o.connect_ms, o.service, traces.get(p))
             for p, o in observed.items()}
    verdicts = judge(final[control.port], [final[p] for p in examined],
                     expect_spki=expect_spki) if control else []
    findings = [verdict_finding(v) for v in verdicts]
    shown = ([final[control.port]] if control else []) + [final[p] for p in examined]
    complete = time.monotonic() < deadline
    if not complete:
        notes.append(f"the deadline of {timing.deadline:g} s ran out; some observations are missing")
    return InterferenceReport(host, address, control.port if control else None, distance,
                              tuple((o.port, port_state(o, distance)) for o in shown), tuple(shown),
                              tuple(verdicts), tuple(notes), tuple(findings),
                              _exit_code(findings, complete=complete))


__all__ = ["OPEN", "InterferenceReport", "PortsReport", "Timing", "run_interference", "run_ports"]
