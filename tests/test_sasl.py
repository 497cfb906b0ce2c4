"""SASL mechanisms, sans I/O: published vectors, scramp's server side as the peer, redaction."""

from __future__ import annotations

import base64
import hashlib
import pickle
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st
from scramp import ScramMechanism
from scramp.core import CBindData

from inspector.errors import LocalProtocolError
from inspector.smtp import commands, sasl
from inspector.smtp.auth_replies import explain
from inspector.smtp.connection import ClientConnection, State
from inspector.smtp.events import AuthChallenge, CommandReply

PW = sasl.Secret("pencil")


def test_secret_never_shows_itself():
    secret = sasl.Secret("hunter2-canary")
    creds = sasl.Credentials("alice", password=secret, token=sasl.Secret("tok-canary"))
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr(creds), str(creds)):
        assert "hunter2" not in text and "tok-canary" not in text
    assert secret.reveal() == "hunter2-canary"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_plain_is_rfc4616_and_shown_redacted():
    message = sasl.Plain("tim", sasl.Secret("tanstaaftanstaaf")).start()
    assert message.data == b"\0tim\0tanstaaftanstaaf"
    assert message.carries_secret
    assert message.shown == "<NUL>tim<NUL>[password]"
    assert "tanstaaf" not in repr(message)


def test_login_answers_username_then_password():
    login = sasl.Login("alice", PW)
    assert login.start() is None
    first = login.challenge(b"Username:")
    assert (first.data, first.carries_secret) == (b"alice", False)
    second = login.challenge(b"Password:")
    assert (second.data, second.carries_secret, second.shown) == (b"pencil", True, "[password]")
    with pytest.raises(sasl.SaslError):
        login.challenge(b"again?")


def test_cram_md5_rfc2195_example():
    # RFC 2195 §2, the worked example.
    cram = sasl.CramMd5("tim", sasl.Secret("tanstaaftanstaaf"))
    answer = cram.challenge(b"<1896.697170952@postoffice.reston.mci.net>")
    assert answer.data == b"tim b913a602c7eda7a495b4e6e7334d3890"
    assert answer.carries_secret and "b913a602" not in answer.shown


def test_xoauth2_format():
    token = sasl.Secret("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    message = sasl.XOAuth2("someuser@example.com", token).start()
    # Google's documented example (developers.google.com/gmail/imap/xoauth2-protocol).
    assert base64.b64encode(message.data) == (
        b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
        b"YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==")
    assert "ya29" not in message.shown


def test_oauthbearer_rfc7628_example():
    # RFC 7628 §4.1: "n,a=user@example.com,^Ahost=server.example.com^Aport=143^A
    # auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==^A^A"
    mech = sasl.OAuthBearer("user@example.com", sasl.Secret("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="),
                            "server.example.com", 143)
    message = mech.start()
    assert message.data == (b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
                            b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01")
    assert base64.b64encode(message.data).startswith(b"bixhPXVzZXJAZXhhbXBsZS5jb20sAWhv")
    reply = mech.challenge(b'{"status":"invalid_token","scope":"example_scope"}')
    assert reply.data == b"\x01"          # RFC 7628 §3.2.3
    assert "invalid_token" in mech.server_error


def test_oauthbearer_escapes_authzid():
    message = sasl.OAuthBearer("a,b=c", sasl.Secret("t0ken-value"), "h", 1).start()
    assert message.data.startswith(b"n,a=a=2Cb=3Dc,")


def _scram_server(name, password, channel_binding=None):
    mechanism = ScramMechanism(name)
    info = mechanism.make_auth_info(password, iteration_count=4096)
    return mechanism.make_server(lambda user: info, channel_binding=channel_binding)


@pytest.mark.parametrize("name", ["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_against_scramp_server(name):
    server = _scram_server(name, "pencil")
    client = sasl.Scram(name, "user", PW)
    server.set_client_first(client.start().data.decode())
    final = client.challenge(server.get_server_first().encode())
    assert final.carries_secret and "p=[client proof, redacted]" in final.shown
    proof = final.data.decode().rpartition(",p=")[2]
    assert proof not in final.shown
    server.set_client_final(final.data.decode())
    empty = client.challenge(server.get_server_final().encode())
    assert empty.data == b"" and client.server_verified
    client.accepted()


def test_scram_wrong_server_signature_is_caught():
    server = _scram_server("SCRAM-SHA-256", "pencil")
    client = sasl.Scram("SCRAM-SHA-256", "user", PW)
    server.set_client_first(client.start().data.decode())
    final = client.challenge(server.get_server_first().encode())
    server.set_client_final(final.data.decode())
    forged = "v=" + base64.b64encode(b"\0" * 32).decode()
    with pytest.raises(sasl.ServerSignatureInvalid):
        client.challenge(forged.encode())
    assert client.server_verified is False


def test_scram_success_without_server_final_is_not_trusted():
    client = sasl.Scram("SCRAM-SHA-256", "user", PW)
    client.start()
    with pytest.raises(sasl.ServerSignatureInvalid):
        client.accepted()


def test_scram_server_error_attribute():
    server = _scram_server("SCRAM-SHA-1", "pencil")
    client = sasl.Scram("SCRAM-SHA-1", "user", PW)
    server.set_client_first(client.start().data.decode())
    client.challenge(server.get_server_first().encode())
    with pytest.raises(sasl.SaslError, match="invalid-proof"):
        client.challenge(b"e=invalid-proof")


def _certificate(hash_algorithm, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "cb.test")])
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hash_algorithm))
    return cert.public_bytes(serialization.Encoding.DER), cert.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("algorithm, expected", [(hashes.SHA256(), "sha256"), (hashes.SHA384(), "sha384"),
                                                 (hashes.SHA512(), "sha512")])
