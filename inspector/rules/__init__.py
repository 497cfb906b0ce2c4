"""Rules: pure functions from events and facts to findings.

Every finding id in the catalogue (``inspector.findings``) is decided by exactly
one function in exactly one module of this package; the catalogue entry names
that function. Rules take events or frozen facts and return findings; they do
no I/O and know nothing of sockets, captures or renderers, so probe, replay,
interference, discover, send and scan all judge with the same code.

One module per topic (session, tls, certificates, auth, discovery, ...).
"""
