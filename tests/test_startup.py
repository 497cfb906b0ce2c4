"""Start-up stays light (issue 19 case 14): what ``probe`` and ``send`` import, and the suite table.

Nothing here is timed (the numbers are bench/probe_vs_swaks.py's and bench/send_vs_swaks.py's):
the tests assert which modules a command loads, so they cannot be flaky.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

from inspector.tls import suites

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("gen_suites", ROOT / "tools" / "gen_suites.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_suite_table_is_what_the_generator_writes():
    """tools/gen_suites.py's output for the table's rows is the file, byte for byte (no hand edits)."""
    assert (ROOT / "inspector" / "tls" / "suites.py").read_text() == _generator().render(list(suites.ROWS))


def test_the_generator_derives_every_row_from_the_iana_name():
    """kx, auth, cipher, bits, mac, versions and SCSV come from the name (RFC 5246 §A.5, RFC 8446 §B.4)."""
    classify = _generator().classify
    wrong = []
    for row in suites.ROWS:
        f = classify(row[0], row[1])
        derived = (f["kx"], f["auth"], f["cipher"], f["bits"], f["mac"], f["min_version"],
                   f["max_version"], f["scsv"])
        if derived != row[3:10] + (row[11],):
            wrong.append((row[1], derived))
    assert wrong == [] and len(suites.ROWS) >= 350


def test_the_suite_objects_are_built_on_first_use_only():
    import subprocess

    code = ("import sys, inspector.tls.suites as s; built = 'SUITES' in vars(s); "
            "assert s.BY_CODE[0x1301] is s.SUITES[[x.code for x in s.SUITES].index(0x1301)]; "
            "assert s.describe_code(0x1301).iana_name == 'TLS_AES_128_GCM_SHA256'; "
            "assert s.describe_code(0xFEFE).iana_name == 'UNASSIGNED_0xFEFE'; print(built)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
