"""Plain-text rendering of a probe result: transcript, then tables (tabulate's layout, :mod:`.table`)."""

from __future__ import annotations

from ..net.address import host_port
from ..smtp.capabilities import keyword_changes
from ..transcript import NOTE, RECV, SEND
from .teaching import STEP_NOTES
from .untrusted import shown

#: swaks-like direction marks: -> <- in plaintext, ~> <~ inside TLS, === local notes.
_MARKS = {(SEND, False): "->", (RECV, False): "<-", (SEND, True): "~>", (RECV, True): "<~"}


def render_transcript(entries, *, teach: bool = False, chunks: bool = False) -> str:
    """Lines of the session with a timestamp each.

    Consecutive chunks in one direction are joined and cut into lines, each
    stamped with the time its first byte arrived; ``chunks=True`` instead
    shows every chunk as it crossed the socket, with its size.
    """
    out: list[str] = []
    taught: set[str] = set()
    pending = bytearray()
    pending_t = 0.0
    pending_key = None

    def flush(final: bool) -> None:
        nonlocal pending, pending_key
        if pending_key is None:
            return
        mark = _MARKS[pending_key]
        while pending:
            cut = pending.find(b"\n")
            if cut < 0:
                if not final:
                    return
                cut = len(pending) - 1
            line = bytes(pending[:cut + 1])
            del pending[:cut + 1]
            text = line.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
            if not line.endswith(b"\r\n"):
                text += "  [no CRLF]" if line.endswith(b"\n") else "  [no line end]"
            out.append(f"[{pending_t:8.3f}] {mark} {safe(text)}")
        pending_key = None

    for entry in entries:
        if teach and entry.step and entry.step not in taught and entry.step in STEP_NOTES:
            flush(True)
            taught.add(entry.step)
            out.append("")
            import textwrap  # only the demo's teaching notes need it

            out.extend(textwrap.wrap(STEP_NOTES[entry.step], width=88,
                                     initial_indent="  | ", subsequent_indent="  | "))
        if entry.direction == NOTE:
            flush(True)
            out.append(f"[{entry.t:8.3f}] === {safe(entry.text)}")
            continue
        key = (entry.direction, entry.tls)
        if chunks:
            flush(True)
            pending, pending_key, pending_t = bytearray(entry.data), key, entry.t
            out.append(f"[{entry.t:8.3f}] {_MARKS[key]} ({len(entry.data)} bytes)"
                       + (" [redacted]" if entry.redacted else ""))
            flush(True)
            continue
        if key != pending_key:
            flush(True)
            pending_key, pending_t = key, entry.t
        elif not pending:
            pending_t = entry.t
        pending += entry.data
        flush(False)
    flush(True)
    return "\n".join(out)


def _table(rows, headers) -> str:
    from .table import simple_table

    return simple_table([[shown(c) if isinstance(c, str | bytes) else c for c in row] for row in rows],
                        [shown(h) for h in headers])


def _one_line(reply) -> str:
    """The reply's code and first line of text, without the continuation dash (``250 mail.example``)."""
    first = reply.lines[0]
    return f"{first.code.decode('ascii', 'backslashreplace')} {first.text}".rstrip()


def render_steps(result) -> str:
    rows = []
    for step in result.steps:
        said = _one_line(step.reply) if step.reply else ""
        detail = step.detail or ""
        text = " | ".join(part for part in (said, detail) if part)
        ms = "" if step.duration_ms is None else f"{step.duration_ms:.1f}"
        rows.append((step.name, step.status, ms, _clip(text, 90)))
    return _table(rows, ["step", "status", "ms", "reply / detail"])


def render_capabilities(result) -> str:
    before, after = result.capabilities_before, result.capabilities_after
    keywords = list(dict.fromkeys((before.keywords if before else ()) + (after.keywords if after else ())))

    def cell(caps, keyword):
        if caps is None:
            return "-"
        item = caps.get(keyword)
        if item is None:
            return ""
        return " ".join(item.params) or "yes"

    rows = [(kw, cell(before, kw), cell(after, kw)) for kw in keywords]
    rendered = _table(rows, ["capability", "before TLS", "after TLS"])
    if before is None or after is None:
        return rendered
    added, removed = keyword_changes(before, after)
    changes = [f"+{kw}" for kw in added] + [f"-{kw}" for kw in removed]
    return rendered + "\nchanged by TLS: " + shown(" ".join(changes) if changes else "nothing")


def render_tls(result) -> str:
    tls = result.tls
    rows = [("version", tls.version), ("cipher", tls.cipher), ("bits", tls.bits or ""),
            ("key exchange group", tls.group or "(not seen)")]
    if tls.alpn:
        rows.append(("ALPN", tls.alpn))
    return _table(rows, ["TLS session", ""])


