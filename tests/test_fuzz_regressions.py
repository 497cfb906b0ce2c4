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
