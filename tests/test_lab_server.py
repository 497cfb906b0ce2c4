"""The built-in lab server, probed with the standard library only.

smtplib/ssl/socket act as an independent peer: nothing from the inspector's
own client code is used here, so a bug there cannot hide a bug in the lab.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from inspector.frozen import FrozenInstanceError
from inspector.lab import (
    DEMO_PASSWORD,
    DEMO_USER,
    FAULTS,
    LabServer,
    make_lab_certificates,
)
from inspector.lab.run import run_lab
from inspector.lab.server import INJECTED_AFTER_STARTTLS, SLOW_GREETING_SECONDS

LAB_HOST = "lab.smtp-inspector.test"
TIMEOUT = 5.0
REPO_ROOT = Path(__file__).resolve().parent.parent


# region #### helpers ################################################################


@pytest.fixture(scope="module")
def certificates():
    return make_lab_certificates(LAB_HOST)


@pytest.fixture
def make_lab(lab_server, certificates):
    """conftest's lab_server factory, reusing one set of certificates per module."""

    def factory(**kwargs) -> LabServer:
        kwargs.setdefault("certificates", certificates)
        return lab_server(**kwargs)

    return factory


class PinnedNameContext(ssl.SSLContext):
    """Client context that verifies against a fixed name, whatever smtplib passes
    as server_hostname (smtplib uses the host it connected to: 127.0.0.1)."""

    pinned_name: str = ""

    def wrap_socket(self, sock, *args, server_hostname=None, **kwargs):
        return super().wrap_socket(
            sock, *args, server_hostname=self.pinned_name, **kwargs
        )


def client_context(lab: LabServer, name: str = LAB_HOST) -> ssl.SSLContext:
    ctx = PinnedNameContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=lab.ca_path)
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    ctx.pinned_name = name
    return ctx


def smtp(lab: LabServer) -> smtplib.SMTP:
    client = smtplib.SMTP(timeout=TIMEOUT)
    code, _ = client.connect(lab.host, lab.port)
    assert code == 220
    return client


