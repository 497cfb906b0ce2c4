"""One SMTP session seen from the side: both directions parsed, judged like ``probe`` does.

Theory of operation: the flow table hands over each direction's reassembled
bytes in capture order. The server's bytes go through the same
:class:`~inspector.smtp.reply.ReplyParser` as a live probe; the client's
through :class:`~inspector.smtp.command_parser.CommandParser`. Replies are
matched to commands in order (RFC 2920 §3.1). A 220 to STARTTLS is the
boundary (RFC 3207 §4.2): bytes buffered past it on either side are
injection evidence and are never parsed; after it both directions are TLS
records (RFC 8446 §5.1), read until they turn to ciphertext.

Secrets never enter the transcript or the result: SASL responses are
replaced by a redacted form before they are stored (RFC 4954 §4).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import deque
from dataclasses import dataclass, field

from ..errors import RemoteProtocolError
from ..findings import Finding, Severity, make_finding
from ..redaction import quoted
from ..rules import plaintext
from ..smtp.capabilities import Capabilities
from ..smtp.command_parser import CommandLine, CommandParser, MessageData, SaslResponse
from ..smtp.reply import Reply, ReplyParser
from ..tls import handshake as hs
from ..tls.records import ALERT, ALERT_NAMES, APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, RecordFramer
from ..transcript import NOTE, RECV, SEND, Entry

#: Cisco PIX/ASA banner masking: a greeting text made mostly of asterisks (same rule as probe).
_MASKED_BANNER = re.compile(r"^[*\s0-9]*\*{6,}[*\s0-9]*$")
#: Bytes of transcript kept per session (the message bodies are not kept at all).
TRANSCRIPT_LIMIT = 256 * 1024
#: A server's non-TLS bytes this early after the boundary are injection evidence.
MAX_FIRST_RECORD = 1 << 15
#: Mechanisms whose exchange carries the password itself (RFC 4616, draft-murchison-sasl-login).
CLEAR_SECRET_MECHANISMS = ("PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER")
#: Ports where TLS is expected (RFC 8314 §3.3 implicit TLS; RFC 6409 submission).
TLS_EXPECTED_PORTS = (465, 587)
_LEGACY = ("SSLv3", "TLSv1", "TLSv1.1")


@dataclass(frozen=True)
class AuthAttempt:
    mechanism: str
    user: str | None       #: decoded where the mechanism shows it, else None
    in_clear: bool
    reply_code: int | None  #: 235 success, 535 failure, None when no final reply was seen


@dataclass(frozen=True)
class TlsFacts:
    mode: str                              #: "starttls" or "implicit"
    sni: str | None = None
    client_version: str | None = None      #: highest version the client offered
    offered_suites: tuple[str, ...] = ()
    alpn: tuple[str, ...] = ()
    version: str | None = None             #: negotiated (ServerHello)
    cipher: str | None = None
    certificates: int = 0                  #: certificates seen (TLS <= 1.2 only)


@dataclass(frozen=True)
class TcpStats:
    retransmissions: int = 0
    out_of_order: int = 0
    overlaps: int = 0
    conflicts: int = 0
    gaps: int = 0
    gap_bytes: int = 0


@dataclass(frozen=True)
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
    tls: TlsFacts | None
    auth: tuple[AuthAttempt, ...]
    closed: str                            #: "fin", "rst", "open" (capture ended), "idle"
    tcp: TcpStats
    findings: tuple[Finding, ...]
    transcript: tuple[Entry, ...] | None
    certificate: object | None = None      #: CertificateReport for TLS <= 1.2 chains
    number: int = 0                        #: 1-based, in order of first packet

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class _TlsSide:
    framer: RecordFramer = field(default_factory=RecordFramer)
    handshake: hs.HandshakeStream = field(default_factory=hs.HandshakeStream)
    encrypted: bool = False
    opaque: bool = False      #: stopped reading records (ciphertext or not TLS)
    bytes: int = 0


class SmtpSession:
    """Feed ``client_data``/``server_data`` in capture order, then ``result``."""

    def __init__(self, flow_index: int, client: tuple[str, int], server: tuple[str, int], start: float,
                 *, implicit_tls: bool = False, keep_transcript: bool = False,
                 cafile: str | None = None) -> None:
        self.flow_index = flow_index
        self.client, self.server = client, server
        self.start = start
        self.keep = keep_transcript
        self.cafile = cafile
        self.redactor = None   #: secrets learned from AUTH lines (redaction.Redactor), if any
        self.entries: list[Entry] = []
        self.kept = 0
        self.findings: list[Finding] = []
        self.replies = ReplyParser()
        self.commands_parser = CommandParser()
        self.pending: deque[CommandLine] = deque()
        self.greeted = False
        self.greeting: str | None = None
        self.ehlo_name: str | None = None
        self.capabilities: Capabilities | None = None
        self.starttls_offered = False
        self.commands = 0
        self.mail_commands = 0         #: MAIL, RCPT, DATA, BDAT, AUTH: what TLS should have protected
        self.messages = 0
        self.message_bytes = 0
        self.auth: list[AuthAttempt] = []
        self._auth_state: dict | None = None
        self.server_broken = False
        self.bytes_client = 0
        self.bytes_server = 0
        self.tls: dict | None = None
        self.tls_client: _TlsSide | None = None
        self.tls_server: _TlsSide | None = None
        self.chain: tuple[bytes, ...] = ()
        self.certificate = None
        self.last_ts = start
        self.awaiting_hello = False       #: STARTTLS 220 seen, client's ClientHello not yet
        self.injected = bytearray()
        self.injected_total = 0
        if implicit_tls:
            self._enter_tls("implicit", start)

    # -- input ---------------------------------------------------------------------
    def client_data(self, ts: float, data: bytes) -> None:
        self.bytes_client += len(data)
        self.last_ts = ts
        if self.tls_client is not None:
            if self.awaiting_hello:
                self._end_injection_window(ts)
            self._tls_data(ts, data, self.tls_client, from_client=True)
            return
        parser = self.commands_parser
        parser.receive(data)
        while (item := parser.next_item()) is not None:
            self._client_item(ts, item)

    def server_data(self, ts: float, data: bytes) -> None:
        self.bytes_server += len(data)
        self.last_ts = ts
        if self.awaiting_hello:
            self._record(ts, RECV, data)
            self.injected += data[:4096 - len(self.injected)] if len(self.injected) < 4096 else b""
            self.injected_total += len(data)
            return
        if self.tls_server is not None:
            self._tls_data(ts, data, self.tls_server, from_client=False)
            return
        self._record(ts, RECV, data)
        if self.server_broken:
            return
        parser = self.replies
        parser.receive(data)
        while self.tls_server is None:
            try:
                reply = parser.next_reply()
            except RemoteProtocolError as exc:
                self._finding("reply-malformed", str(exc))
                self.server_broken = True
                return
            if reply is None:
                return
            self._reply(ts, reply)

    def gap(self, ts: float, from_client: bool, size: int) -> None:
        side = "client" if from_client else "server"
        self._note(ts, f"{size} bytes from the {side} are missing from the capture", from_client)

    # -- client side ------------------------------------------------------------
    def _client_item(self, ts: float, item) -> None:
        if isinstance(item, CommandLine) and self._early_sasl_response():
            # RFC 4954 §4: until AUTH's final reply, every client line is a SASL response, even
            # one pipelined before its 334 (never shown as a command: it may be the password).
            self._auth_state["early"] += 1
            self._record(ts, SEND, self._sasl_response(item.raw), redacted=True)
            return
        if isinstance(item, CommandLine):
            self.commands += 1
            shown = item.raw
            if item.verb == "AUTH":
                shown = self._auth_command(item)
            elif item.verb in ("EHLO", "HELO", "LHLO") and self.ehlo_name is None:
                self.ehlo_name = item.argument.strip() or None
            if item.verb in ("MAIL", "RCPT", "DATA", "BDAT", "AUTH"):
                self.mail_commands += 1
            self._record(ts, SEND, shown, redacted=shown is not item.raw)
            self.pending.append(item)
        elif isinstance(item, SaslResponse):
            self._record(ts, SEND, self._sasl_response(item.raw), redacted=True)
        elif isinstance(item, MessageData):
            self.message_bytes += item.size
            if item.complete:
                self.messages += 1
                self._note(ts, f"message body: {self.message_bytes} bytes (not shown)", True)
                self._record(ts, SEND, b".\r\n")
                self.message_bytes = 0
                self.pending.append(CommandLine(b".\r\n", ".", ""))

    def _early_sasl_response(self) -> bool:
        """An AUTH exchange is open and its mechanism may still send a line before the next 334."""
        state = self._auth_state
        if state is None:
            return False
        one_shot = state["mechanism"] in ("PLAIN", "XOAUTH2", "OAUTHBEARER", "EXTERNAL")
        return not (one_shot and state["initial"])

    def _auth_command(self, item: CommandLine) -> bytes:
        """``AUTH mech [initial-response]`` (RFC 4954 §4), with the response redacted."""
        words = item.argument.split()
        mechanism = words[0].upper() if words else "?"
        state = {"mechanism": mechanism, "user": None, "responses": 0,
                 "in_clear": self.tls_client is None, "recorded": False,
                 "initial": len(words) > 1, "early": 0}
        self._auth_state = state
        if len(words) > 1:
            self._sasl_user(state, words[1].encode())
            return f"AUTH {mechanism} {self._redacted(state)}\r\n".encode()
        return item.raw

    def _sasl_response(self, raw: bytes) -> bytes:
        state = self._auth_state
        if state is None:
            return b"[redacted SASL response]\r\n"
        self._sasl_user(state, raw.strip())
        return f"{self._redacted(state)}\r\n".encode()

    def _sasl_user(self, state: dict, b64: bytes) -> None:
        """Read the user name, never the secret, from one client response."""
        state["responses"] += 1
        index = state["responses"]
        try:
            decoded = base64.b64decode(b64, validate=True) if b64 != b"=" else b""
        except (binascii.Error, ValueError):
            return
        mechanism, user = state["mechanism"], None
        if mechanism == "PLAIN" and index == 1:
            parts = decoded.split(b"\0")
            if len(parts) == 3:
                user = parts[1] or parts[0]
        elif mechanism == "LOGIN" and index == 1:
            user = decoded
        elif mechanism == "CRAM-MD5" and index == 1:
            user = decoded.rpartition(b" ")[0]
        elif mechanism.startswith("SCRAM-") and index == 1:
            match = re.search(rb"(?:^|,)n=([^,]*)", decoded)
            user = match.group(1) if match else None
        elif mechanism in ("XOAUTH2", "OAUTHBEARER") and index == 1:
            match = re.search(rb"(?:user=|a=)([^\x01,]*)", decoded)
            user = match.group(1) if match else None
        if user:
            state["user"] = user.decode("utf-8", "backslashreplace")
        state["last_was_user"] = user is not None
        self._learn_secret(mechanism, index, b64, decoded)

    def _learn_secret(self, mechanism: str, index: int, b64: bytes, decoded: bytes) -> None:
        """What the client's response carries that is secret, so that a server echoing it (in any
        encoding) is redacted from this session's transcript and findings too."""
        from ..redaction import Redactor

        if self.redactor is None:
            self.redactor = Redactor()
        self.redactor.add(b64)
        if mechanism == "PLAIN":
            secrets = decoded.split(b"\0")[2:]
        elif mechanism == "LOGIN":
            secrets = [decoded] if index > 1 else []
        elif mechanism == "CRAM-MD5":
            secrets = [decoded.rpartition(b" ")[2]]
        elif mechanism.startswith("SCRAM-"):
            secrets = re.findall(rb"(?:^|,)p=([^,]*)", decoded)
        else:
            secrets = re.findall(rb"auth=Bearer ([^\x01]*)", decoded)
        for secret in secrets:
            self.redactor.add_secret(secret)

    @staticmethod
    def _redacted(state: dict) -> str:
        if state.get("last_was_user") and state["mechanism"] == "LOGIN":
            return f"[redacted: user name {state['user']!r}]"
        user = f", user {state['user']!r}" if state.get("user") else ""
        return f"[redacted {state['mechanism']} response{user}]"

    # -- server side ------------------------------------------------------------
    def _reply(self, ts: float, reply: Reply) -> None:
        if reply.anomalies:
            kinds = ", ".join(dict.fromkeys(a.kind for a in reply.anomalies))
            shown = "; ".join(a.describe() for a in reply.anomalies[:3])
            self._finding("reply-malformed", f"{kinds}: {shown}")
        if not self.greeted:
            self.greeted = True
            self.greeting = reply.summary()
            if _MASKED_BANNER.match(reply.lines[0].text.strip() or "-"):
                self._finding("starttls-masked", f"greeting masked with asterisks: {reply.summary()!r}")
            if reply.code in (421, 554):
                self._finding("greeting-rejected", reply.summary())
            return
        if not self.pending:
            self._finding("reply-malformed", f"reply nobody asked for: {reply.summary()!r}")
            return
        command = self.pending.popleft()
        verb, code = command.verb, reply.code
        if verb == "EHLO":
            if code == 250:
                caps = Capabilities.from_reply(reply)
                self.capabilities = caps
                if caps.starttls:
                    self.starttls_offered = True
                if caps.masked:
                    self._finding("starttls-masked", "EHLO lines masked: " + ", ".join(caps.masked))
                if caps.plaintext_auth:
                    self._finding("auth-before-tls",
                                  f"AUTH {' '.join(caps.auth_mechanisms)} offered before TLS")
            elif code is not None and code >= 500:
                self._finding("ehlo-rejected", f"EHLO got {reply.summary()!r}")
        elif verb == "STARTTLS":
            if code == 220:
                self._starttls_boundary(ts)
            else:
                self._rule(plaintext.starttls_failed(reply.summary()))
                self._rule(plaintext.auth_without_tls_possible(self.capabilities, plaintext.TLS_REFUSED,
                                                               _addr(self.server)))
        elif verb == "AUTH":
            self._auth_reply(command, reply)
        elif verb == "DATA" and code == 354:
            self.commands_parser.expect_data()

    def _auth_reply(self, command: CommandLine, reply: Reply) -> None:
        state = self._auth_state
        if state is None:
            return
        if reply.code == 334:
            # Another round: the command stays pending for the next reply.
            self.pending.appendleft(command)
            if state["early"]:
                state["early"] -= 1        # its response was pipelined and is already read
            else:
                self.commands_parser.expect_sasl_response()
            return
        self._auth_state = None
        self._record_auth(state, reply.code)

    def _record_auth(self, state: dict, code: int | None) -> None:
        attempt = AuthAttempt(state["mechanism"], state["user"], state["in_clear"], code)
        self.auth.append(attempt)
        if not attempt.in_clear or not state["responses"]:
            return
        mech = attempt.mechanism
        user = f"user {attempt.user!r}" if attempt.user else "user name not decoded"
        outcome = {235: "accepted (235)"}.get(code, f"answered {code}" if code else "no reply seen")
        if mech in CLEAR_SECRET_MECHANISMS:
            what = "password readable on the wire (REDACTED here)"
            severity = Severity.ERROR
        else:
            what = "response open to offline guessing (REDACTED here)"
            severity = Severity.WARNING
        self._finding("credentials-exposed",
                      f"AUTH {mech} in clear text: {user}, {what}; server {outcome}", severity=severity)

    def _starttls_boundary(self, ts: float) -> None:
        """RFC 3207 §4.2: nothing may follow the 220 before the handshake, on either side.

        The server must wait for the client's ClientHello, so every server byte
        before it (buffered with the 220 or arriving later) is injected.
        """
        self.injected = bytearray(self.replies.take_buffered())
        self.awaiting_hello = True
        pipelined = self.commands_parser.take_buffered()
        self.pending.clear()
        self._enter_tls("starttls", ts)
        if pipelined:
            self._note(ts, f"the client sent {len(pipelined)} bytes after STARTTLS before TLS began: "
                           f"{quoted(pipelined)}", True)
            self._tls_data(ts, pipelined, self.tls_client, from_client=True)

    def _end_injection_window(self, ts: float) -> None:
        self.awaiting_hello = False
        injected = bytes(self.injected)
        if injected:
            self._finding("response-injection",
                          f"{len(injected)} bytes after the STARTTLS 220, before the TLS handshake: "
                          f"{quoted(injected, 80)}")
            self._note(ts, f"{len(injected)} bytes after the STARTTLS 220 were discarded unread", False)
        self._note(ts, "TLS begins (STARTTLS accepted, RFC 3207 §4)", False)

    # -- TLS --------------------------------------------------------------------
    def _enter_tls(self, mode: str, ts: float) -> None:
        self.tls = {"mode": mode}
        self.tls_client, self.tls_server = _TlsSide(), _TlsSide()
        if mode == "implicit":
            self._note(ts, "TLS begins (implicit TLS, RFC 8314 §3.3)", False)

    def _tls_data(self, ts: float, data: bytes, side: _TlsSide, *, from_client: bool) -> None:
        side.bytes += len(data)
        if side.opaque:
            return
        try:
            records = side.framer.feed(data)
        except ValueError:
            side.opaque = True
            if not from_client and side.bytes <= MAX_FIRST_RECORD and self.tls["mode"] == "starttls":
                self._finding("response-injection",
                              "non-TLS bytes where the server's TLS handshake should begin: "
                              f"{quoted(data, 80)}")
            self._note(ts, f"{'client' if from_client else 'server'} bytes are not TLS records: "
                           f"{quoted(data)}", from_client)
            return
        for record in records:
            ctype = record.content_type
            if ctype == HANDSHAKE and not side.encrypted:
                for msg_type, body in side.handshake.feed(record.body):
                    self._handshake(ts, msg_type, body, from_client)
            elif ctype == ALERT and not side.encrypted and len(record.body) >= 2:
                level, desc = record.body[0], record.body[1]
                name = ALERT_NAMES.get(desc, str(desc))
                who = "client" if from_client else "server"
                self._note(ts, f"TLS alert from the {who}: {'fatal' if level == 2 else 'warning'} {name}",
                           from_client)
                if level == 2:
                    self._finding("tls-handshake-failed", f"the {who} sent a fatal {name} alert")
            elif ctype in (CHANGE_CIPHER_SPEC, APPLICATION_DATA):
                side.encrypted = True
                side.opaque = True
                side.framer = RecordFramer()
                break

    def _handshake(self, ts: float, msg_type: int, body: bytes, from_client: bool) -> None:
        tls = self.tls
        if from_client and msg_type == hs.CLIENT_HELLO:
            hello = hs.parse_client_hello(body)
            if hello is None:
                return
            tls.update(sni=hello.sni, client_version=hs.version_name(hello.highest_version),
                       offered=tuple(hs.suite_name(s) for s in hello.suites), alpn=hello.alpn)
            sni = f"SNI {hello.sni}" if hello.sni else "no SNI"
            self._note(ts, f"TLS ClientHello: {sni}, up to {tls['client_version']}, "
                           f"{len(hello.suites)} cipher suites", True)
        elif not from_client and msg_type == hs.SERVER_HELLO:
            hello = hs.parse_server_hello(body)
            if hello is None:
                return
            version, cipher = hs.version_name(hello.version), hs.suite_name(hello.suite)
            tls.update(version=version, cipher=cipher)
            self._note(ts, f"TLS ServerHello: {version}, {cipher}", False)
            if version in _LEGACY:
                self._finding("tls-legacy-version", f"negotiated {version} with {cipher}")
            if hello.version >= 0x0304:
                self.tls_server.encrypted = True  # everything after the ServerHello is ciphertext
        elif not from_client and msg_type == hs.CERTIFICATE:
            self.chain = hs.parse_certificate_list(body)
            self._note(ts, f"TLS Certificate: {len(self.chain)} certificate(s) in clear (TLS <= 1.2)",
                       False)

    # -- results ----------------------------------------------------------------
    def _tls_severity(self) -> Severity:
        return Severity.ERROR if self.server[1] in TLS_EXPECTED_PORTS else Severity.WARNING

    def result(self, *, end: float, packets: int, closed: str, tcp: TcpStats,
               extra_findings=()) -> SessionResult:
        if self.awaiting_hello:
            self._end_injection_window(end)
        if self._auth_state is not None and self._auth_state["responses"]:
            state, self._auth_state = self._auth_state, None
            self._record_auth(state, None)
        if self.tls is None and self.capabilities is not None:
            caps = self.capabilities
            if not self.starttls_offered:
                masked = f" (masked lines: {', '.join(caps.masked)})" if caps.masked else ""
                self._finding("starttls-not-offered",
                              f"EHLO reply from {_addr(self.server)} has no STARTTLS{masked}",
                              severity=self._tls_severity())
                self._rule(plaintext.auth_without_tls_possible(caps, plaintext.TLS_NOT_OFFERED,
                                                               _addr(self.server)))
            elif self.mail_commands:
                self._finding("tls-not-used", f"STARTTLS was offered by {_addr(self.server)}, "
                                              "but the session went on in clear text")
        if self.tls is None and any(c.verb == "STARTTLS" for c in self.pending):
            self._rule(plaintext.starttls_failed(None, ended=closed))
        if self.chain:
            import datetime

            from ..certs import analyze_chain
            when = datetime.datetime.fromtimestamp(self.start, datetime.timezone.utc)
            self.certificate = analyze_chain(list(self.chain), (self.tls or {}).get("sni") or "",
                                             cafile=self.cafile, now=when)
            for finding in self.certificate.findings:
                self._add(finding)
        for finding in extra_findings:
            self._add(finding)
        tls = None
        if self.tls is not None:
            t = self.tls
            tls = TlsFacts(mode=t["mode"], sni=t.get("sni"), client_version=t.get("client_version"),
                           offered_suites=t.get("offered", ()), alpn=t.get("alpn", ()),
                           version=t.get("version"), cipher=t.get("cipher"), certificates=len(self.chain))
        if self.redactor is not None:
            self._redact_learned()
        return SessionResult(
            flow_index=self.flow_index, client=self.client, server=self.server, start=self.start,
            end=end, packets=packets, bytes_client=self.bytes_client, bytes_server=self.bytes_server,
            greeting=self.greeting, ehlo_name=self.ehlo_name, capabilities=self.capabilities,
            commands=self.commands, messages=self.messages, tls=tls, auth=tuple(self.auth),
            closed=closed, tcp=tcp, findings=tuple(self.findings),
            transcript=tuple(self.entries) if self.keep else None, certificate=self.certificate)

    def _redact_learned(self) -> None:
        """Secrets learned from the client's AUTH lines, out of what the server echoed."""
        from dataclasses import replace

        from ..redaction import redact_stream

        self.entries = list(redact_stream(self.entries, self.redactor))
        scrub = self.redactor.scrub
        self.findings = [replace(f, evidence=scrub(f.evidence)) for f in self.findings]
        self.greeting = scrub(self.greeting)
        self.auth = [replace(a, user=scrub(a.user)) for a in self.auth]

    # -- plumbing ---------------------------------------------------------------
    def _record(self, ts: float, direction: str, data: bytes, *, redacted: bool = False) -> None:
        if not self.keep or self.kept >= TRANSCRIPT_LIMIT:
            return
        data = data[:TRANSCRIPT_LIMIT - self.kept]
        self.kept += len(data)
        self.entries.append(Entry(ts - self.start, direction, False, data, None, redacted))

    def _note(self, ts: float, text: str, from_client: bool) -> None:
        if self.keep and self.kept < TRANSCRIPT_LIMIT:
            self.entries.append(Entry(ts - self.start, NOTE, self.tls is not None, text.encode(), None))

    def _finding(self, finding_id: str, evidence: str, *, severity: Severity | None = None) -> None:
        self._add(make_finding(finding_id, evidence, severity=severity))

    def _rule(self, finding: Finding | None) -> None:
        if finding is not None:
            self._add(finding)

    def _add(self, finding: Finding) -> None:
        if any(f.id == finding.id and f.evidence == finding.evidence for f in self.findings):
            return
        if sum(1 for f in self.findings if f.id == finding.id) >= 5:
            return  # a hostile stream must not grow the list without bound
        self.findings.append(finding)


def _addr(addr: tuple[str, int]) -> str:
    host, port = addr
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
