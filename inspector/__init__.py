"""smtp-inspector: a network-level SMTP/TLS protocol inspector.

The names below are the public API; they load on first use (PEP 562) so
that ``import inspector`` and the command line stay fast.

- ``run_probe(ProbeConfig(...)) -> ProbeResult``: one step-by-step session.
- ``ClientConnection``, ``ReplyParser``, ``Capabilities``: the sans-I/O core.
- ``Finding``, ``Severity``, ``CATALOGUE``: findings; ``ExitCode``: exit codes.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "run_probe": "inspector.probes.session",
    "ProbeConfig": "inspector.probes.session",
    "ProbeResult": "inspector.probes.session",
    "ClientConnection": "inspector.smtp.connection",
    "ReplyParser": "inspector.smtp.reply",
    "Reply": "inspector.smtp.reply",
    "Capabilities": "inspector.smtp.capabilities",
    "Finding": "inspector.findings",
    "Severity": "inspector.findings",
    "CATALOGUE": "inspector.findings",
    "ExitCode": "inspector.exitcodes",
    "InspectorError": "inspector.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inspector' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
