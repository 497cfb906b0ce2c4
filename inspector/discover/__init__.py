"""``smtp-inspector discover``: find and verify submission settings (RFC 6186, RFC 8314), plus
the domain's inbound checks (MX, MTA-STS RFC 8461, DANE RFC 7672).

Modules: dns (dnspython queries, each answer a lookup state), the fetch (stdlib,
in inspector/net/https.py), autoconfig, mta_sts (pure parsers), sources (answers → source rows),
candidates, ranking (pure), settings (probe → assessment → recommendation),
probing (the core session probe: a queue, best-ranked first), inbound (MX,
TLSA, MTA-STS reports), verdict (the headline), results (frozen dataclasses),
engine (puts them together). The findings: inspector/rules/discovery.py.
"""
