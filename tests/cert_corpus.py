"""A corpus of certificate chains made by real CA tools, generated at test time.

Generators: ``openssl req -x509`` with OpenSSL 3 defaults (issue 13 case 1), ``openssl`` with
a ``v3_ca`` section and an intermediate, easy-rsa (Debian ``easy-rsa``), GnuTLS ``certtool``
(Debian ``gnutls-bin``), ``mkcert`` (Debian ``mkcert``) and ``cryptography``. Each
:class:`Chain` is what a server sends (leaf first), its key, and the CA file a client is given.
``step-cli`` is not shipped by Debian 12 or PyPI, so it is not in the corpus.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER = "mail.example.test"
EASYRSA = "/usr/share/easy-rsa/easyrsa"


@dataclass(frozen=True)
class Chain:
    name: str
    chain_pem: bytes     #: what the server sends, leaf first, in this order
    key_pem: bytes
    cafile: str          #: the trust store a client is given


def _run(args, cwd, env=None) -> None:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed: {proc.stderr.strip()[-400:]}")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


LEAF_EXT = f"""basicConstraints = CA:FALSE
subjectAltName = DNS:{SERVER}
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""

V3_CONFIG = """[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always, issuer
[v3_intermediate_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_constrained_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, permitted;DNS:.allowed.test
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:{server}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = caIssuers;URI:http://ca.example.test/intermediate.crt
""".replace("{server}", SERVER)


def _openssl_leaf(d: Path, ca: str, ca_key: str, name: str, ext_file: Path, section: str | None) -> None:
    _run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
          "-subj", f"/CN={SERVER}", "-out", f"{name}.csr"], d)
    args = ["openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", ca, "-CAkey", ca_key,
            "-CAcreateserial", "-days", "90", "-extfile", str(ext_file), "-out", f"{name}.pem"]
    if section:
        args += ["-extensions", section]
    _run(args, d)


def openssl_defaults(d: Path) -> dict[str, Path]:
    """Issue 13 case 1, word for word: OpenSSL 3 defaults give a root without keyUsage."""
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
          "-out", "ca.pem", "-days", "365", "-subj", "/CN=My Root CA"], d)
    _openssl_leaf(d, "ca.pem", "ca.key", "leaf", _write(d / "leaf.ext", LEAF_EXT), None)
    return {"root": d / "ca.pem", "leaf": d / "leaf.pem", "key": d / "leaf.key"}


def openssl_v3_ca(d: Path) -> dict[str, Path]:
    """Root (``v3_ca``) -> intermediate (pathlen 0) -> leaf with AIA caIssuers, as public CAs do."""
    cnf = _write(d / "v3.cnf", V3_CONFIG)
    _run(["openssl", "req", "-x509", "-config", str(cnf), "-extensions", "v3_ca", "-newkey", "rsa:2048",
          "-nodes", "-keyout", "root.key", "-out", "root.pem", "-days", "3650",
          "-subj", "/O=Corpus/CN=Corpus Root CA"], d)
    _run(["openssl", "req", "-new", "-config", str(cnf), "-newkey", "rsa:2048", "-nodes",
          "-keyout", "int.key", "-subj", "/O=Corpus/CN=Corpus Intermediate CA", "-out", "int.csr"], d)
    _run(["openssl", "x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key",
          "-CAcreateserial", "-days", "1000", "-extfile", str(cnf), "-extensions", "v3_intermediate_ca",
          "-out", "int.pem"], d)
    _openssl_leaf(d, "int.pem", "int.key", "leaf", cnf, "server")
    return {"root": d / "root.pem", "intermediate": d / "int.pem", "leaf": d / "leaf.pem",
            "key": d / "leaf.key"}


def openssl_name_constrained(d: Path) -> dict[str, Path]:
    """A root whose nameConstraints permit only .allowed.test, and a leaf for SERVER under it."""
    cnf = _write(d / "v3.cnf", V3_CONFIG)
    _run(["openssl", "req", "-x509", "-config", str(cnf), "-extensions", "v3_constrained_ca",
          "-newkey", "rsa:2048", "-nodes", "-keyout", "nc.key", "-out", "nc.pem", "-days", "3650",
          "-subj", "/CN=Constrained Root CA"], d)
    _openssl_leaf(d, "nc.pem", "nc.key", "leaf", cnf, "server")
    return {"root": d / "nc.pem", "leaf": d / "leaf.pem", "key": d / "leaf.key"}


def openssl_self_signed_leaf(d: Path) -> dict[str, Path]:
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key",
          "-out", "self.pem", "-days", "90", "-subj", f"/CN={SERVER}",
          "-addext", f"subjectAltName=DNS:{SERVER}"], d)
    return {"leaf": d / "self.pem", "key": d / "self.key"}


def easy_rsa(d: Path) -> dict[str, Path]:
    """easy-rsa 3 as its README says: init-pki, build-ca nopass, build-server-full."""
    env = dict(os.environ, EASYRSA_PKI=str(d / "pki"), EASYRSA_BATCH="1", EASYRSA_KEY_SIZE="2048")
    _run([EASYRSA, "init-pki"], d, env)
    _run([EASYRSA, "--req-cn=Easy-RSA CA", "build-ca", "nopass"], d, env)
    _run([EASYRSA, f"--subject-alt-name=DNS:{SERVER}", "build-server-full", SERVER, "nopass"], d, env)
    pki = d / "pki"
    return {"root": pki / "ca.crt", "leaf": pki / "issued" / f"{SERVER}.crt",
            "key": pki / "private" / f"{SERVER}.key"}


