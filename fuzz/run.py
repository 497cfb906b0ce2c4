"""Mutation fuzzer for the byte parsers: feeds byte strings to each target and counts inputs.

    python fuzz/run.py --inputs 1000000            # all targets, all cores
    python fuzz/run.py --target reply-parser --inputs 200000 --seed 7
    python fuzz/run.py --list

Each target is a function ``bytes -> signature`` registered with :func:`target`,
with the exceptions it may raise on bad input (the documented ones: e.g.
``RemoteProtocolError`` past the parser caps) and its seed corpus
(``fuzz/corpus/<prefix>*.bin``: real Postfix and aiosmtpd bytes recorded by
fuzz/capture_corpus.py, plus built-in edge cases). Inputs are mutated from the
corpus (bit flips, interesting bytes and tokens, cuts, splices, repeats); an
input whose signature (what the parser made of it) was not seen before joins the
corpus, so the run drifts toward new behaviour without coverage instrumentation.

Any other exception, or a broken invariant (``AssertionError``), is a crash:
the input is written to ``fuzz/crashes/<target>-<sha1>.bin`` and the traceback
printed; the exit status is then 1. Turn each crash into a regression test in
tests/test_fuzz_regressions.py (which replays every file in fuzz/crashes/ too).

Adding a parser is one registration::

    target("name", corpus="prefix-", allowed=(TheParsersError,))(function)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import pathlib
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from inspector.errors import RemoteProtocolError  # noqa: E402
from inspector.replay.pcap import CaptureError  # noqa: E402
from inspector.replay.replay import parse_capture_bytes  # noqa: E402
from inspector.smtp import commands  # noqa: E402
from inspector.smtp.capabilities import Capabilities  # noqa: E402
from inspector.smtp.connection import ClientConnection, State  # noqa: E402
from inspector.smtp.driver import SmtpDriver  # noqa: E402
from inspector.smtp.events import ConnectionClosed, StartTlsReady  # noqa: E402
from inspector.smtp.reply import ReplyParser  # noqa: E402
from inspector.tls.reader import read_handshake_facts  # noqa: E402
from inspector.tls.records import (  # noqa: E402
    NotTlsRecord,
    RecordFramer,
    looks_like_tls,
)

CORPUS_DIR = ROOT / "corpus"
CRASH_DIR = ROOT / "crashes"
MAX_LENGTH = 4096
MAX_CORPUS = 4000


@dataclass
class Target:
    name: str
    run: Callable[[bytes], object]
    allowed: tuple[type[BaseException], ...]
    corpus_prefix: str
    seeds: list[bytes] = field(default_factory=list)


#: The registry: name -> Target. One ``target(...)`` call adds a parser.
TARGETS: dict[str, Target] = {}


def target(name: str, *, corpus: str, allowed: tuple[type[BaseException], ...] = (),
           seeds: tuple[bytes, ...] = ()):
    """Register ``function(data) -> signature`` as a fuzz target."""
    def register(function):
        TARGETS[name] = Target(name, function, allowed, corpus, list(seeds))
        return function
    return register


def cuts_of(data: bytes) -> list[int]:
    """Deterministic split points taken from the input itself, so a crash replays exactly."""
    if not data:
        return []
    step = data[0] % 7 + 1
    return sorted({(i * 131 + data[-1]) % len(data) for i in range(step)})


def pieces(data: bytes) -> list[bytes]:
    points = [0, *cuts_of(data), len(data)]
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


SMTP_SEEDS = (
    b"220 mail.example.com ESMTP\r\n",
    b"220-first\r\n220-second\n220 last\r\n",
    b"250-mail.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH=LOGIN PLAIN\r\n"
    b"250-AUTH LOGIN PLAIN\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n",
    b"220 ******************\r\n",
    b"554 5.7.1 no\r\n", b"250-a\r\n220-b\r\n250 c\r\n", b"2x0 bad\r\n", b"250\r\n", b"\r\n", b"",
)


@target("reply-parser", corpus="smtp-", allowed=(RemoteProtocolError,), seeds=SMTP_SEEDS)
def fuzz_reply_parser(data: bytes):
    """RFC 5321 §4.2 reply parser, fed in pieces; every byte is kept (a reply, or still buffered)."""
    parser = ReplyParser(max_line_length=512 + (data[0] if data else 0), max_lines=64)  # small caps: hit them
    replies = []
    for piece in pieces(data):
        replies += parser.feed(piece)
    kept = b"".join(r.raw for r in replies) + parser.feed_eof()
    assert kept == data, "bytes lost or invented"
    signature = set()
    for reply in replies:
        shown = (reply.summary(), reply.text, reply.enhanced_code, reply.is_positive)
        signature.add((reply.code is None, len(reply.lines) > 1, shown[2] is None,
                       tuple(sorted({a.kind for a in reply.anomalies}))))
    return frozenset(signature)


@target("capabilities", corpus="smtp-", seeds=SMTP_SEEDS)
def fuzz_capabilities(data: bytes):
    """RFC 5321 §4.1.1.1 EHLO keywords from reply texts (never raises)."""
    texts = data.decode("utf-8", "backslashreplace").split("\n")
    caps = Capabilities.parse([t[4:] for t in texts])
    facts = (caps.size_limit is None, caps.starttls, caps.plaintext_auth, len(caps.keywords) > 3)
    for reply in ReplyParser(max_line_length=10**6, max_lines=10**6).feed(data):
        Capabilities.from_reply(reply)
    return (*facts, bool(caps.masked), caps.legacy_auth, len(caps.auth_mechanisms) > 0,
            all(item.valid for item in caps.items))


@target("client-connection", corpus="smtp-", allowed=(RemoteProtocolError,), seeds=SMTP_SEEDS)
def fuzz_client_connection(data: bytes):
    """The sans-I/O client through a whole dialog (EHLO, STARTTLS, TLS, EHLO, QUIT) on server bytes.

    Driven by the one SMTP driver (:class:`inspector.smtp.driver.SmtpDriver`), as probe steps are.
    """
    conn = ClientConnection(max_line_length=2048, max_lines=200)
    feed = iter(pieces(data))
    kinds: list[str] = []
    driver = SmtpDriver(conn, lambda until: next(feed, b""), lambda data, until: None,
                        on_event=lambda event: kinds.append(type(event).__name__))
    plan = [commands.ehlo("fuzz.example"), commands.starttls(), commands.ehlo("fuzz.example"),
            commands.noop(), commands.quit_()]
    pipelined = bool(data[:1]) and data[0] & 1
    while not isinstance(event := driver.next_event(), ConnectionClosed):
        if isinstance(event, StartTlsReady):
            driver.take_injected()  # InjectedData, handed out unparsed (on_event records it)
            conn.tls_established()
        if conn.state is State.READY and plan and not conn.pending_commands:
            command = plan.pop(0)
            driver.send(command, pipelined_noop=pipelined and command.verb == "STARTTLS")
    return tuple(kinds[:12])


TLS_SEEDS = (
    b"\x16\x03\x03\x00\x04\x02\x00\x00\x00", b"\x15\x03\x03\x00\x02\x02\x28",
    b"\x16\x03\x01\xff\xff", b"\x17\x03\x03\x00\x00", b"220 not tls\r\n",
)


@target("tls-framer", corpus="tls-", allowed=(NotTlsRecord,), seeds=TLS_SEEDS)
def fuzz_tls_framer(data: bytes):
    """RFC 8446 §5.1 record framing in pieces, and the handshake facts reader (never raises)."""
    facts = read_handshake_facts(data)
    looks_like_tls(data)
    framer = RecordFramer()
    records, fed = [], 0
    try:
        for piece in pieces(data):
            fed += len(piece)
            records += framer.feed(piece)
    except NotTlsRecord as exc:
        records += exc.records
        raise
    finally:
        consumed = sum(5 + len(r.body) for r in records)
        assert consumed + framer.buffered == fed, "record bytes lost"
    return (facts.group, tuple(r.content_type for r in records[:6]))


#: The sample captures (captures/*.pcap, a few KB each) seed the capture reader.
PCAP_SEEDS = tuple(path.read_bytes() for path in sorted((ROOT.parent / "captures").glob("*.pcap")))


@target("pcap-reader", corpus="pcap-", allowed=(CaptureError,), seeds=PCAP_SEEDS)
def fuzz_pcap_reader(data: bytes):
    """pcap/pcapng reading, TCP reassembly and session judging on a whole file (raises only CaptureError)."""
    result = parse_capture_bytes(data)
    return (result.packets > 0, len(result.sessions),
            tuple(sorted({f.id for s in result.sessions for f in s.findings})))


def _pcapng_parts() -> tuple[bytes, bytes, bytes]:
    """(section header, interface block body before options, every block after the IDB) of the
    sample capture auth-plain-25.pcap rewritten as pcapng (tests/capture_tools.py)."""
    from tests.capture_tools import CAPTURES, rewrite

    data = rewrite(CAPTURES / "auth-plain-25.pcap", pcapng=True)
    shb_length = int.from_bytes(data[4:8], "little")
    idb_length = int.from_bytes(data[shb_length + 4:shb_length + 8], "little")
    idb = data[shb_length:shb_length + idb_length]
    return data[:shb_length], idb[8:16], data[shb_length + idb_length:]


PCAPNG_PARTS = _pcapng_parts()
PCAPNG_OPTION_SEEDS = (
    b"", b"\x09\x00\x01\x00\x06\x00\x00\x00", b"\x09\x00\x01\x00\x09\x00\x00\x00",
    b"\x09\x00\x01\x00\x00\x00\x00\x00", b"\x09\x00\x01\x00\x80\x00\x00\x00",
    b"\x09\x00\x01\x00\xff\x00\x00\x00", b"\x0e\x00\x08\x00" + (2**62).to_bytes(8, "little"),
    b"\x0e\x00\x08\x00" + (-(2**40)).to_bytes(8, "little", signed=True),
    b"\x02\x00\x04\x00eth0\x09\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00\x00",
    b"\x01\x00\x05\x00hello\x00\x00\x00\x00\x00\x00\x00",
)


@target("pcapng-options", corpus="pcapng-opt-", allowed=(CaptureError,), seeds=PCAPNG_OPTION_SEEDS)
def fuzz_pcapng_options(data: bytes):
    """pcapng Interface Description Block options (if_tsresol, if_tsoffset, ...; pcapng §4.2) in front
    of a real capture's packets: raises only CaptureError, and times stay printable."""
    shb, head, rest = PCAPNG_PARTS
    body = head + data + b"\x00" * (-len(data) % 4)
    length = 12 + len(body)
    idb = (1).to_bytes(4, "little") + length.to_bytes(4, "little") + body + length.to_bytes(4, "little")
    result = parse_capture_bytes(shb + idb + rest)
    from inspector.render.replay_output import render_replay

    render_replay(result)
    return (len(result.sessions), result.packets > 0,
            tuple(sorted({f.id for s in result.sessions for f in s.findings})))


