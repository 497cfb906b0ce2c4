"""One judge: every finding id is decided in one function of one rules module, named by the catalogue.

The issue behind this ("one judge") found ids decided in two or more files
that had drifted apart; these tests keep each id's string literal in exactly
one module under ``inspector/rules/`` (the catalogue and the JSON schemas
aside), inside the very function the catalogue names.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib

import pytest

from inspector.findings import CATALOGUE, FindingList, make_finding

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "inspector"
#: Where an id may be written besides its rule: the catalogue itself.
CATALOGUE_FILE = PACKAGE / "findings.py"
#: The lab's fault table names the finding each fault is meant to show (``lab --help``, the
#: README): documentation of the lab, not a decision (checked against the catalogue below).
DOCUMENTATION = {PACKAGE / "lab" / "faults.py"}


def _string_literals(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str)}


LITERALS = {path: _string_literals(path) for path in sorted(PACKAGE.rglob("*.py"))
            if path != CATALOGUE_FILE and path not in DOCUMENTATION}


@pytest.mark.parametrize("finding_id", sorted(CATALOGUE))
def test_each_id_is_written_in_exactly_one_rules_module(finding_id):
    holders = [path.relative_to(PACKAGE).as_posix() for path, literals in LITERALS.items()
               if finding_id in literals]
    assert len(holders) == 1 and holders[0].startswith("rules/"), (finding_id, holders)


@pytest.mark.parametrize("finding_id", sorted(CATALOGUE))
def test_the_catalogue_names_the_function_that_decides_the_id(finding_id):
    rule = CATALOGUE[finding_id].rule
    module_name, _, function_name = rule.rpartition(".")
    module = importlib.import_module(f"inspector.rules.{module_name}")
    function = getattr(module, function_name)
    assert inspect.isfunction(function), rule
    assert f'"{finding_id}"' in inspect.getsource(function), (finding_id, rule)


def test_rules_do_no_io():
    """Rules are pure: no socket, ssl, scapy, asyncio, threading, subprocess or open()."""
    forbidden = {"socket", "ssl", "scapy", "asyncio", "threading", "subprocess", "urllib", "http"}
    for path in sorted((PACKAGE / "rules").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [(node.module or "").split(".")[0]]
            else:
                names = []
            assert not forbidden & set(names), (path.name, names)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", path.name


def test_one_deduplication_policy():
    """Equal id and evidence: kept once; at most PER_ID findings of one id."""
    found = FindingList()
    found.add(make_finding("reply-malformed", "same"))
    found.add(make_finding("reply-malformed", "same"))
    for n in range(10):
        found.add(make_finding("reply-malformed", f"other {n}"))
    found.add(None)
    assert len(found) == FindingList.PER_ID
    assert [f.evidence for f in found][:2] == ["same", "other 0"]


def test_the_lab_fault_table_names_catalogue_ids():
    from inspector.lab.faults import FAULT_TABLE

    for fault in FAULT_TABLE:
        assert fault.reported_as.split()[0] in CATALOGUE, fault
