"""Inputs the fuzzer (fuzz/run.py) found, replayed on every run, and a short smoke run of the harness.

Each file in fuzz/regressions/ is named ``<target>-<sha1>.bin``; it must now
go through its target without an exception outside the target's allowed ones
and without breaking the target's invariants (no byte lost or invented).
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

from inspector.tls.records import NotTlsRecord, RecordFramer

FUZZ_DIR = pathlib.Path(__file__).resolve().parent.parent / "fuzz"
REGRESSIONS = sorted((FUZZ_DIR / "regressions").glob("*.bin"))


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("fuzz_run", FUZZ_DIR / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_run"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_there_are_regression_inputs():
    assert REGRESSIONS, "fuzz/regressions/ should hold the inputs earlier fuzz runs found"


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_replay_found_input(harness, path):
    name = path.name.rsplit("-", 1)[0]
    target = harness.TARGETS[name]
    try:
        target.run(path.read_bytes())
    except target.allowed:
        pass


def test_framer_keeps_records_cut_before_a_bad_header():
    """Found by fuzz/run.py (tls-framer-168a8bdefaf64158): a record, then a non-TLS header, in one
    feed; the record was deleted from the buffer and lost with the ValueError."""
    good = b"\x17\x03\x00\x00\x00"              # an empty application_data record
    bad = b"\x00\x00\x00\x00\x03\x00\x00"       # content type 0 is no TLS record
    framer = RecordFramer()
    with pytest.raises(NotTlsRecord) as info:
        framer.feed(good + bad)
    assert [(r.content_type, r.version, r.body) for r in info.value.records] == [(23, 0x0300, b"")]
    assert framer.buffered == len(bad)
    assert isinstance(info.value, ValueError)  # callers catching ValueError still work


def test_harness_smoke_run(harness, capsys):
    """A short run over every registered target: the harness works and finds nothing new."""
    assert set(harness.TARGETS) >= {"reply-parser", "capabilities", "client-connection", "tls-framer"}
    assert harness.main(["--inputs", "4000", "--jobs", "1", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "total" in out and "4,000 inputs" in out and "crashes: 0" in out


def test_pcapng_time_options_that_crashed_replay_are_corrupt_files(harness):
    """Issue 21: if_tsresol 0 or 2^0 (one tick = 1 s) and a huge if_tsoffset put packet times past
    year 9999 (OverflowError, errno 75, exit 3 before); now a CaptureError (exit 21)."""
    import struct

    from inspector.replay import CaptureError

    for options in (struct.pack("<HHB3x", 9, 1, 0), struct.pack("<HHB3x", 9, 1, 0x80),
                    struct.pack("<HHq", 14, 8, 2**62)):
        with pytest.raises(CaptureError, match="timestamp out of range|if_tsoffset"):
            harness.TARGETS["pcapng-options"].run(options)


def test_auth_exchange_target_plants_and_finds_no_secret(harness):
    """The AUTH target's own invariant holds on its seeds (no form of a planted secret survives)."""
    for seed in harness.TARGETS["auth-exchange"].seeds:
        for first in range(6):
            harness.TARGETS["auth-exchange"].run(bytes([first]) + seed)