# The AUTH exchange, server side fuzzed, with secrets planted: the server's bytes may hold @E<n>@,
# replaced by the n-th echo form of what the client sent (the secret, its encodings, the CRAM digest,
# the SCRAM proof, the whole AUTH line). Whatever the server does, no form of a secret may survive
# into the text transcript, the chunk view, the JSON bytes or an error message.
AUTH_PASSWORD = "pw-fuzz-\\'\"\xa0" + "7" * 24   # backslash, quotes, NBSP: escaped forms differ
AUTH_TOKEN = "tok-fuzz-" + "8" * 40
AUTH_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER")
AUTH_SEEDS = (
    b"334 \r\n535 5.7.8 @E0@\r\n", b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n535-@E1@\r\n535 @E2@\r\n",
    b"334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\r\n535 5.7.8 @E5@ @E6@\r\n",
    b"334 cj1meXtvbm9uY2VzZXJ2ZXIscz1RU0ZYLGk9NDA5Ng==\r\n535 @E7@\r\n",
    b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n535 5.7.8 @E3@\n",
    b"535 5.7.8 " + b"@E4@" * 3 + b"\r\n", b"334 @E8@\r\n", b"235 2.7.0 ok @E9@\r\n",
)


def _auth_forms(secret: bytes, sent: list[bytes]) -> list[bytes]:
    from tests.canary import leak_forms

    forms = list(leak_forms(secret.decode("utf-8", "surrogateescape"), "fuzzuser").values())
    return forms + sent


