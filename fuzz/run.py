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


# ------------------------------------------------------------------------ mutation

TOKENS = (b"\r\n", b"\n", b"\r", b"-", b" ", b"250-", b"250 ", b"220 ", b"STARTTLS", b"AUTH=",
          b"AUTH ", b"SIZE ", b"XXXXXXXA", b"\x00", b"\xff", b"\x16\x03\x03", b"\x16\x03\x01\x00",
          b"\x02\x00\x00", b"\x00\x33", b"\x00\x2b", b"\x0c\x03\x00\x1d", b"\xff\xff", b"9" * 12)


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
