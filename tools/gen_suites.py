#!/usr/bin/env python3
"""Generate inspector/tls/suites.py from the IANA cipher-suite registry extract.

Inputs:
  tools/iana-tls-cipher-suites.csv   code point, IANA name, Recommended (IANA tls-parameters-4)
  `openssl ciphers -V ALL:COMPLEMENTOFALL:@SECLEVEL=0`   OpenSSL names the installed OpenSSL knows
  sslyze's OpenSSL-to-RFC name table (if sslyze is importable): OpenSSL names of suites
  OpenSSL 3 dropped (export, RC4 with DH, ...)

Key exchange, authentication, cipher, bits and the weak/export/anon/null/rc4/des/3des/
forward-secret flags are derived from the IANA name, which encodes them
(RFC 5246 Appendix A.5, RFC 8446 §B.4). Run: python3 tools/gen_suites.py
"""

from __future__ import annotations

import csv
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tools" / "iana-tls-cipher-suites.csv"
TARGET = ROOT / "inspector" / "tls" / "suites.py"

TLS13_ONLY_PREFIXES = ("TLS_AES_", "TLS_CHACHA20_", "TLS_AEGIS_", "TLS_SM4_", "TLS_SHA256_SHA256",
                       "TLS_SHA384_SHA384")
TLS13_GOST = {0xC103, 0xC104, 0xC105, 0xC106}

# cipher token -> (display name, bits)
CIPHERS = [
    ("NULL", "NULL", 0), ("RC4_40", "RC4", 40), ("RC4_128", "RC4", 128), ("RC2_CBC_40", "RC2", 40),
    ("IDEA_CBC", "IDEA", 128), ("DES40_CBC", "DES", 40), ("DES_CBC_40", "DES", 40),
    ("DES_CBC", "DES", 56), ("3DES_EDE_CBC", "3DES", 112),
    ("AES_128_CBC", "AES-CBC", 128), ("AES_256_CBC", "AES-CBC", 256),
    ("AES_128_GCM", "AES-GCM", 128), ("AES_256_GCM", "AES-GCM", 256),
    ("AES_128_CCM_8", "AES-CCM8", 128), ("AES_256_CCM_8", "AES-CCM8", 256),
    ("AES_128_CCM", "AES-CCM", 128), ("AES_256_CCM", "AES-CCM", 256),
    ("CAMELLIA_128_CBC", "Camellia-CBC", 128), ("CAMELLIA_256_CBC", "Camellia-CBC", 256),
    ("CAMELLIA_128_GCM", "Camellia-GCM", 128), ("CAMELLIA_256_GCM", "Camellia-GCM", 256),
    ("ARIA_128_CBC", "ARIA-CBC", 128), ("ARIA_256_CBC", "ARIA-CBC", 256),
    ("ARIA_128_GCM", "ARIA-GCM", 128), ("ARIA_256_GCM", "ARIA-GCM", 256),
    ("SEED_CBC", "SEED", 128), ("CHACHA20_POLY1305", "ChaCha20-Poly1305", 256),
    ("AEGIS_256", "AEGIS", 256), ("AEGIS_128L", "AEGIS", 128), ("SM4_GCM", "SM4-GCM", 128),
    ("SM4_CCM", "SM4-CCM", 128), ("KUZNYECHIK_CTR_OMAC", "Kuznyechik-CTR", 256),
    ("KUZNYECHIK_MGM", "Kuznyechik-MGM", 256), ("MAGMA_CTR_OMAC", "Magma-CTR", 256),
    ("MAGMA_MGM", "Magma-MGM", 256), ("28147_CNT_IMIT", "GOST28147", 256),
]

# key-exchange token -> (kx, auth)
KEY_EXCHANGES = {
    "NULL": ("NULL", "NULL"), "RSA": ("RSA", "RSA"), "RSA_EXPORT": ("RSA", "RSA"),
    "DH_DSS": ("DH", "DSS"), "DH_DSS_EXPORT": ("DH", "DSS"), "DH_RSA": ("DH", "RSA"),
    "DH_RSA_EXPORT": ("DH", "RSA"), "DHE_DSS": ("DHE", "DSS"), "DHE_DSS_EXPORT": ("DHE", "DSS"),
    "DHE_RSA": ("DHE", "RSA"), "DHE_RSA_EXPORT": ("DHE", "RSA"), "DH_anon": ("DHE", "anon"),
    "DH_anon_EXPORT": ("DHE", "anon"), "KRB5": ("KRB5", "KRB5"), "KRB5_EXPORT": ("KRB5", "KRB5"),
    "PSK": ("PSK", "PSK"), "DHE_PSK": ("DHE-PSK", "PSK"), "PSK_DHE": ("DHE-PSK", "PSK"),
    "RSA_PSK": ("RSA-PSK", "RSA"), "ECDH_ECDSA": ("ECDH", "ECDSA"), "ECDHE_ECDSA": ("ECDHE", "ECDSA"),
    "ECDH_RSA": ("ECDH", "RSA"), "ECDHE_RSA": ("ECDHE", "RSA"), "ECDH_anon": ("ECDHE", "anon"),
    "SRP_SHA": ("SRP", "SRP"), "SRP_SHA_RSA": ("SRP", "RSA"), "SRP_SHA_DSS": ("SRP", "DSS"),
    "ECDHE_PSK": ("ECDHE-PSK", "PSK"), "ECCPWD": ("ECCPWD", "password"),
    "GOSTR341112_256": ("GOST", "GOST"),
}