_AUTH_REDACTOR = None


@target("auth-exchange", corpus="auth-", seeds=AUTH_SEEDS)
def fuzz_auth_exchange(data: bytes):
    """SMTP AUTH from the client's side (RFC 4954 §4) against fuzzed server bytes echoing planted
    secrets: the mechanisms never raise but SaslError, and no secret reaches any rendering."""
    import base64 as b64
    import binascii as ba
    import re

    from inspector import redaction
    from inspector.render.json_output import transcript_entry
    from inspector.render.text import render_transcript
    from inspector.smtp import sasl
    from inspector.transcript import Transcript

    global _AUTH_REDACTOR
    if _AUTH_REDACTOR is None:
        _AUTH_REDACTOR = redaction.Redactor([AUTH_PASSWORD, AUTH_TOKEN])
    name = AUTH_MECHANISMS[data[0] % len(AUTH_MECHANISMS)] if data else "PLAIN"
    creds = sasl.Credentials("fuzzuser", password=sasl.Secret(AUTH_PASSWORD), token=sasl.Secret(AUTH_TOKEN))
    mechanism = sasl.make_mechanism(name, creds, host="fuzz.example", port=587)
    redactor = redaction.Redactor()
    redactor._forms = _AUTH_REDACTOR._forms
    transcript = Transcript(redactor=redactor)
    sent: list[bytes] = []
    secret = (AUTH_TOKEN if sasl.needs(name) == "token" else AUTH_PASSWORD).encode()
    errors = []

    def send(message) -> None:
        wire = b64.b64encode(message.data) if message.data else b""
        if message.carries_secret:
            redactor.add(wire)
            redactor.add(message.data)
            for part in message.secret_parts:
                redactor.add_secret(part)
            sent.extend([wire, message.data, *message.secret_parts])
        transcript.sent(wire + b"\r\n", tls=True, step="auth")

    try:
        first = mechanism.start()
        if first is not None:
            send(first)
    except sasl.SaslError as exc:
        errors.append(str(exc))
    forms = _auth_forms(secret, sent)
    server = re.sub(rb"@E(\d)@", lambda m: (forms + sent)[int(m.group(1)) % len(forms + sent)] if sent
                    or forms else b"", data[1:])
    parser = ReplyParser(max_line_length=4096, max_lines=64)
    for piece in pieces(server):
        transcript.received(piece, tls=True, step="auth")
        try:
            replies = parser.feed(piece)
        except RemoteProtocolError as exc:
            errors.append(str(exc))
            break
        for reply in replies:
            if reply.code != 334:
                continue
            text = reply.lines[-1].text
            try:
                challenge = b64.b64decode(text, validate=True)
                send(mechanism.challenge(challenge))
                transcript.note(f"decoded: {mechanism.describe_challenge(challenge)}", tls=True, step="auth")
            except (ba.Error, ValueError):
                errors.append(f"334 challenge is not base64: {redaction.quoted(redactor.scrub(text))}")
            except sasl.SaslError as exc:
                errors.append(str(exc))
    entries = transcript.freeze()
    outputs = [render_transcript(entries), render_transcript(entries, chunks=True),
               json.dumps([transcript_entry(e) for e in entries]), *map(redactor.scrub, errors)]
    blob = "\n".join(outputs).encode("utf-8", "surrogateescape")
    for form in _auth_forms(secret, sent):
        if len(form) >= redaction.MIN_FORM:
            assert form not in blob, f"a form of the secret leaked: {form[:12]!r}..."
    return (name, len(entries), bool(errors), any(e.redacted for e in entries))