def read_reply(sock: socket.socket) -> bytes:
    """Read one complete (possibly multi-line) SMTP reply from a raw socket."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
        lines = data.split(b"\r\n")
        complete = lines[:-1]
        if complete and complete[-1][3:4] == b" ":
            return data


def read_for(sock: socket.socket, seconds: float) -> bytes:
    """Everything that arrives within *seconds*."""
    data = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    sock.settimeout(TIMEOUT)
    return data


def assert_alive(lab: LabServer) -> None:
    with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
        if lab.implicit_tls:
            with lab.client_context().wrap_socket(
                sock, server_hostname=LAB_HOST
            ) as tls:
                assert read_reply(tls).startswith(b"220 ")
        else:
            assert read_reply(sock).startswith(b"220")


# endregion
# region #### certificates ###########################################################


def test_make_lab_certificates_is_fast_and_well_formed(tmp_path):
    t0 = time.perf_counter()
    certs = make_lab_certificates("lab.example.test")
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.5, f"certificate generation took {elapsed:.3f}s"

    ca = x509.load_pem_x509_certificate(certs.ca_pem)
    leaf = x509.load_pem_x509_certificate(certs.cert_pem)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert (
        leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    )
    assert leaf.issuer == ca.subject
    leaf.verify_directly_issued_by(ca)
    for cert in (ca, leaf):
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
        assert cert.public_key().curve.name == "secp256r1"
        assert cert.signature_hash_algorithm.name == "sha256"

    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {
        "lab.example.test",
        "localhost",
    }
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku

    now = dt.datetime.now(dt.UTC)
    assert leaf.not_valid_before_utc <= now - dt.timedelta(minutes=59)
    assert (
        dt.timedelta(days=89) < leaf.not_valid_after_utc - now <= dt.timedelta(days=90)
    )

    with pytest.raises(FrozenInstanceError):
        certs.ca_pem = b""  # type: ignore[misc]

    ca_path, cert_path, key_path = certs.write(tmp_path / "pki")
    assert Path(ca_path).read_bytes() == certs.ca_pem
    assert Path(cert_path).read_bytes() == certs.cert_pem
    assert Path(key_path).read_bytes() == certs.key_pem
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600


def test_every_call_makes_a_new_ca():
    assert make_lab_certificates().ca_pem != make_lab_certificates().ca_pem


# endregion
# region #### lifecycle ##############################################################


def test_start_is_fast_and_stop_is_idempotent():
    t0 = time.perf_counter()
    lab = LabServer()  # includes generating a fresh PKI
    lab.start()
    elapsed = time.perf_counter() - t0
    try:
        assert elapsed < 0.3, f"start took {elapsed:.3f}s"
        assert lab.host == "127.0.0.1" and lab.port > 0
        ca_path = lab.ca_path
        assert Path(ca_path).is_file()
        assert_alive(lab)
    finally:
        lab.stop()
    lab.stop()
    lab.stop()
    assert not Path(ca_path).exists()
    with pytest.raises(OSError):
        socket.create_connection((lab.host, lab.port), timeout=TIMEOUT).close()


def test_stop_before_start_and_context_manager(certificates):
    LabServer(certificates=certificates).stop()
    with LabServer(certificates=certificates) as lab:
        assert_alive(lab)
    lab.stop()


def test_stop_with_open_sessions(make_lab):
    lab = make_lab()
    idle = smtp(lab)
    idle.ehlo()
    half = socket.create_connection((lab.host, lab.port), timeout=TIMEOUT)
    t0 = time.perf_counter()
    lab.stop()
    assert time.perf_counter() - t0 < 2.0
    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        idle.noop()
    half.close()


def test_two_servers_get_different_ports(make_lab):
    a, b = make_lab(), make_lab(fault="strip-starttls")
    assert a.port != b.port
    assert a.ca_path != b.ca_path
    for lab in (a, b):
        client = smtp(lab)
        assert client.ehlo()[0] == 250
        client.quit()


def test_unknown_fault_is_rejected():
    with pytest.raises(ValueError) as info:
        LabServer(fault="no-such-fault")
    for name in FAULTS:
        assert name in str(info.value)


def test_fault_names():
    assert set(FAULTS) == {
        "strip-starttls",
        "mask-starttls",
        "starttls-454",
        "inject-after-starttls",
        "plain-auth-before-tls",
        "slow-greeting",
        "execute-pipelined-starttls",
        "no-starttls-plain-auth",
        "scram-bad-signature",
        "pipelining-out-of-order",
        "pipelining-missing-reply",
    }
    assert all(isinstance(d, str) and d and "\n" not in d for d in FAULTS.values())


def test_port_in_use_raises_oserror(make_lab):
    lab = make_lab()
    with pytest.raises(OSError):
        LabServer(port=lab.port).start()


# endregion
# region #### normal behaviour ######################################################


def test_greeting_and_ehlo_before_tls(make_lab):
    lab = make_lab()
    client = smtplib.SMTP(timeout=TIMEOUT)
    code, text = client.connect(lab.host, lab.port)
    assert code == 220
    assert text == f"{LAB_HOST} ESMTP smtp-inspector lab".encode()
    code, _ = client.ehlo("client.test")
    assert code == 250
    for feature in (
        "size",
        "8bitmime",
        "smtputf8",
        "pipelining",
        "enhancedstatuscodes",
    ):
        assert client.has_extn(feature), feature
    assert client.has_extn("starttls")
    assert not client.has_extn("auth")
    assert client.docmd("AUTH", "PLAIN AGRlbW9AbGFiLnRlc3QAZGVtby1wYXNzd29yZA==") == (
        538,
        b"5.7.11 Encryption required for requested authentication mechanism",
    )
    assert client.quit() == (221, b"2.0.0 Bye")


def test_starttls_verifies_and_changes_features(make_lab):
    lab = make_lab()
    client = smtp(lab)
    client.ehlo()
    code, text = client.starttls(context=client_context(lab))
    assert (code, text) == (220, b"2.0.0 Ready to start TLS")
    assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
    client.ehlo()
    assert client.has_extn("auth")
    assert set(client.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
    assert not client.has_extn("starttls")
    assert client.docmd("STARTTLS")[0] == 554  # no TLS inside TLS
    assert client.login(DEMO_USER, DEMO_PASSWORD)[0] == 235
    client.quit()


def test_starttls_rejects_wrong_name(make_lab):
    lab = make_lab()
    client = smtp(lab)
    client.ehlo()
    with pytest.raises(ssl.SSLCertVerificationError):
        client.starttls(context=client_context(lab, name="not-the-lab.example"))
    client.close()
    assert_alive(lab)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_login_demo_account(make_lab, mechanism):
    lab = make_lab()
    client = smtp(lab)
    client.starttls(context=client_context(lab))
    client.ehlo()
    client.user, client.password = DEMO_USER, DEMO_PASSWORD
    auth = getattr(client, f"auth_{mechanism.lower()}")
    code, text = client.auth(
        mechanism, auth, initial_response_ok=(mechanism == "PLAIN")
    )
    assert (code, text) == (235, b"2.7.0 Authentication successful")
    client.quit()


def test_login_wrong_password(make_lab):
    lab = make_lab()
    client = smtp(lab)
    client.starttls(context=client_context(lab))
    client.ehlo()
    with pytest.raises(smtplib.SMTPAuthenticationError) as info:
        client.login(DEMO_USER, "not-the-password")
    assert info.value.smtp_code == 535
    assert info.value.smtp_error == b"5.7.8 Authentication credentials invalid"
    client.quit()


def test_sendmail_stores_message(make_lab):
    lab = make_lab()
    client = smtp(lab)
    client.starttls(context=client_context(lab))
    client.login(DEMO_USER, DEMO_PASSWORD)
    body = b"Subject: lab\r\n\r\nhello from the test\r\n"
    assert client.sendmail(DEMO_USER, ["a@lab.test", "b@lab.test"], body) == {}
    client.quit()
    assert len(lab.messages) == 1
    mail_from, rcpt_tos, content = lab.messages[0]
    assert mail_from == DEMO_USER
    assert rcpt_tos == ["a@lab.test", "b@lab.test"]
    assert b"hello from the test" in content


def test_plaintext_pipelined_after_starttls_is_discarded(make_lab):
    # RFC 3207 §4.2 / aiosmtpd PR #380: bytes sent in clear after STARTTLS
    # must not be executed inside the TLS session.
    lab = make_lab()
    with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
        read_reply(sock)
        sock.sendall(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<evil@x.test>\r\n")
        data = b""
        while b"220 2.0.0" not in data:
            data += read_for(sock, 0.2)
        assert b"250 2.1.0" not in data
        with client_context(lab).wrap_socket(sock, server_hostname=LAB_HOST) as tls:
            tls.sendall(b"EHLO x\r\n")
            read_reply(tls)
            tls.sendall(b"MAIL FROM:<ok@x.test>\r\n")
            assert read_reply(tls).startswith(b"250 2.1.0")  # not 503 nested MAIL


def test_client_vanishing_mid_handshake_does_not_hurt(make_lab):
    lab = make_lab()
    for payload in (b"", b"\x16\x03\x01\x00\x10garbage", b"NOT TLS AT ALL\r\n"):
        with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
            read_reply(sock)
            sock.sendall(b"EHLO x\r\n")
            read_reply(sock)
            sock.sendall(b"STARTTLS\r\n")
            assert read_reply(sock).startswith(b"220 ")
            if payload:
                sock.sendall(payload)
                time.sleep(0.05)
    assert_alive(lab)
    client = smtp(lab)
    client.starttls(context=client_context(lab))
    assert client.login(DEMO_USER, DEMO_PASSWORD)[0] == 235
    client.quit()


def test_aiosmtpd_logging_is_quiet_unless_asked(make_lab, caplog):
    caplog.set_level(logging.DEBUG)
    for quiet in (True, False):
        caplog.clear()
        lab = make_lab(quiet=quiet)
        client = smtp(lab)
        client.docmd("BOGUS")
        client.quit()
        lab.stop()
        mail_records = [r for r in caplog.records if r.name.startswith("mail.")]
        assert bool(mail_records) is (not quiet)


# endregion
# region #### implicit TLS ###########################################################


def test_implicit_tls(make_lab):
    lab = make_lab(implicit_tls=True)
    client = smtplib.SMTP_SSL(timeout=TIMEOUT, context=client_context(lab))
    code, text = client.connect(lab.host, lab.port)
    assert (code, text) == (220, f"{LAB_HOST} ESMTP smtp-inspector lab".encode())
    assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
    client.ehlo()
    assert not client.has_extn("starttls")
    assert client.has_extn("auth")
    assert client.login(DEMO_USER, DEMO_PASSWORD)[0] == 235
    client.sendmail(DEMO_USER, ["x@lab.test"], b"Subject: 465\r\n\r\nimplicit\r\n")
    client.quit()
    assert lab.messages[0].content.endswith(b"implicit\r\n")


def test_implicit_tls_rejects_wrong_name_and_survives_plaintext(make_lab):
    lab = make_lab(implicit_tls=True)
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(
            lab.host,
            lab.port,
            timeout=TIMEOUT,
            context=client_context(lab, "nope.example"),
        )
    with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"EHLO plaintext.example\r\n")
        sock.settimeout(TIMEOUT)
        try:
            leftover = sock.recv(100)
        except ConnectionResetError:
            leftover = b""
        assert not leftover.startswith(b"220")  # no SMTP in clear
    assert_alive(lab)


# endregion
# region #### faults #################################################################


def test_fault_strip_starttls(make_lab):
    lab = make_lab(fault="strip-starttls")
    client = smtp(lab)
    client.ehlo()
    assert not client.has_extn("starttls")
    assert not client.has_extn("auth")
    assert client.docmd("STARTTLS") == (502, b"5.5.1 Command not implemented")
    client.quit()


def test_fault_mask_starttls(make_lab):
    lab = make_lab(fault="mask-starttls")
    with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
        greeting = read_reply(sock)
    assert greeting.startswith(b"220 ")
    text = greeting[4:].rstrip(b"\r\n")
    assert b"*" in text and set(text) <= {ord("*"), ord(" ")}
    assert len(greeting) == len(f"220 {LAB_HOST} ESMTP smtp-inspector lab\r\n")

    client = smtp(lab)
    client.ehlo()
    assert b"XXXXXXXA" in client.ehlo_resp
    assert b"250-XXXXXXXA" in client.ehlo_resp or client.has_extn("xxxxxxxa")
    assert not client.has_extn("starttls")
    assert client.docmd("STARTTLS") == (502, b"5.5.2 Error: command not recognized")
    client.quit()


def test_fault_mask_starttls_on_the_wire(make_lab):
    lab = make_lab(fault="mask-starttls")
    with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
        read_reply(sock)
        sock.sendall(b"EHLO x\r\n")
        reply = read_reply(sock)
    assert b"\r\n250-XXXXXXXA\r\n" in reply
    assert len(b"250-XXXXXXXA") == len(b"250-STARTTLS")


def test_fault_starttls_454(make_lab):
    lab = make_lab(fault="starttls-454")
    client = smtp(lab)
    client.ehlo()
    assert client.has_extn("starttls")
    with pytest.raises(smtplib.SMTPResponseException) as info:
        client.starttls(context=client_context(lab))
    assert info.value.smtp_code == 454
    assert info.value.smtp_error == b"4.7.0 TLS not available due to temporary reason"
    assert client.noop()[0] == 250  # session still usable in plaintext
    client.quit()


def test_fault_plain_auth_before_tls(make_lab):
    lab = make_lab(fault="plain-auth-before-tls")
    client = smtp(lab)
    client.ehlo()
    assert client.has_extn("auth")
    assert client.has_extn("starttls")
    assert client.sock is not None and not isinstance(client.sock, ssl.SSLSocket)
    assert client.login(DEMO_USER, DEMO_PASSWORD)[0] == 235
    client.quit()


def test_fault_slow_greeting(make_lab):
    lab = make_lab(fault="slow-greeting")
    with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
        t0 = time.monotonic()
        first = b""
        while b"\r\n" not in first:
            first += sock.recv(4096)
        t_first = time.monotonic() - t0
        assert t_first < 1.0
        assert first == f"220-{LAB_HOST} ESMTP lab (pregreet check)\r\n".encode()
        rest = b""
        while not rest.endswith(b"\r\n"):
            rest += sock.recv(4096)
        t_final = time.monotonic() - t0
        assert rest == f"220 {LAB_HOST} ESMTP ready\r\n".encode()
        assert t_final >= 2.4
        assert t_final < SLOW_GREETING_SECONDS + 1.5
        sock.sendall(b"EHLO x\r\n")
        assert b"250 " in read_reply(sock)


def test_fault_slow_greeting_client_leaves_early(make_lab):
    lab = make_lab(fault="slow-greeting")
    with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
        assert sock.recv(4096).startswith(b"220-")
    t0 = time.perf_counter()
    lab.stop()  # must not wait for the pending greeting
    assert time.perf_counter() - t0 < 1.5


def test_fault_inject_after_starttls(make_lab):
    lab = make_lab(fault="inject-after-starttls")
    with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
        read_reply(sock)
        sock.sendall(b"EHLO x\r\n")
        ehlo = read_reply(sock)
        assert b"STARTTLS" in ehlo and b"AUTH" not in ehlo
        sock.sendall(b"STARTTLS\r\n")
        data = read_for(sock, 0.5)
        assert data.startswith(b"220 2.0.0 Ready to start TLS\r\n")
        assert b"250-lab.injected\r\n" in data
        assert b"250 AUTH PLAIN LOGIN\r\n" in data
        assert data == INJECTED_AFTER_STARTTLS

        with client_context(lab).wrap_socket(sock, server_hostname=LAB_HOST) as tls:
            tls.sendall(b"EHLO x\r\n")
            reply = read_reply(tls)
            assert b"AUTH PLAIN LOGIN" in reply
            assert b"injected" not in reply
            tls.sendall(b"QUIT\r\n")
            assert read_reply(tls).startswith(b"221 ")


@pytest.mark.parametrize("fault,answered", [(None, False), ("execute-pipelined-starttls", True)])
def test_fault_execute_pipelined_starttls(make_lab, fault, answered):
    """A NOOP pipelined after STARTTLS: discarded (RFC 3207 §4.2) or run inside TLS (CVE-2011-0411)."""
    lab = make_lab(fault=fault)
    with socket.create_connection((lab.host, lab.port), timeout=TIMEOUT) as sock:
        read_reply(sock)
        sock.sendall(b"EHLO x\r\n")
        read_reply(sock)
        sock.sendall(b"STARTTLS\r\nNOOP\r\n")
        assert read_reply(sock).startswith(b"220 ")
        with client_context(lab).wrap_socket(sock, server_hostname=LAB_HOST) as tls:
            tls.sendall(b"RSET\r\n")
            replies = read_for(tls, 0.5).splitlines()
            # vulnerable: the NOOP's reply, then RSET's; correct: RSET's alone
            assert len(replies) == (2 if answered else 1)
            assert all(line.startswith(b"250 ") for line in replies)
    assert_alive(lab)


def test_fault_inject_after_starttls_with_smtplib(make_lab):
    # The injected lines arrive in the same segment as the 220; smtplib's
    # buffered reader swallows them and drops the buffer in starttls(), so
    # stdlib clients neither see nor report the injection. The lab must still
    # complete a normal TLS session.
    lab = make_lab(fault="inject-after-starttls")
    client = smtp(lab)
    client.ehlo()
    assert client.starttls(context=client_context(lab))[0] == 220
    client.ehlo()
    assert client.has_extn("auth") and not client.has_extn("starttls")
    assert client.login(DEMO_USER, DEMO_PASSWORD)[0] == 235
    client.quit()
    assert_alive(lab)


# endregion
# region #### run_lab ################################################################


def test_run_lab_port_in_use(make_lab, capsys):
    lab = make_lab()
    assert run_lab(port=lab.port) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert str(lab.port) in captured.err
    assert "Traceback" not in captured.err


def test_run_lab_unknown_fault(capsys):
    assert run_lab(port=0, fault="bogus") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "strip-starttls" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("implicit", [False, True])
def test_run_lab_foreground(sig, implicit):
    code = (
        "import sys; from inspector.lab.run import run_lab; "
        f"sys.exit(run_lab(port=0, fault='starttls-454', implicit_tls={implicit}))"
    )
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        assert "listening on 127.0.0.1:" in text
        port = int(text.split("listening on 127.0.0.1:")[1].split()[0])
        assert "starttls-454" in text and FAULTS["starttls-454"] in text
        assert DEMO_USER in text and DEMO_PASSWORD in text
        ca_line = next(ln for ln in lines if "lab CA" in ln)
        ca_path = ca_line.split(":", 1)[1].strip()
        assert Path(ca_path).is_file()
        assert (
            f"smtp-inspector probe 127.0.0.1:{port}{' --implicit-tls' if implicit else ' --no-require-tls'}"
            f" --servername {LAB_HOST} --cafile {ca_path}" in text
        )
        assert f"swaks --server 127.0.0.1:{port} " in text
        # starttls-454 refuses STARTTLS: the hint must not ask swaks for --tls (case 2 of issue 19).
        assert ("--tlsc" in text) if implicit else ("--tls " not in text and "--quit-after EHLO" in text)
        assert "mode     : " + ("implicit TLS" if implicit else "plaintext only") in text
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
            pass
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not Path(ca_path).exists()


# endregion