def openssl_names() -> dict[int, str]:
    names: dict[int, str] = {}
    try:
        import sslyze.plugins.openssl_cipher_suites.cipher_suites as sslyze_suites
        by_iana = {v: k for k, v in sslyze_suites._TLS_OPENSSL_TO_RFC_NAMES_MAPPING.items()}
    except ImportError:
        by_iana = {}
    listing = subprocess.run(["openssl", "ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                             capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        match = re.match(r"\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)", line)
        if match:
            names[int(match.group(1) + match.group(2), 16)] = match.group(3)
    return names, by_iana


def classify(code: int, name: str) -> dict:
    if name.endswith("_SCSV"):
        return dict(kx="-", auth="-", cipher="-", bits=0, mac="-", min_version="SSLv3",
                    max_version="TLSv1.3", scsv=True)
    tls13 = name.startswith(TLS13_ONLY_PREFIXES) or code in TLS13_GOST
    if tls13:
        body = name[4:]
        kx, auth = "any", "any"
    else:
        left, _, body = name[4:].partition("_WITH_")
        kx, auth = KEY_EXCHANGES[left]
    cipher, bits = "?", 0
    for token, display, size in CIPHERS:
        if body.startswith(token) or (tls13 and token in body):
            cipher, bits = display, size
            break
    if body.startswith("NULL") or name in ("TLS_SHA256_SHA256", "TLS_SHA384_SHA384"):
        cipher, bits = "NULL", 0
    mac = "AEAD" if any(t in body for t in ("GCM", "CCM", "CHACHA", "MGM", "AEGIS")) else \
        body.rsplit("_", 1)[-1]
    if tls13:
        min_version = "TLSv1.3"
    elif mac in ("SHA256", "SHA384", "AEAD") or "GOST" in name or "ECCPWD" in name:
        min_version = "TLSv1.2"
    else:
        min_version = "SSLv3"
    return dict(kx=kx, auth=auth, cipher=cipher, bits=bits, mac=mac, min_version=min_version,
                max_version="TLSv1.3" if tls13 else "TLSv1.2", scsv=False)


#: One row per suite: the fields of CipherSuite in order (code, IANA name, OpenSSL name, kx, auth,
#: cipher, bits, mac, lowest and highest version, IANA Recommended, SCSV).
Row = tuple


def rows_from_registry() -> list[Row]:
    ossl, sslyze_by_iana = openssl_names()
    rows = []
    with open(SOURCE, newline="") as handle:
        lines = [line for line in handle if line.startswith("0x")]
    for value, name, recommended in csv.reader(lines):
        code = int(value, 16)
        f = classify(code, name)
        openssl = ossl.get(code) or sslyze_by_iana.get(name)
        if name.startswith(("TLS_AES_", "TLS_CHACHA20_")):
            openssl = name
        rows.append((code, name, openssl, f["kx"], f["auth"], f["cipher"], f["bits"], f["mac"],
                     f["min_version"], f["max_version"], recommended == "Y", f["scsv"]))
    return rows


def render(rows: list[Row]) -> str:
    """The text of inspector/tls/suites.py for ``rows``.

    The table is a tuple of constant tuples, which the compiler stores as one
    constant: importing the module builds nothing. The CipherSuite objects and
    the indexes are built on first use (PEP 562 ``__getattr__``), so a command
    that never looks a suite up (``probe``, ``send``) never pays for ~350 of them.
    """
    out = [
        '# ruff: noqa: E501  (generated table: one suite per line)',
        '"""The IANA TLS Cipher Suites registry as data (GENERATED by tools/gen_suites.py: do not edit).',
        "",
        "Source: tools/iana-tls-cipher-suites.csv (IANA tls-parameters-4, assigned code points),",
        "OpenSSL names from `openssl ciphers -V` and sslyze's name table for suites OpenSSL 3 dropped.",
        "Key exchange, cipher, bits and flags are derived from the IANA name (RFC 5246 §A.5,",
        "RFC 8446 §B.4). Weak: export, RC4, DES/3DES, NULL or anonymous (RFC 9325 §4.1).",
        "",
        "``SUITES``, ``BY_CODE``, ``BY_IANA_NAME`` and ``BY_OPENSSL_NAME`` are built from ``ROWS`` on",
        'first use: importing this module creates no CipherSuite."""',
        "",
        "from __future__ import annotations",
        "",
        "import threading",
        "",
        "from ..frozen import frozen",
        "",
        "",
        "@frozen",
        "class CipherSuite:",
        "    code: int",
        "    iana_name: str",
        "    openssl_name: str | None",
        "    kx: str                 #: key exchange (\"any\" for TLS 1.3: negotiated separately)",
        "    auth: str",
        "    cipher: str",
        "    bits: int",
        "    mac: str",
        "    min_version: str        #: lowest protocol version the suite is defined for",
        "    max_version: str",
        "    recommended: bool       #: IANA \"Recommended\" column",
        "    scsv: bool = False      #: signalling value, not a real suite",
        "",
        "    @property",
        "    def export(self) -> bool:",
        "        return \"EXPORT\" in self.iana_name",
        "",
        "    @property",
        "    def anonymous(self) -> bool:",
        "        return self.auth == \"anon\" or self.kx == \"NULL\"",
        "",
        "    @property",
        "    def null_cipher(self) -> bool:",
        "        return self.cipher == \"NULL\"",
        "",
        "    @property",
        "    def rc4(self) -> bool:",
        "        return self.cipher == \"RC4\"",
        "",
        "    @property",
        "    def des(self) -> bool:",
        "        return self.cipher == \"DES\"",
        "",
        "    @property",
        "    def triple_des(self) -> bool:",
        "        return self.cipher == \"3DES\"",
        "",
        "    @property",
        "    def weak(self) -> bool:",
        "        \"\"\"Export, RC4, DES, 3DES, NULL or anonymous (RFC 7465, RFC 9325 §4.1).\"\"\"",
        "        return (self.export or self.anonymous or self.null_cipher or self.rc4 or self.des",
        "                or self.triple_des or self.cipher == \"RC2\")",
        "",
        "    @property",
        "    def forward_secret(self) -> bool:",
        "        \"\"\"Ephemeral key exchange (RFC 9325 §4.1): (EC)DHE or any TLS 1.3 suite.\"\"\"",
        "        return self.kx in (\"DHE\", \"ECDHE\", \"DHE-PSK\", \"ECDHE-PSK\", \"any\")",
        "",
        "    def weakness(self) -> str | None:",
        "        \"\"\"Why the suite is weak, or None.\"\"\"",
        "        reasons = [label for label, flag in (",
        "            (\"export\", self.export), (\"anonymous\", self.anonymous),",
        "            (\"NULL cipher\", self.null_cipher),",
        "            (\"RC4\", self.rc4), (\"DES\", self.des), (\"3DES\", self.triple_des),",
        "            (\"RC2\", self.cipher == \"RC2\")) if flag]",
        "        return \", \".join(reasons) or None",
        "",
        "",
        "#: One tuple per suite, CipherSuite's fields in order (a constant: loading it builds nothing).",
        "ROWS: tuple[tuple, ...] = (",
    ]
    for row in rows:
        out.append("    (" + ", ".join(f"0x{v:04X}" if i == 0 else repr(v) for i, v in enumerate(row)) + "),")
    out += [
        ")",
        "",
        "_TABLES = (\"SUITES\", \"BY_CODE\", \"BY_IANA_NAME\", \"BY_OPENSSL_NAME\")",
        "_build_lock = threading.Lock()",
        "",
        "",
        "def _build() -> None:",
        "    with _build_lock:",
        "        if \"SUITES\" in globals():",
        "            return",
        "        suites = tuple(CipherSuite(*row) for row in ROWS)",
        "        globals().update(",
        "            BY_CODE={suite.code: suite for suite in suites},",
        "            BY_IANA_NAME={suite.iana_name: suite for suite in suites},",
        "            BY_OPENSSL_NAME={suite.openssl_name: suite for suite in suites if suite.openssl_name})",
        "        globals()[\"SUITES\"] = suites  # last: its presence means the tables are complete",
        "",
        "",
        "def __getattr__(name: str):",
        "    \"\"\"SUITES and the indexes, built on first use (PEP 562).\"\"\"",
        "    if name in _TABLES:",
        "        _build()",
        "        return globals()[name]",
        "    raise AttributeError(f\"module {__name__!r} has no attribute {name!r}\")",
        "",
        "",
        "def describe_code(code: int) -> CipherSuite:",
        "    \"\"\"The registry entry for ``code``, or a placeholder for an unassigned code point.\"\"\"",
        "    suite = __getattr__(\"BY_CODE\").get(code)",
        "    if suite is not None:",
        "        return suite",
        "    return CipherSuite(code, f\"UNASSIGNED_0x{code:04X}\", None, \"?\", \"?\", \"?\", 0, \"?\",",
        "                       \"SSLv3\", \"TLSv1.3\", False)",
        "",
    ]
    return "\n".join(out)


def main() -> None:
    rows = rows_from_registry()
    TARGET.write_text(render(rows))
    print(f"wrote {TARGET} with {len(rows)} suites")


if __name__ == "__main__":
    main()