def gnutls_certtool(d: Path) -> dict[str, Path]:
    """GnuTLS certtool with templates, as in the GnuTLS manual's "certtool" examples."""
    _write(d / "ca.tmpl", 'cn = "GnuTLS Test CA"\nca\ncert_signing_key\ncrl_signing_key\n'
                          "expiration_days = 3650\n")
    _write(d / "leaf.tmpl", f'cn = "{SERVER}"\ndns_name = "{SERVER}"\ntls_www_server\n'
                            "signing_key\nencryption_key\nexpiration_days = 90\n")
    _run(["certtool", "--generate-privkey", "--key-type", "rsa", "--bits", "2048", "--outfile", "ca.key"], d)
    _run(["certtool", "--generate-self-signed", "--load-privkey", "ca.key", "--template", "ca.tmpl",
          "--outfile", "ca.pem"], d)
    _run(["certtool", "--generate-privkey", "--key-type", "rsa", "--bits", "2048",
          "--outfile", "leaf.key"], d)
    _run(["certtool", "--generate-certificate", "--load-privkey", "leaf.key", "--load-ca-certificate",
          "ca.pem", "--load-ca-privkey", "ca.key", "--template", "leaf.tmpl", "--outfile", "leaf.pem"], d)
    return {"root": d / "ca.pem", "leaf": d / "leaf.pem", "key": d / "leaf.key"}


def mkcert(d: Path) -> dict[str, Path]:
    """mkcert with its own CAROOT (never -install: the system store is not touched)."""
    env = dict(os.environ, CAROOT=str(d / "caroot"), TRUST_STORES="none")
    _run(["mkcert", "-cert-file", "leaf.pem", "-key-file", "leaf.key", SERVER], d, env)
    return {"root": d / "caroot" / "rootCA.pem", "leaf": d / "leaf.pem", "key": d / "leaf.key"}


def cryptography_chain(d: Path, *, intermediate_expired: bool = False) -> dict[str, Path]:
    """Root -> intermediate -> leaf with cryptography; optionally the intermediate has expired."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def build(cn, key, issuer_name, issuer_key, *, ca, start, end):
        builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       issuer_key.public_key()), False))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                                          False, False), critical=True)
        else:
            builder = (builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                             False)
                       .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER)]), False))
        return builder.sign(issuer_key, hashes.SHA256())

    root_key, int_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = build("Cryptography Root CA", root_key, name("Cryptography Root CA"), root_key, ca=True,
                 start=now - 3000 * day, end=now + 3000 * day)
    int_start, int_end = ((now - 800 * day, now - 10 * day) if intermediate_expired
                          else (now - 10 * day, now + 800 * day))
    intermediate = build("Cryptography Intermediate CA", int_key, root.subject, root_key, ca=True,
                         start=int_start, end=int_end)
    leaf = build(SERVER, leaf_key, intermediate.subject, int_key, ca=False,
                 start=now - 20 * day, end=now + 60 * day)
    paths = {}
    for label, cert in (("root", root), ("intermediate", intermediate), ("leaf", leaf)):
        paths[label] = d / f"{label}.pem"
        paths[label].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"] = d / "leaf.key"
    paths["key"].write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return paths


def build_corpus(base: Path) -> dict[str, Chain]:
    """Every chain of the corpus, by name."""
    made = {}
    for label, generator in (("defaults", openssl_defaults), ("v3", openssl_v3_ca),
                             ("constrained", openssl_name_constrained), ("self", openssl_self_signed_leaf),
                             ("easyrsa", easy_rsa), ("certtool", gnutls_certtool), ("mkcert", mkcert),
                             ("crypto", cryptography_chain),
                             ("crypto-expired", lambda d: cryptography_chain(d, intermediate_expired=True))):
        directory = base / label
        directory.mkdir()
        made[label] = generator(directory)

    def pem(*paths) -> bytes:
        return b"".join(Path(p).read_bytes().strip() + b"\n" for p in paths)

    def chain(name, label, sent, cafile_of) -> Chain:
        parts = made[label]
        return Chain(name, pem(*(parts[p] for p in sent)), parts["key"].read_bytes(), str(cafile_of))

    v3 = made["v3"]
    return {c.name: c for c in [
        chain("openssl-req-defaults", "defaults", ["leaf"], made["defaults"]["root"]),
        chain("openssl-v3-ca", "v3", ["leaf", "intermediate"], v3["root"]),
        chain("easy-rsa", "easyrsa", ["leaf"], made["easyrsa"]["root"]),
        chain("gnutls-certtool", "certtool", ["leaf"], made["certtool"]["root"]),
        chain("mkcert", "mkcert", ["leaf"], made["mkcert"]["root"]),
        chain("cryptography", "crypto", ["leaf", "intermediate"], made["crypto"]["root"]),
        chain("self-signed-leaf", "self", ["leaf"], v3["root"]),
        chain("missing-intermediate", "v3", ["leaf"], v3["root"]),
        chain("wrong-order", "v3", ["leaf", "root", "intermediate"], v3["root"]),
        chain("expired-intermediate", "crypto-expired", ["leaf", "intermediate"],
              made["crypto-expired"]["root"]),
        chain("name-constrained-ca", "constrained", ["leaf"], made["constrained"]["root"]),
        # issue 13 case 2 / 19.11: a private root the client does not have
        chain("unknown-root", "defaults", ["leaf"], v3["root"]),
        chain("root-sent-not-trusted", "defaults", ["leaf", "root"], v3["root"]),
        chain("intermediate-sent-root-unknown", "v3", ["leaf", "intermediate"], made["defaults"]["root"]),
    ]}
