"""One captured SMTP session: the observer's events, judged by the rules, as a frozen result.

The flow table hands over each direction's reassembled bytes in capture
order; :class:`~inspector.smtp.observer.SessionObserver` turns them into the
same events a live probe's client connection emits (commands matched to
replies, the STARTTLS boundary, TLS records); the rules of
:mod:`inspector.rules` decide the findings, as they do for ``probe``. This
module only keeps the facts, the timestamps and the transcript.

Secrets never enter the transcript or the result: SASL responses are
replaced by a redacted form before they are stored (RFC 4954 §4).
"""

from __future__ import annotations

from ..findings import Finding, FindingList
from ..frozen import frozen
from ..redaction import quoted
from ..rules import auth as auth_rules
from ..rules import plaintext
from ..rules import session as rules
from ..rules.tls import TlsObservation, tls_handshake_failed, tls_legacy_version
from ..smtp import events as ev
from ..smtp.addresses import address
from ..smtp.capabilities import Capabilities
from ..smtp.observer import SessionObserver
from ..smtp.ports import tls_required
from ..tls import reader as tls
from ..tls.registry import suite_name, version_name
from ..transcript import NOTE, RECV, SEND, Entry
from .auth_attempts import AuthAttempt, AuthTracker  # noqa: F401  (AuthAttempt: in the result)
from .envelope import EnvelopeTracker, Transaction

#: Bytes of transcript kept per session (the message bodies are not kept at all).
TRANSCRIPT_LIMIT = 256 * 1024
#: Commands that TLS should have protected (RFC 8314 §3).
_MAIL_VERBS = ("MAIL", "RCPT", "DATA", "BDAT", "AUTH")


@frozen
class ObservedTls:
    """The TLS facts of a captured session (the plaintext part of the handshake)."""

    mode: str                              #: "starttls" or "implicit"
    sni: str | None = None
    client_version: str | None = None      #: highest version the client offered
    offered_suites: tuple[str, ...] = ()
    alpn: tuple[str, ...] = ()
    version: str | None = None             #: negotiated (ServerHello)
    cipher: str | None = None
    certificates: int = 0                  #: certificates seen (TLS <= 1.2 only)


@frozen
class TcpStats:
    retransmissions: int = 0
    out_of_order: int = 0
    overlaps: int = 0
    conflicts: int = 0
    gaps: int = 0
    gap_bytes: int = 0


@frozen
class SessionResult:
    """Everything judged about one session; ``transcript`` only when it was asked for."""

    flow_index: int
    client: tuple[str, int]
    server: tuple[str, int]
    start: float
    end: float
    packets: int
    bytes_client: int
    bytes_server: int
    greeting: str | None
    ehlo_name: str | None
    capabilities: Capabilities | None      #: the last EHLO reply seen in clear text
    commands: int
    messages: int
    tls: ObservedTls | None
    auth: tuple[AuthAttempt, ...]
    closed: str                            #: "fin", "rst", "open" (capture ended), "idle"
    tcp: TcpStats
    findings: tuple[Finding, ...]
    transcript: tuple[Entry, ...] | None
    certificate: object | None = None      #: CertificateReport for TLS <= 1.2 chains
    number: int = 0                        #: 1-based, in order of first packet
    transactions: tuple[Transaction, ...] = ()   #: the envelope of each mail transaction
    transactions_omitted: int = 0

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)