def render_certificate(result) -> str:
    report = result.certificate
    if not report.chain:
        return _table([("certificate", report.trust_error or "none received")], ["certificate", ""])
    leaf = report.chain[0]
    rows = [
        ("subject", leaf.subject),
        ("SANs", ", ".join(leaf.sans) or "(none)"),
        ("issuer", leaf.issuer),
        ("valid", f"{leaf.not_before} .. {leaf.not_after}"),
        ("key", f"{leaf.key_type} {leaf.key_bits} bits" + (f" ({leaf.curve})" if leaf.curve else "")),
        ("signature", leaf.signature_algorithm),
        ("SHA-256 SPKI", leaf.spki_sha256),
        ("SHA-256 cert", leaf.sha256_fingerprint),
        ("hostname", ("matches " if report.hostname_match else "does NOT match ") + report.servername),
        ("trust", "trusted" if report.trusted else f"NOT trusted: {report.trust_error}"),
        ("chain sent", f"{len(report.chain)} certificate(s)"),
    ]
    return _table(rows, ["certificate", ""])


def render_auth(result) -> str:
    auth = result.auth
    said = auth.reply.summary() if auth.reply else ""
    rows = [("mechanism", auth.mechanism or f"(none; asked for {auth.requested})"),
            ("user", auth.user),
            ("result", auth.status),
            ("reply", said or "-"),
            ("meaning", auth.explanation + (f" ({auth.rule})" if auth.rule else ""))]
    if auth.server_error:
        rows.append(("server error", auth.server_error))
    if auth.server_verified is not None:
        rows.append(("server signature", "verified" if auth.server_verified else "NOT verified"))
    if auth.channel_binding:
        rows.append(("channel binding", auth.channel_binding))
    return _table([(k, _clip(str(v), 100)) for k, v in rows], ["AUTH", ""])


def render_findings(result) -> str:
    if not result.findings:
        return "Findings: none"
    rows = [(f.severity.value, f.id, _clip(f.evidence, 80), f.rfc) for f in result.findings]
    return _table(rows, ["severity", "finding", "evidence", "rule"])


def render_probe(result, *, teach: bool = False, verbose: bool = False) -> str:
    cfg = result.config
    parts = [f"smtp-inspector probe {host_port(cfg.host, cfg.port)} ({cfg.mode}"
             f"{', TLS required' if cfg.require_tls else ''})",
             "",
             render_transcript(result.transcript, teach=teach, chunks=verbose),
             "",
             render_steps(result)]
    if result.capabilities_before is not None or result.capabilities_after is not None:
        parts += ["", render_capabilities(result)]
    if result.tls is not None:
        parts += ["", render_tls(result)]
    if result.certificate is not None:
        parts += ["", render_certificate(result)]
    if getattr(result, "auth", None) is not None:
        parts += ["", render_auth(result)]
    parts += ["", render_findings(result), "", render_outcome(result)]
    return "\n".join(parts)


def render_outcome(result) -> str:
    code = result.exit_code
    if result.error:
        return f"Result: exit {int(code)} ({code.name.lower()}): {safe(result.error)}"
    return f"Result: exit {int(code)} ({code.name.lower()})"


def _clip(text: str, width: int) -> str:
    text = safe(text)
    return text if len(text) <= width else text[: width - 3] + "..."


#: The one escaping function for untrusted text (render/untrusted.py), under its old name.
safe = shown


def _yes_no(value) -> str:
    return "-" if value is None else ("yes" if value else "no")


def render_auth_table(table, *, verbose: bool = False) -> str:
    """``probe --auth all``: one row per mechanism, then the findings and the outcome."""
    cfg = table.config
    parts = [f"smtp-inspector probe {host_port(cfg.host, cfg.port)} --auth all ({cfg.mode}"
             f"{', TLS required' if cfg.require_tls else ''}) as {cfg.auth.credentials.user}", ""]
    sessions = [table.discovery, *table.probes] if verbose else [table.discovery]
    for result in sessions:
        label = result.auth.mechanism if result.auth else "discovery (no AUTH)"
        parts += [f"--- session: {label}", render_transcript(result.transcript, chunks=verbose), ""]
    rows = [(r.mechanism, _yes_no(r.offered_before_tls), _yes_no(r.offered_after_tls), r.status,
             "" if r.code is None else str(r.code), r.enhanced_code or "",
             "" if r.answer_s is None else f"{r.answer_s:.1f} s",
             _clip(r.explanation + (f" ({r.rule})" if r.rule else ""), 80))
            for r in table.rows]
    if rows:
        parts.append(_table(rows, ["mechanism", "before TLS", "after TLS", "result", "code",
                                   "enhanced", "answered in", "explanation"]))
    else:
        parts.append(render_steps(table.discovery))
    fake = type("R", (), {"findings": table.findings, "exit_code": table.exit_code, "error": table.error})
    parts += ["", render_findings(fake), "", render_outcome(fake)]
    return "\n".join(parts)
