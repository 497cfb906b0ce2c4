"""``discover``: sources → candidates → probes → ranking, plus the domain's inbound checks.

The sources run at once and never wait for each other: SRV ``_submissions._tcp``
and ``_submission._tcp``, MX, ``_mta-sts`` TXT, the autoconfig documents, and
the guesses (known from the start). Each source resolves its candidates'
names through the same DNS server as soon as it has them and hands them to
one :class:`~.probing.ProbeQueue`, which starts the best-ranked first (SRV,
autoconfig, MX domain, guess; port 25 last within a source; the MX port-25
certificate checks after every submission candidate). Guesses and MX-domain
names wait at most ``min(--timeout, 2 s)`` for the SRV answers, which are DNS
only; nothing waits for autoconfig over HTTPS, so a stuck web server cannot
starve a working SRV target. What the deadline leaves untried is named.
Nothing here raises for network trouble: each failure is a reason in the report.
"""

from __future__ import annotations

import datetime
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait

from ..exitcodes import ExitCode
from ..findings import Finding, Severity
from ..net.https import Fetch, fetch
from ..probes.session import IMPLICIT, PLAIN, STARTTLS, ProbeConfig
from ..rules import discovery as rules
from . import autoconfig as ac
from .candidates import SRV_SERVICES, Candidate, build_candidates
from .dns import FOUND, DnsClient, Resolution
from .inbound import mx_report, sts_report, with_coverage
from .probing import ProbeQueue
from .ranking import rank
from .results import CandidateOutcome, DiscoverOptions, DiscoverResult, SourceReport
from .settings import assess, recommend
from .sources import autoconfig_source, mx_source, srv_source, sts_source
from .verdict import headline

MAX_MX = 5
MX_PROBE_RANK = (9,)       #: after every submission candidate
SRV_WAIT_LIMIT = 2.0       #: seconds weaker sources wait at most for the SRV answers


def discover(options: DiscoverOptions) -> DiscoverResult:
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    run = _Run(options)
    with ThreadPoolExecutor(max_workers=12, thread_name_prefix="discover-source") as sources, \
            ThreadPoolExecutor(max_workers=8, thread_name_prefix="discover-name") as names:
        run.names = names
        run.queue.hold((2,), min(options.timeout, SRV_WAIT_LIMIT))
        srv_jobs = [sources.submit(run.srv, service) for service, _ in SRV_SERVICES]
        sources.submit(lambda: (wait(srv_jobs), run.queue.release()))
        mx_job = sources.submit(run.mx)
        jobs = [*srv_jobs, mx_job, sources.submit(run.guesses),
                sources.submit(run.mta_sts),
                *[sources.submit(run.autoconfig, url, host)
                  for url, host in ac.autoconfig_urls(run.domain, options.email,
                                                      allow_http=options.allow_http)]]
        wait(jobs)
        outcomes = run.queue.close()
        for job in jobs:
            job.result()  # a bug in a source is an internal error, not a silent gap
        tlsa = {host: job.result() for host, job in run.tlsa_jobs.items()}
    return run.result(started_at, outcomes, tlsa)