# ------------------------------------------------------------------------ mutation

TOKENS = (b"\r\n", b"\n", b"\r", b"-", b" ", b"250-", b"250 ", b"220 ", b"STARTTLS", b"AUTH=",
          b"AUTH ", b"SIZE ", b"XXXXXXXA", b"\x00", b"\xff", b"\x16\x03\x03", b"\x16\x03\x01\x00",
          b"\x02\x00\x00", b"\x00\x33", b"\x00\x2b", b"\x0c\x03\x00\x1d", b"\xff\xff", b"9" * 12,
          b"\x09\x00\x01\x00", b"\x0e\x00\x08\x00", b"\x00\x00\x00\x00", b"@E0@", b"@E4@", b"@E7@",
          b"334 ", b"535 5.7.8 ", b"\\", b"\x1b[", b"\xe2\x80\xae")


def mutate(data: bytes, corpus: list[bytes], rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 5))):
        op = rng.randrange(9)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            i = min(pos, len(buf) - 1)
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            interesting = (0, 0xFF, 0x7F, 0x80, 10, 13, 45, 32, rng.randrange(256))
            buf[min(pos, len(buf) - 1)] = rng.choice(interesting)
        elif op == 2:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 3 and buf:
            end = min(len(buf), pos + rng.randrange(1, 64))
            del buf[pos:end]
        elif op == 4 and buf:
            start = rng.randrange(len(buf))
            chunk = buf[start:start + rng.randrange(1, 128)]
            buf[pos:pos] = chunk * rng.randrange(1, 8)
        elif op == 5:
            other = rng.choice(corpus)
            cut = rng.randrange(len(other) + 1)
            buf = buf[:pos] + other[cut:]
        elif op == 6:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        elif op == 7 and len(buf) > 1:
            buf = buf[:pos]
        elif op == 8 and len(buf) >= 2:  # a length field set to something odd
            i = rng.randrange(len(buf) - 1)
            buf[i:i + 2] = rng.choice((0, 1, 0x4000, 0x4801, 0xFFFF, len(buf))).to_bytes(2, "big")
    return bytes(buf[:MAX_LENGTH])


