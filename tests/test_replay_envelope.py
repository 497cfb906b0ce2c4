"""The envelope of each transaction (inspector/replay/envelope.py), from a session's bytes.

The dialog is Postfix 3.7's with CHUNKING (RFC 3030): a transaction ended by
RSET, a rejected MAIL, then one sent with BDAT in two chunks; fed at every
split of the client's and the server's bytes, the envelope must not change.
"""

from __future__ import annotations

from inspector.replay.session import SmtpSession, TcpStats

DIALOG = [
    (False, b"220 mx.example.org ESMTP Postfix\r\n"),
    (True, b"EHLO c.example.org\r\n"),
    (False, b"250-mx.example.org\r\n250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n"),
    (True, b"MAIL FROM:<> BODY=8BITMIME\r\n"), (False, b"250 2.1.0 Ok\r\n"),
    (True, b"RCPT TO:<a@example.org> NOTIFY=NEVER\r\n"), (False, b"250 2.1.5 Ok\r\n"),
    (True, b"RSET\r\n"), (False, b"250 2.0.0 Ok\r\n"),
    (True, b"MAIL FROM:<spam@bad.example>\r\n"),
    (False, b"554 5.7.1 <spam@bad.example>: Sender address rejected\r\n"),
    (True, b"MAIL FROM:<bob@example.org>\r\n"), (False, b"250 2.1.0 Ok\r\n"),
    (True, b"RCPT TO:<c@example.org>\r\n"), (False, b"250 2.1.5 Ok\r\n"),
    (True, b"BDAT 10\r\n0123456789"), (False, b"250 2.0.0 Ok: 10 bytes\r\n"),
    (True, b"BDAT 5 LAST\r\nabcde"), (False, b"250 2.0.0 Ok: queued as 3F2A1B\r\n"),
    (True, b"QUIT\r\n"), (False, b"221 2.0.0 Bye\r\n"),
]


def _envelope(split: int):
    session = SmtpSession(0, ("192.0.2.1", 40000), ("192.0.2.25", 25), 0.0)
    for from_client, data in DIALOG:
        feed = session.client_data if from_client else session.server_data
        for piece in (data[:split], data[split:]) if split else (data,):
            if piece:
                feed(1.0, piece)
    return session.result(end=2.0, packets=1, closed="fin", tcp=TcpStats()).transactions


def test_envelope_of_rset_rejected_and_bdat_transactions():
    first, rejected, sent = _envelope(0)
    assert (first.mail_from, first.parameters, first.ended) == ("", ("BODY=8BITMIME",), "rset")
    assert [(r.address, r.parameters) for r in first.recipients] == [("a@example.org", ("NOTIFY=NEVER",))]
    assert first.data_command is None
    assert rejected.mail_from == "spam@bad.example" and rejected.mail_reply.code == 554
    assert rejected.mail_reply.enhanced == "5.7.1" and rejected.ended == "replied"
    assert sent.data_command == "BDAT" and sent.size == 15
    assert sent.final_reply.text == "2.0.0 Ok: queued as 3F2A1B" and sent.ended == "replied"


def test_envelope_does_not_depend_on_segmentation():
    whole = _envelope(0)
    for split in range(1, max(len(d) for _, d in DIALOG)):
        assert _envelope(split) == whole, split
