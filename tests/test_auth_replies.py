"""What an AUTH reply means, for replies real servers send (issue 13, case 5).

The reply code decides the class of the answer (RFC 3463 §3, RFC 4954 §6); the
enhanced status code only refines it. Each reply below is the exact text of a
real server: Postfix 3.7 with Dovecot SASL (the running mail lab), Dovecot's
submission service, Exim 4, OpenSMTPD 6.8 (strings of the Debian binary),
sendmail 8 (``LOGAUTHFAIL`` in srvrsmtp.c), Haraka, Microsoft 365 and Gmail
(texts they are documented and widely logged to send).
"""

from __future__ import annotations

import pytest

from inspector.smtp.auth_replies import explain
from inspector.smtp.reply import ReplyParser

CREDENTIALS = "bad credentials"
TLS_FIRST = "TLS first"
REQUIRED = "authentication required"
TEMPORARY = "temporary"
WEAK = "too weak"
ENCRYPTION = "encryption required"
NO_MECHANISM = "does not support this mechanism"
SEQUENCE = "bad sequence"
CANCELLED = "cancelled"
TRANSITION = "password transition"
SUCCESS = "authentication succeeded"
TRUST = "trust relationship"

REAL_REPLIES = [
    # Postfix 3.7 + Dovecot SASL (the mail lab)
    ("postfix", b"535 5.7.8 Error: authentication failed: authentication failure\r\n", CREDENTIALS),
    ("postfix", b"530 5.7.0 Must issue a STARTTLS command first\r\n", TLS_FIRST),
    ("postfix", b"503 5.5.1 Error: already authenticated\r\n", SEQUENCE),
    ("postfix", b"504 5.5.4 Unsupported authentication mechanism\r\n", NO_MECHANISM),
    ("postfix", b"501 5.7.0 Authentication aborted\r\n", CANCELLED),
    ("postfix", b"454 4.7.0 Temporary authentication failure: Connection lost to authentication "
                b"server\r\n", TEMPORARY),
    ("postfix", b"235 2.7.0 Authentication successful\r\n", SUCCESS),
    # Dovecot submission-login
    ("dovecot", b"535 5.7.8 Authentication failed\r\n", CREDENTIALS),
    ("dovecot", b"538 5.7.11 Plaintext authentication disallowed on non-secure (SSL/TLS) "
                b"connections.\r\n", ENCRYPTION),
    ("dovecot", b"454 4.7.0 Temporary authentication failure\r\n", TEMPORARY),
    # Exim 4 (no enhanced codes unless configured)
    ("exim", b"535 Incorrect authentication data\r\n", CREDENTIALS),
    ("exim", b"435 Unable to authenticate at present\r\n", TEMPORARY),
    ("exim", b"503 AUTH command used when not advertised\r\n", SEQUENCE),
    ("exim", b"504 Unsupported authentication mechanism\r\n", NO_MECHANISM),
    # OpenSMTPD 6.8
    ("opensmtpd", b"535 Authentication failed\r\n", CREDENTIALS),
    ("opensmtpd", b"530 5.5.1 Invalid command: Must issue a STARTTLS command first\r\n", TLS_FIRST),
    ("opensmtpd", b"503 5.5.1 Invalid command: Already authenticated\r\n", SEQUENCE),
    ("opensmtpd", b'504 5.5.4 Invalid command arguments: AUTH method "NTLM" not supported\r\n',
     NO_MECHANISM),
    # sendmail 8: the reply of issue 13 case 5
    ("sendmail", b"535 5.7.0 authentication failed\r\n", CREDENTIALS),
    ("sendmail", b"504 5.3.3 AUTH mechanism NTLM not available\r\n", NO_MECHANISM),
    ("sendmail", b"503 5.5.0 Already Authenticated\r\n", SEQUENCE),
    ("sendmail", b"501 5.0.0 AUTH aborted\r\n", CANCELLED),
    ("sendmail", b"530 5.7.0 Authentication required\r\n", REQUIRED),
    # Haraka
    ("haraka", b"535 5.7.8 Authentication failed\r\n", CREDENTIALS),
    ("haraka", b"504 5.5.4 Unrecognized authentication type\r\n", NO_MECHANISM),
    # Microsoft 365 / Exchange
    ("exchange", b"535 5.7.3 Authentication unsuccessful\r\n", CREDENTIALS),
    ("exchange", b"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
                 b"for the Tenant.\r\n", CREDENTIALS),
    ("exchange", b"504 5.7.4 Unrecognized authentication type\r\n", NO_MECHANISM),
    # Gmail-like
    ("gmail", b"535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
              b"535 5.7.8  https://support.google.com/mail/?p=BadCredentials\r\n", CREDENTIALS),
    ("gmail", b"534-5.7.9 Application-specific password required. For more information, go to\r\n"
              b"534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor\r\n", WEAK),
    ("gmail", b"534-5.7.14 <https://accounts.google.com/signin/continue> Please log in via your "
              b"web browser and\r\n534 5.7.14 then try again.\r\n", TRUST),
    ("gmail", b"454 4.7.0 Too many login attempts, please try again later.\r\n", TEMPORARY),
    ("gmail", b"530 5.7.0 Must issue a STARTTLS command first.\r\n", TLS_FIRST),
    # RFC 4954 §6 examples
    ("rfc4954", b"432 4.7.12 A password transition is needed\r\n", TRANSITION),
]


def parse(raw: bytes):
    [reply] = ReplyParser().feed(raw)
    return reply


@pytest.mark.parametrize("server, raw, words", REAL_REPLIES,
                         ids=[f"{s}-{r[:10].decode()}" for s, r, _ in REAL_REPLIES])
def test_real_server_reply_is_explained_by_its_reply_code(server, raw, words):
    reply = parse(raw)
    explanation, rule = explain(reply.code, reply.enhanced_code, reply.text)

    assert words in explanation, (server, explanation)
    assert rule.startswith("RFC")


def test_535_with_generic_security_code_is_a_credentials_failure_not_auth_required():
    """sendmail's ``535 5.7.0``: 5.7.0 alone would read as 530's "authentication required"."""
    explanation, _ = explain(535, "5.7.0")

    assert explanation.startswith(CREDENTIALS)
    assert REQUIRED not in explanation


@pytest.mark.parametrize("code, enhanced", [(535, "4.7.0"), (454, "5.7.8"), (250, "5.7.8")])
def test_enhanced_code_of_another_class_does_not_decide(code, enhanced):
    """RFC 3463 §2 / RFC 2034 §4: the enhanced class must match the reply's; a mismatch is ignored."""
    explanation, _ = explain(code, enhanced)

    assert "ignored" in explanation
    if code == 454:
        assert TEMPORARY in explanation and CREDENTIALS not in explanation
    if code == 250:
        assert CREDENTIALS not in explanation


def test_unknown_code_is_explained_by_its_class_and_enhanced_subject():
    explanation, rule = explain(554, "5.7.1")

    assert "permanent failure" in explanation and "security or policy" in explanation
    assert "RFC 3463" in rule