class _Run:
    """The state one discover run shares between its source threads (guarded by ``lock``)."""

    def __init__(self, options: DiscoverOptions) -> None:
        self.options = options
        self.deadline_at = time.monotonic() + options.deadline
        self.domain = options.email.rpartition("@")[2].rstrip(".").lower()
        self.dns = DnsClient(options.dns_server, timeout=options.timeout, deadline_at=self.deadline_at)
        self.queue = ProbeQueue(concurrency=options.concurrency, stagger=options.stagger,
                                deadline_at=self.deadline_at, verify_login=options.verify_login)
        self.lock, self.resolving = threading.Lock(), threading.Lock()
        self.names: ThreadPoolExecutor | None = None
        self.resolutions: dict[str, Future] = {}
        self.reports: dict[str, SourceReport] = {}
        self.srv_targets: list = []
        self.autoconfig_servers: list = []
        self.mx_records: list[tuple[int, str]] = []
        self.tlsa_jobs: dict[str, Future] = {}
        self.findings: list[Finding] = []
        self.sts = None

    # -- names and probes --------------------------------------------------------------------

    def resolve(self, name: str) -> Future:
        with self.resolving:
            if name not in self.resolutions:
                self.resolutions[name] = self.names.submit(self.dns.addresses, name)
            return self.resolutions[name]

    def offer(self, candidates: list[Candidate]) -> None:
        """Resolve each candidate's name (all at once) and queue it the moment an address is known."""
        by_future: dict[Future, list[Candidate]] = {}
        for c in candidates:
            by_future.setdefault(self.resolve(c.host), []).append(c)
        for future in _as_completed(by_future, self.deadline_at):
            resolution: Resolution = future.result()
            for c in by_future[future]:
                if resolution.addresses:
                    self.queue.submit(("candidate", c.key), _probe_rank(c),
                                      self._config(c.host, resolution.addresses[0], c.port, c.mode))

    def _config(self, name: str, address: str, port: int, mode: str) -> ProbeConfig:
        """Connect to the address our DNS server gave; SNI and the certificate check use the name."""
        o = self.options
        return ProbeConfig(host=address, port=port, mode=mode, require_tls=mode != PLAIN,
                           ehlo_name=o.ehlo_name, timeout=o.timeout, deadline=o.deadline,
                           servername=name, cafile=o.cafile)

    def fetch_named(self, url: str, host: str, max_bytes: int) -> Fetch:
        resolution = self.resolve(host).result()
        if not resolution.addresses:
            return Fetch(url, None, None, None, None, f"{host}: {resolution.lookup.detail}",
                         resolution.lookup.unknown)
        return fetch(url, resolution.addresses[0], timeout=self.options.timeout, deadline_at=self.deadline_at,
                     cafile=self.options.cafile, max_bytes=max_bytes)

    # -- the sources ---------------------------------------------------------------------------

    def srv(self, service: str) -> None:
        query = f"{service}.{self.domain}"
        report, targets = srv_source(service, query, self.dns.query(query, "SRV"))
        with self.lock:
            self.reports[query] = report
            self.srv_targets += targets
        self.offer(build_candidates(self.domain, targets, [], [], guesses=False))

    def guesses(self) -> None:
        self.offer(build_candidates(self.domain, [], [], []))

    def mx(self) -> None:
        report, records = mx_source(self.domain, self.dns.query(self.domain, "MX"), MAX_MX)
        with self.lock:
            self.reports["mx"] = report
            self.mx_records = records
            self.tlsa_jobs = {h: self.names.submit(self.dns.query, f"_25._tcp.{h}", "TLSA")
                              for _, h in records}
        hosts = [h for _, h in records]
        with self.lock:
            self.findings += rules.null_mx(self.domain, report.status)
            for host in hosts:  # asked now, used below
                self.resolve(host)
        self.offer(build_candidates(self.domain, [], [], hosts, guesses=False))
        for index, (_, host) in enumerate(records):
            resolution = self.resolve(host).result()
            if resolution.addresses:
                self.queue.submit(("mx", host), MX_PROBE_RANK + (index,),
                                  self._config(host, resolution.addresses[0], 25, STARTTLS))

    def mta_sts(self) -> None:
        query = f"_mta-sts.{self.domain}"
        report, texts = sts_source(query, self.dns.query(query, "TXT"))
        with self.lock:
            self.reports["mta-sts"] = report
        self.sts = None if texts is None else sts_report(self.domain, texts, self.fetch_named)

    def autoconfig(self, url: str, host: str) -> None:
        resolution = self.resolve(host).result()
        got = self.fetch_named(url, host, ac.MAX_BYTES) if resolution.addresses else None
        report, servers, refusal = autoconfig_source(url, host, resolution.lookup, got, self.options.email)
        with self.lock:
            self.reports[url] = report
            self.autoconfig_servers += servers
        if got is not None and got.error is None:
            with self.lock:
                self.findings += rules.autoconfig_document(url, refusal)
        self.offer(build_candidates(self.domain, [], list(servers), [], guesses=False))

    # -- the result ----------------------------------------------------------------------------

    def result(self, started_at: str, outcomes: dict, tlsa: dict) -> DiscoverResult:
        o, domain = self.options, self.domain
        hosts = [h for _, h in self.mx_records]
        candidates = build_candidates(domain, self.srv_targets, self.autoconfig_servers, hosts)
        resolved = {name: (f.result() if f.done() else None) for name, f in self.resolutions.items()}
        assessments = [assess(i, c, resolved.get(c.host), outcomes.get(("candidate", c.key)))
                       for i, c in enumerate(candidates)]
        ranking = rank(assessments)
        ranked = []
        for a in ranking.ordered:
            c, resolution = candidates[a.index], resolved.get(candidates[a.index].host)
            outcome = outcomes.get(("candidate", c.key))
            address = resolution.addresses[0] if resolution and resolution.addresses else None
            ranked.append(CandidateOutcome(c, address, resolution.lookup if resolution else None,
                                           outcome.result if outcome else None, a, ranking.reasons[a.index],
                                           a is ranking.chosen))
        findings = list(self.findings)
        recommendation = recommend(ranked[0], o.email) if ranking.chosen is not None else None
        if recommendation is not None:
            findings += rules.recommended_server(recommendation.host, recommendation.port,
                                                 recommendation.certificate_problem)
        mx_reports = tuple(mx_report(pref, host, resolved.get(host), outcomes.get(("mx", host)), tlsa[host],
                                     findings) for pref, host in self.mx_records)
        server = f"{o.dns_server[0]}:{o.dns_server[1]}"
        for mx in mx_reports:
            findings += rules.dnssec_unauthenticated(mx.host, mx.tlsa_lookup.state, mx.tlsa_authenticated,
                                                     server)
        sts = with_coverage(self.sts, hosts) if self.sts is not None else None
        findings += rules.mta_sts(domain, self.reports["mta-sts"].status, sts, mx_reports)

        sources = tuple(self.reports[k] for k in self._report_order() if k in self.reports)
        not_tried = tuple(c.candidate.label for c in ranked if not c.tried and _untried(c))
        deadline_reached = time.monotonic() >= self.deadline_at - 0.06
        if recommendation is None:
            exit_code = ExitCode.NO_SUBMISSION_SERVER
            error = headline(domain, server, ranked, sources, not_tried)
        elif recommendation.login_verified is False:  # --auth: the server refused this login
            exit_code = ExitCode.AUTH
            error = (f"{recommendation.host}:{recommendation.port} refused the login: these settings "
                     "work, but check the user name and the password or token")
        else:
            has_error = any(f.severity is Severity.ERROR for f in findings)
            exit_code, error = (ExitCode.FINDINGS if has_error else ExitCode.OK), None
        return DiscoverResult(o.email, domain, server, started_at, sources, tuple(ranked), recommendation,
                              mx_reports, sts, tuple(findings), exit_code, error, not_tried, deadline_reached)

    def _report_order(self) -> list[str]:
        urls = [url for url, _ in ac.autoconfig_urls(self.domain, self.options.email,
                                                     allow_http=self.options.allow_http)]
        return [f"{service}.{self.domain}" for service, _ in SRV_SERVICES] + urls + ["mx", "mta-sts"]


def _probe_rank(c: Candidate) -> tuple:
    """Probe order: the stronger source, SRV priority/weight, port 25 last, implicit TLS first."""
    return (c.source_rank, c.srv_priority if c.srv_priority is not None else 65536, -(c.srv_weight or 0),
            1 if c.port == 25 else 0, 0 if c.mode == IMPLICIT else 1)


def _untried(c: CandidateOutcome) -> bool:
    """Not probed for want of time or of an answer (a name that does not exist is not 'untried')."""
    return c.lookup is None or c.lookup.unknown or c.lookup.state == FOUND


def _as_completed(futures, deadline_at: float):
    from concurrent.futures import TimeoutError as FuturesTimeout
    from concurrent.futures import as_completed

    try:
        yield from as_completed(futures, timeout=max(0.0, deadline_at - time.monotonic()) + 1)
    except FuturesTimeout:
        return


__all__ = ["IMPLICIT", "DiscoverOptions", "DiscoverResult", "discover"]
