"""Built-in lab SMTP server with switchable faults (see :mod:`inspector.lab.server`)."""

from inspector.lab.certs import LabCertificates, make_lab_certificates
from inspector.lab.server import DEMO_PASSWORD, DEMO_USER, FAULTS, LabServer

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USER",
    "FAULTS",
    "LabCertificates",
    "LabServer",
    "make_lab_certificates",
]