class SmtpSession:
    """Feed ``client_data``/``server_data`` in capture order, then ``result``."""

    def __init__(self, flow_index: int, client: tuple[str, int], server: tuple[str, int], start: float,
                 *, implicit_tls: bool = False, keep_transcript: bool = False,
                 cafile: str | None = None, envelope: bool = True) -> None:
        """``envelope=False``: only the findings of this session will be read (a replay that
        lists other sessions and counts this one's findings), so its transactions are not built."""
        self.flow_index = flow_index
        self.client, self.server = client, server
        self.start = start
        self.keep = keep_transcript
        self.cafile = cafile
        self.context = rules.SessionContext(address(server), tls_required(server[1]),
                                            "implicit" if implicit_tls else "starttls")
        self.entries: list[Entry] = []
        self.kept = 0
        self.findings = FindingList()
        self.bytes_client = self.bytes_server = 0
        self.first_server_byte: float | None = None
        self.greeting: str | None = None
        self.ehlo_name: str | None = None
        self.capabilities: Capabilities | None = None
        self.starttls_offered = self.starttls_sent = False
        self.commands = self.mail_commands = self.messages = 0
        self.auth = AuthTracker()
        self.envelope = EnvelopeTracker() if envelope else None
        self.tls: dict | None = None
        self.tls_facts = TlsObservation()
        self.chain: tuple[bytes, ...] = ()
        self.certificate = None
        self.observer = SessionObserver(implicit_tls=implicit_tls)
        self._drain(start)

    # -- input ---------------------------------------------------------------------
    def client_data(self, ts: float, data: bytes) -> None:
        self.bytes_client += len(data)
        observer = self.observer
        observer.client_data(data)
        queue = observer.queue
        while queue:
            self._event(ts, queue.popleft())

    def server_data(self, ts: float, data: bytes) -> None:
        self.bytes_server += len(data)
        if self.first_server_byte is None:
            self.first_server_byte = ts
        observer = self.observer
        if self.keep and observer.server_in_clear:
            self._record(ts, RECV, data)
        observer.server_data(data)
        queue = observer.queue
        while queue:
            self._event(ts, queue.popleft())

    def gap(self, ts: float, from_client: bool, size: int) -> None:
        side = "client" if from_client else "server"
        self._note(ts, f"{size} bytes from the {side} are missing from the capture")

    # -- events --------------------------------------------------------------------
    def _drain(self, ts: float) -> None:
        for event in self.observer.events():
            self._event(ts, event)

    def _event(self, ts: float, event) -> None:
        kind = type(event)
        entry = self._HANDLERS.get(kind)
        if entry is None:
            entry = self._HANDLERS[kind] = (rules.event_judge(kind), next(
                h for base, h in self._HANDLED if issubclass(kind, base)))
        judge, handler = entry
        if judge is not None:   # the rules of rules.judge_event, looked up once per type
            found = judge(event, self.tls is not None, self.context, self.capabilities)
            if found:
                self.findings.extend(found)
        handler(self, ts, event)

    def _ignore(self, ts: float, event) -> None:
        pass

    def _greeting(self, ts: float, event: ev.Greeting) -> None:
        self.greeting = event.reply.summary()
        elapsed = ts - self.start
        pause = ts - (self.first_server_byte if self.first_server_byte is not None else ts)
        self.findings.add(rules.greeting_delayed(elapsed, pause, len(event.reply.lines)))

    def _message_body(self, ts: float, event: ev.MessageBody) -> None:
        if event.complete:
            if self.envelope is not None:
                self.envelope.body(event.size)
            self.messages += 1
            if self.keep:
                self._note(ts, f"message body: {event.size} bytes (not shown)")
                self._record(ts, SEND, b".\r\n")

    def _command_reply(self, ts: float, event: ev.CommandReply) -> None:
        command = event.command
        if self.envelope is not None:
            self.envelope.reply(command, event.reply)
        if type(event) is not ev.CommandReply:      # the subclasses: challenges, EHLO replies
            if isinstance(event, ev.AuthChallenge):
                self._note(ts, f"server challenge, decoded: {_challenge(event.challenge_text)}")
            if isinstance(event, ev.EhloReply) and self.tls is None:
                self.capabilities = event.capabilities
                self.starttls_offered |= event.capabilities.starttls
        if command.verb.upper() == "AUTH":          # the only replies the tracker reads
            self.auth.reply(event)

    def _pipelined(self, ts: float, event: ev.ClientPipelined) -> None:
        self._note(ts, f"the client sent {quoted(event.data)} after STARTTLS before its reply")

    def _injected(self, ts: float, event: ev.InjectedData) -> None:
        self._note(ts, f"{len(event.data)} bytes after the STARTTLS 220 were discarded unread")

    def _tls_started(self, ts: float, event: ev.TlsStarted) -> None:
        self.tls = {"mode": event.mode}
        self._note(ts, "TLS begins (implicit TLS, RFC 8314 §3.3)" if event.mode == "implicit"
                   else "TLS begins (STARTTLS accepted, RFC 3207 §4)")

    def _client_command(self, ts: float, event: ev.ClientCommand) -> None:
        command = event.command
        verb = command.verb.upper()
        # Only AUTH and the SASL responses (whose verb is AUTH too) can carry a secret.
        shown = self.auth.client_line(event, in_clear=self.tls is None) if verb == "AUTH" else None
        if not hasattr(command, "payload"):
            self.commands += 1
            if verb in ("EHLO", "HELO", "LHLO") and self.ehlo_name is None:
                self.ehlo_name = " ".join(command.args).strip() or None
            if verb in _MAIL_VERBS:
                self.mail_commands += 1
            if verb == "STARTTLS":
                self.starttls_sent = True
        if self.keep:
            self._record(ts, SEND, shown if shown is not None else event.raw, redacted=shown is not None)

    def _tls_event(self, ts: float, wrapped: ev.TlsRecordEvent) -> None:
        event, from_client, who = wrapped.event, wrapped.from_client, wrapped.sender
        self.tls_facts.add(event, from_client=from_client)
        if isinstance(event, tls.ClientHello):
            hello = event.info
            self.tls.update(sni=hello.sni, client_version=version_name(hello.highest_version),
                            offered=tuple(suite_name(s) for s in hello.suites), alpn=hello.alpn)
            sni = f"SNI {hello.sni}" if hello.sni else "no SNI"
            self._note(ts, f"TLS ClientHello: {sni}, up to {self.tls['client_version']}, "
                           f"{len(hello.suites)} cipher suites")
        elif isinstance(event, tls.ServerHello) and not event.info.retry:
            version, cipher = version_name(event.info.version), suite_name(event.info.suite)
            self.tls.update(version=version, cipher=cipher)
            self._note(ts, f"TLS ServerHello: {version}, {cipher}")
        elif isinstance(event, tls.Certificates) and not from_client:
            self.chain = event.chain
            self._note(ts, f"TLS Certificate: {len(self.chain)} certificate(s) in clear (TLS <= 1.2)")
        elif isinstance(event, tls.Alert):
            level = "fatal" if event.fatal else "warning"
            self._note(ts, f"TLS alert from the {who}: {level} {event.name}")
        elif isinstance(event, tls.NotTls):
            if not from_client and event.offset == 0 and self.tls["mode"] == "starttls":
                self.findings.add(rules.response_injection(non_tls=event.data))
            self._note(ts, f"{who} bytes are not TLS records: {quoted(event.data)}")

    #: What the session does with each kind of event besides judging it, in the order tried
    #: (a tuple, so its functions stay plain functions); ``_HANDLERS`` caches, by type, the
    #: event's judge (None when no rule reads it) and its handler.
    _HANDLED = ((ev.Greeting, _greeting), (ev.ClientCommand, _client_command),
                (ev.MessageBody, _message_body), (ev.CommandReply, _command_reply),
                (ev.ClientPipelined, _pipelined), (ev.InjectedData, _injected),
                (ev.TlsStarted, _tls_started), (ev.TlsRecordEvent, _tls_event), (object, _ignore))
    _HANDLERS: dict = {}

    # -- results -------------------------------------------------------------------
    def result(self, *, end: float, packets: int, closed: str, tcp: TcpStats,
               extra_findings=(), number: int = 0) -> SessionResult:
        self.observer.close()
        self._drain(end)
        self.auth.close()
        for attempt in self.auth.attempts:
            self.findings.add(auth_rules.credentials_exposed(attempt))
        if self.tls is None and self.capabilities is not None:
            if not self.starttls_offered:
                self.findings.add(rules.starttls_not_offered(self.capabilities, self.context))
                self.findings.add(plaintext.auth_without_tls_possible(
                    self.capabilities, plaintext.TLS_NOT_OFFERED, self.context.server))
            elif self.mail_commands:
                self.findings.add(rules.tls_not_used(
                    starttls_offered=True, tls_attempted=self.starttls_sent, server=self.context.server))
        facts = self.tls_facts
        if self.tls is not None:
            self.findings.add(tls_handshake_failed(facts, ended=closed != "open"))
            if facts.version:
                self.findings.add(tls_legacy_version([facts.version], facts.cipher))
        if self.chain:
            self._certificate()
        self.findings.extend(extra_findings)
        findings, attempts = self.findings.freeze(), tuple(self.auth.attempts)
        envelope = self.envelope
        transactions = envelope.transactions() if envelope is not None else ()
        if self.auth.redactor is not None:
            findings, attempts = self._redact_learned(findings, attempts)
            transactions = _scrub_transactions(transactions, self.auth.redactor)
        observed = None
        if self.tls is not None:
            t = self.tls
            observed = ObservedTls(mode=t["mode"], sni=t.get("sni"), client_version=t.get("client_version"),
                                   offered_suites=t.get("offered", ()), alpn=t.get("alpn", ()),
                                   version=t.get("version"), cipher=t.get("cipher"),
                                   certificates=len(self.chain))
        return SessionResult(  # SessionResult's fields, in order
            self.flow_index, self.client, self.server, self.start, end, packets, self.bytes_client,
            self.bytes_server, self.greeting, self.ehlo_name, self.capabilities, self.commands,
            self.messages, observed, attempts, closed, tcp, findings,
            tuple(self.entries) if self.keep else None, self.certificate, number, transactions,
            envelope.omitted if envelope is not None else 0)

    def _redact_learned(self, findings, attempts):
        """Secrets learned from the client's AUTH lines, out of what the server echoed."""
        from ..frozen import replace
        from ..redaction import redact_stream

        redactor = self.auth.redactor
        self.entries = list(redact_stream(self.entries, redactor))
        self.greeting = redactor.scrub(self.greeting)
        return (tuple(replace(f, evidence=redactor.scrub(f.evidence)) for f in findings),
                tuple(replace(a, user=redactor.scrub(a.user)) for a in attempts))

    def _certificate(self) -> None:
        import datetime

        from ..certs import analyze_chain
        when = datetime.datetime.fromtimestamp(self.start, datetime.timezone.utc)
        self.certificate = analyze_chain(list(self.chain), (self.tls or {}).get("sni") or "",
                                         cafile=self.cafile, now=when)
        self.findings.extend(self.certificate.findings)

    # -- transcript ----------------------------------------------------------------
    def _record(self, ts: float, direction: str, data: bytes, *, redacted: bool = False) -> None:
        if not self.keep or self.kept >= TRANSCRIPT_LIMIT:
            return
        data = data[:TRANSCRIPT_LIMIT - self.kept]
        self.kept += len(data)
        self.entries.append(Entry(ts - self.start, direction, False, data, None, redacted))

    def _note(self, ts: float, text: str) -> None:
        if self.keep and self.kept < TRANSCRIPT_LIMIT:
            self.entries.append(Entry(ts - self.start, NOTE, self.tls is not None, text.encode(), None))


def _challenge(text: str) -> str:
    """A 334 challenge as probe shows it: decoded (``VXNlcm5hbWU6`` is ``Username:``)."""
    import base64
    import binascii

    from ..smtp.sasl_base import visible
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return f"(not base64: {quoted(text.encode('utf-8', 'replace'))})"
    return visible(data) if data else "(empty challenge)"


def _scrub_transactions(transactions, redactor):
    """Secrets learned from AUTH, out of the reply texts the envelope keeps."""
    from ..frozen import replace

    def reply(info):
        return None if info is None else replace(info, text=redactor.scrub(info.text))
    return tuple(replace(t, mail_reply=reply(t.mail_reply), final_reply=reply(t.final_reply),
                         recipients=tuple(replace(r, reply=reply(r.reply)) for r in t.recipients))
                 for t in transactions)