def test_tls_server_end_point_matches_scramp(algorithm, expected):
    der, _ = _certificate(algorithm)
    binding = sasl.tls_server_end_point(der)
    assert binding == hashlib.new(expected, der).digest() == CBindData.from_der(der).data


def test_tls_server_end_point_sha1_becomes_sha256(tmp_path):
    # RFC 5929 §4.1: MD5 and SHA-1 signatures are replaced by SHA-256. cryptography
    # refuses to sign with SHA-1, so the openssl tool (installed by setup-system) does.
    subprocess.run(["openssl", "req", "-x509", "-sha1", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(tmp_path / "k.pem"), "-subj", "/CN=sha1.test", "-days", "1",
                    "-outform", "DER", "-out", str(tmp_path / "c.der")],
                   check=True, capture_output=True, timeout=60)
    der = (tmp_path / "c.der").read_bytes()
    assert x509.load_der_x509_certificate(der).signature_hash_algorithm.name == "sha1"
    assert sasl.tls_server_end_point(der) == hashlib.sha256(der).digest() == CBindData.from_der(der).data


def test_scram_plus_binds_to_the_certificate():
    der, pem = _certificate(hashes.SHA256())
    server = _scram_server("SCRAM-SHA-256-PLUS", "pencil", ("tls-server-end-point", pem.decode()))
    client = sasl.Scram("SCRAM-SHA-256-PLUS", "user", PW, certificate_der=der)
    first = client.start()
    assert first.data.startswith(b"p=tls-server-end-point,,")
    server.set_client_first(first.data.decode())
    final = client.challenge(server.get_server_first().encode())
    server.set_client_final(final.data.decode())
    client.challenge(server.get_server_final().encode())
    assert client.server_verified and client.channel_binding == "tls-server-end-point"


def test_scram_plus_with_another_certificate_fails_at_the_server():
    der, _ = _certificate(hashes.SHA256())
    _, other_pem = _certificate(hashes.SHA256())
    server = _scram_server("SCRAM-SHA-256-PLUS", "pencil", ("tls-server-end-point", other_pem.decode()))
    client = sasl.Scram("SCRAM-SHA-256-PLUS", "user", PW, certificate_der=der)
    server.set_client_first(client.start().data.decode())
    final = client.challenge(server.get_server_first().encode())
    with pytest.raises(Exception, match="channel"):
        server.set_client_final(final.data.decode())


def test_make_mechanism_needs_the_right_secret():
    with pytest.raises(sasl.SaslError, match="token"):
        sasl.make_mechanism("XOAUTH2", sasl.Credentials("u", password=PW))
    with pytest.raises(sasl.SaslError, match="password"):
        sasl.make_mechanism("PLAIN", sasl.Credentials("u", token=PW))
    with pytest.raises(sasl.SaslError, match="certificate"):
        sasl.make_mechanism("SCRAM-SHA-256-PLUS", sasl.Credentials("u", password=PW))


def test_strongest():
    offered = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256")
    assert sasl.strongest(offered, sasl.PASSWORD_MECHANISMS) == "SCRAM-SHA-256"
    assert sasl.strongest(("LOGIN", "PLAIN"), sasl.PASSWORD_MECHANISMS) == "PLAIN"
    assert sasl.strongest(("GSSAPI",), sasl.PASSWORD_MECHANISMS) is None