def load_corpus(t: Target) -> list[bytes]:
    files = sorted(CORPUS_DIR.glob(f"{t.corpus_prefix}*.bin")) if CORPUS_DIR.is_dir() else []
    corpus = [*t.seeds, *(f.read_bytes() for f in files)]
    return corpus or [b""]


def save_crash(name: str, data: bytes) -> pathlib.Path:
    CRASH_DIR.mkdir(exist_ok=True)
    path = CRASH_DIR / f"{name}-{hashlib.sha1(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    return path


def fuzz_one(name: str, inputs: int, seed: int) -> tuple[str, int, int, list[str]]:
    """Run ``inputs`` inputs against one target; returns (name, inputs, corpus size, crash reports)."""
    t = TARGETS[name]
    rng = random.Random(seed)
    corpus = load_corpus(t)
    seen: set = set()
    crashes: list[str] = []
    for i in range(inputs):
        data = corpus[i] if i < len(corpus) else mutate(rng.choice(corpus), corpus, rng)
        try:
            signature = t.run(data)
        except t.allowed:
            signature = ("raised",)
        except Exception:  # noqa: BLE001 - every other exception is the finding
            path = save_crash(name, data)
            crashes.append(f"{name}: {path}\n{traceback.format_exc()}")
            if len(crashes) >= 5:
                return name, i + 1, len(corpus), crashes
            continue
        try:
            new = signature not in seen
        except TypeError:
            new = False
        if new:
            seen.add(signature)
            if len(corpus) < MAX_CORPUS:
                corpus.append(data)
    return name, inputs, len(corpus), crashes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="total inputs, split over targets")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS),
                        help="fuzz only this target (repeatable; default all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)
    if args.list:
        for t in TARGETS.values():
            print(f"{t.name:20} {t.run.__doc__.strip().splitlines()[0]}")
        return 0

    names = args.target or list(TARGETS)
    slices = max(args.jobs, 1) * 2
    per_slice = args.inputs // (len(names) * slices)
    leftover = args.inputs - per_slice * len(names) * slices
    work = [(name, per_slice + (1 if k < leftover else 0), args.seed * 1000 + k)
            for k, (name, _s) in enumerate((n, s) for n in names for s in range(slices))]
    started = time.monotonic()
    totals: dict[str, int] = dict.fromkeys(names, 0)
    crashes: list[str] = []
    if args.jobs > 1:
        with multiprocessing.Pool(args.jobs) as pool:
            results = pool.starmap(fuzz_one, work)
    else:
        results = [fuzz_one(*job) for job in work]
    for name, count, _corpus, found in results:
        totals[name] += count
        crashes += found
    elapsed = time.monotonic() - started
    for name in names:
        print(f"{name:20} {totals[name]:>10,} inputs")
    total = sum(totals.values())
    print(f"{'total':20} {total:>10,} inputs in {elapsed:.1f} s ({total / elapsed:,.0f}/s, "
          f"{args.jobs} jobs, seed {args.seed}); crashes: {len(crashes)}")
    for report in crashes:
        print(report, file=sys.stderr)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
