"""Rules: pure functions from events and facts to findings.

Every finding id in the catalogue (``inspector.findings``) is decided by exactly
one function in exactly one module of this package; the catalogue entry names
that function. Rules take events or frozen facts and return findings; they do
no I/O and know nothing of sockets, captures or renderers, so probe, replay,
interference, discover, send and scan all judge with the same code.

One module per topic: ``session`` (greeting, EHLO, STARTTLS, replies; its
``judge_event`` judges one event of the stream the client connection and the
replay observer both emit), ``plaintext``, ``tls``, ``auth``, ``auth_all``,
``certificates``, ``tls_audit``, ``packets``, ``interference``, ``discovery``,
``transaction`` (``send``: MAIL, RCPT, DATA/BDAT).
Across findings, :class:`inspector.findings.FindingList` is the one
de-duplication policy; a catalogue entry's ``one_sided`` says when only a live
probe or only a replay can see its id. ``tests/test_rules.py`` checks that each
id's string literal appears in exactly one module here, inside the function
its catalogue entry names.
"""