# -- redaction ------------------------------------------------------------------

def _independent_base64_cores(secret: bytes) -> list[bytes]:
    """Characters of the base64 encoding that stay the same whatever surrounds the secret."""
    cores = []
    for offset in range(3):
        a = base64.b64encode(b"\x00" * offset + secret + b"\x00\x00")
        b = base64.b64encode(b"\xff" * offset + secret + b"\xff\xff")
        same = [i for i in range(len(a)) if a[i] == b[i] and a[i:i + 1] != b"="]
        cores.append(a[same[0]:same[-1] + 1] if same else b"")
    return cores


@given(st.binary(min_size=4, max_size=40), st.binary(max_size=10), st.binary(max_size=10))
def test_redactor_finds_the_secret_in_any_base64_context(secret, before, after):
    redactor = sasl.Redactor([secret])
    encoded = base64.b64encode(before + secret + after)
    scrubbed, changed = redactor.scrub_bytes(encoded)
    assert changed
    for core in _independent_base64_cores(secret):
        assert len(core) < 4 or core not in scrubbed
    assert secret not in redactor.scrub_bytes(before + secret + after)[0]


def test_base64_forms_match_the_independent_computation():
    secret = b"canary-7f3a9"
    assert list(sasl.base64_forms(secret)) == _independent_base64_cores(secret)


def test_redactor_scrubs_text():
    redactor = sasl.Redactor([sasl.Secret("s3cret-pass")])
    assert redactor.scrub("bad s3cret-pass here") == "bad [redacted] here"
    assert redactor.scrub("nothing") == "nothing"


# -- the AUTH commands and the connection state machine ----------------------------

def test_auth_command_encoding_and_repr():
    command = commands.auth("PLAIN", b"\0u\0secret-value")
    assert command.encode() == b"AUTH PLAIN " + base64.b64encode(b"\0u\0secret-value") + b"\r\n"
    assert "AHUA" not in repr(command)
    assert commands.auth("EXTERNAL", b"").encode() == b"AUTH EXTERNAL =\r\n"   # RFC 4954 §4
    assert commands.sasl_response(b"").encode() == b"\r\n"
    assert commands.sasl_cancel().encode() == b"*\r\n"
    assert "payload" not in repr(commands.sasl_response(b"secret"))
    long = commands.auth("XOAUTH2", b"x" * 3000)     # over 512, within RFC 4954's 12288
    assert len(long.encode()) > 512
    with pytest.raises(LocalProtocolError):
        commands.auth("XOAUTH2", b"x" * 9300).encode()


def _ready() -> ClientConnection:
    conn = ClientConnection()
    conn.receive_data(b"220 hi\r\n")
    conn.next_event()
    return conn


def test_connection_sasl_exchange_states():
    conn = _ready()
    with pytest.raises(LocalProtocolError):
        conn.send(commands.sasl_response(b"early"))
    conn.send(commands.auth("LOGIN"))
    conn.receive_data(b"334 VXNlcm5hbWU6\r\n")
    event = conn.next_event()
    assert isinstance(event, AuthChallenge) and event.challenge_text == "VXNlcm5hbWU6"
    assert conn.state is State.SASL_CHALLENGE
    with pytest.raises(LocalProtocolError):
        conn.send(commands.noop())
    conn.send(commands.sasl_response(b"alice"))
    conn.receive_data(b"334 UGFzc3dvcmQ6\r\n")
    assert isinstance(conn.next_event(), AuthChallenge)
    conn.send(commands.sasl_response(b"pw"))
    conn.receive_data(b"235 2.7.0 ok\r\n")
    final = conn.next_event()
    assert type(final) is CommandReply and final.reply.code == 235
    assert conn.state is State.READY


@pytest.mark.parametrize("code, enhanced, words", [
    (535, "5.7.8", "bad credentials"), (534, "5.7.9", "too weak"), (538, "5.7.11", "encryption required"),
    (454, "4.7.0", "temporary"), (530, "5.7.0", "required"), (503, "5.5.1", "sequence"),
    (504, "5.5.4", "does not support"), (235, "2.7.0", "succeeded"), (535, None, "bad credentials"),
    (550, "5.7.8", "bad credentials"), (599, None, "permanent failure"),
])
def test_reply_explanations(code, enhanced, words):
    explanation, rule = explain(code, enhanced)
    assert words in explanation and rule.startswith("RFC")
