"""``smtp-inspector discover``: find and verify submission settings (RFC 6186, RFC 8314), plus
the domain's inbound checks (MX, MTA-STS RFC 8461, DANE RFC 7672).

Modules: dns (dnspython queries), https (stdlib fetch), autoconfig, mta_sts
(pure parsers), candidates, ranking (pure), probing (the core session probe,
staggered threads), engine (puts them together). DANE TLSA matching is in
:mod:`inspector.certs`.
"""
