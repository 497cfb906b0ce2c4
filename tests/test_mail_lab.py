"""The mail lab itself, checked with the standard library's smtplib (a peer
independent of the inspector): greetings, STARTTLS, certificate, AUTH."""

from __future__ import annotations

import smtplib
import ssl

import pytest

pytestmark = pytest.mark.postfix

TIMEOUT = 10


def connect(lab, service: str = "submission") -> smtplib.SMTP:
    smtp = smtplib.SMTP(timeout=TIMEOUT)
    code, banner = smtp.connect(lab.host, lab.ports[service])
    assert code == 220, banner
    # smtplib uses the connect() host for SNI and the certificate check; the
    # lab's certificate is for its server name, so check against that.
    smtp._host = lab.servername
    return smtp


def starttls(lab, smtp: smtplib.SMTP) -> None:
    smtp.ehlo("client.lab.test")
    assert smtp.has_extn("starttls")
    context = lab.ssl_context()
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    code, _ = smtp.starttls(context=context)
    assert code == 220
    smtp.ehlo("client.lab.test")


def test_submission_greets_and_offers_starttls_but_no_auth_before_tls(mail_lab):
    smtp = connect(mail_lab)
    try:
        code, _ = smtp.ehlo("client.lab.test")
        assert code == 250
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")
    finally:
        smtp.quit()


def test_submission_refuses_mail_before_starttls(mail_lab):
    smtp = connect(mail_lab)
    try:
        smtp.ehlo("client.lab.test")
        code, _ = smtp.mail("alice@lab.test")
        assert code == 530
    finally:
        smtp.quit()


def test_submission_certificate_verifies_and_auth_is_offered_after_starttls(mail_lab):
    smtp = connect(mail_lab)
    try:
        starttls(mail_lab, smtp)
        cert = smtp.sock.getpeercert()
        assert ("DNS", mail_lab.servername) in cert["subjectAltName"]
        mechanisms = smtp.esmtp_features["auth"].upper().split()
        assert "PLAIN" in mechanisms and "LOGIN" in mechanisms
    finally:
        smtp.quit()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_alice_logs_in(mail_lab, mechanism):
    user, password = mail_lab.users[0]
    assert user == "alice@lab.test"
    smtp = connect(mail_lab)
    try:
        starttls(mail_lab, smtp)
        smtp.user, smtp.password = user, password
        method = {"PLAIN": smtp.auth_plain, "LOGIN": smtp.auth_login,
                  "CRAM-MD5": smtp.auth_cram_md5}[mechanism]
        code, _ = smtp.auth(mechanism, method)
        assert code == 235
    finally:
        smtp.quit()


def test_wrong_password_is_refused_with_535(mail_lab):
    user, password = mail_lab.users[0]
    smtp = connect(mail_lab)
    try:
        starttls(mail_lab, smtp)
        smtp.user, smtp.password = user, password + "-wrong"
        with pytest.raises(smtplib.SMTPAuthenticationError) as excinfo:
            smtp.auth("PLAIN", smtp.auth_plain)
        assert excinfo.value.smtp_code == 535
    finally:
        smtp.quit()


def test_submissions_port_465_speaks_tls_first(mail_lab):
    smtp = smtplib.SMTP_SSL(timeout=TIMEOUT, context=mail_lab.ssl_context())
    smtp._host = mail_lab.servername  # certificate check against the server name
    code, banner = smtp.connect(mail_lab.host, mail_lab.ports["submissions"])
    try:
        assert code == 220, banner
        smtp.ehlo("client.lab.test")
        assert "PLAIN" in smtp.esmtp_features["auth"].upper().split()
    finally:
        smtp.quit()
