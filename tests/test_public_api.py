"""The public names of ``inspector`` resolve, and importing the package stays light."""

import subprocess
import sys

import inspector


def test_every_exported_name_resolves():
    for name in inspector.__all__:
        assert getattr(inspector, name) is not None


def test_unknown_name_is_an_attribute_error():
    try:
        inspector.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_light():
    heavy = "('ssl', 'cryptography', 'scapy', 'tabulate')"
    code = f"import sys, inspector; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
