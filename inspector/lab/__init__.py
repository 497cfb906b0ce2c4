"""Built-in lab SMTP server with switchable faults.

Modules: :mod:`.faults` (the fault table, no heavy imports), :mod:`.protocol`
(aiosmtpd's SMTP with the faults), :mod:`.sasl` (accounts and the extra
mechanisms), :mod:`.server` (:class:`LabServer`, its loop thread),
:mod:`.certs` (the lab PKI), :mod:`.run` (``smtp-inspector lab``). The names
below load on first use, so reading the fault table does not load aiosmtpd.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DEMO_PASSWORD": "inspector.lab.sasl",
    "DEMO_USER": "inspector.lab.sasl",
    "FAULTS": "inspector.lab.faults",
    "LabCertificates": "inspector.lab.certs",
    "LabServer": "inspector.lab.server",
    "make_lab_certificates": "inspector.lab.certs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inspector.lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
