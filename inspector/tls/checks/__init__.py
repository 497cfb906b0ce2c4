"""TLS vulnerability and protocol-feature checks, sans I/O.

:mod:`.features` reads what the enumeration's ServerHellos already say
(renegotiation_info, extended master secret, encrypt-then-MAC, compression,
session ticket, status_request and the stapled OCSP response, SCTs,
heartbeat, ServerKeyExchange signature schemes); :mod:`.attacks` builds the
deliberately malformed records (Heartbleed, CCS injection, ROBOT) and reads
the server's answer to them; :mod:`.ocsp` judges a stapled response. The
connections are opened by :mod:`inspector.probes.tls_checks`; findings are
decided in :mod:`inspector.rules.tls_vulnerabilities`.
"""
