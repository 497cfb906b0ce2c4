"""OpenSSL's own path validation, X509_verify_cert(3), called in the libcrypto Python's ssl uses.

Mail clients built on OpenSSL (Postfix, swaks through IO::Socket::SSL, Python's ``ssl``,
``openssl s_client``) decide trust with X509_verify_cert under the "ssl_server" purpose and
an authentication security level equal to the TLS security level. Calling that very function,
in the libcrypto that this interpreter's ``ssl`` module is linked against, gives the verdict
and the X509_V_ERR error code those clients give for the same trust store (RFC 5280 §6.1).

ctypes rather than pyOpenSSL: pyOpenSSL runs the OpenSSL bundled with ``cryptography`` (not
the system's), cannot set the purpose or the security level, and costs ~10 ms to import.
Loading this module costs only ``ctypes``; the library is opened on first use.
"""

from __future__ import annotations

import ctypes
import functools
import threading

from ..frozen import frozen

X509_V_OK = 0
X509_V_FLAG_X509_STRICT = 0x20
_LIBRARY_NAMES = ("libcrypto.so.3", "libcrypto.so", "libcrypto.3.dylib", "libcrypto.dylib")


class OpenSslUnavailable(RuntimeError):
    """No libcrypto matching the ssl module's OpenSSL could be loaded."""


@frozen
class OpenSslVerdict:
    """X509_verify_cert's answer: ``error`` 0 means verified."""

    error: int                         #: X509_V_ERR_* number, as ``openssl verify`` prints it
    depth: int                         #: index in ``chain`` of the certificate that failed
    message: str                       #: X509_verify_cert_error_string(error)
    chain: tuple[bytes, ...]           #: the path OpenSSL built (DER, leaf first), maybe partial
    security_level: int

    @property
    def ok(self) -> bool:
        return self.error == X509_V_OK


_lock = threading.Lock()
_lib = None


def _library():
    global _lib
    with _lock:
        if _lib is None:
            _lib = _load()
        return _lib


def _mapped_libcrypto() -> list[str]:
    """Paths of the libcrypto already mapped into this process (Linux), i.e. the one ssl uses."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            found = {line.split()[-1] for line in maps if "libcrypto" in line and "/" in line}
    except OSError:
        return []
    return sorted(found)


def _candidates():
    """Library names first (dlopen finds the copy already loaded); the process's mappings next."""
    yield from _LIBRARY_NAMES
    yield from _mapped_libcrypto()


def _load():
    import ssl

    wanted = ssl.OPENSSL_VERSION.encode()
    for name in _candidates():
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            lib.OpenSSL_version.restype = ctypes.c_char_p
            lib.OpenSSL_version.argtypes = [ctypes.c_int]
            if lib.OpenSSL_version(0) != wanted:
                continue
        except AttributeError:
            continue
        _declare(lib)
        return lib
    raise OpenSslUnavailable(f"cannot load the libcrypto of {ssl.OPENSSL_VERSION}")


def _declare(lib) -> None:
    p, i, c = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    signatures = {
        "d2i_X509": (p, [p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]),
        "i2d_X509": (i, [p, ctypes.POINTER(ctypes.c_void_p)]),
        "X509_free": (None, [p]),
        "X509_STORE_new": (p, []),
        "X509_STORE_free": (None, [p]),
        "X509_STORE_add_cert": (i, [p, p]),

        "OPENSSL_sk_new_null": (p, []),
        "OPENSSL_sk_push": (i, [p, p]),
        "OPENSSL_sk_free": (None, [p]),
        "OPENSSL_sk_num": (i, [p]),
        "OPENSSL_sk_value": (p, [p, i]),
        "X509_STORE_CTX_new": (p, []),
        "X509_STORE_CTX_free": (None, [p]),
        "X509_STORE_CTX_init": (i, [p, p, p, p]),
        "X509_STORE_CTX_set_default": (i, [p, c]),
        "X509_STORE_CTX_get0_param": (p, [p]),
        "X509_STORE_CTX_get0_chain": (p, [p]),
        "X509_STORE_CTX_get_error": (i, [p]),
        "X509_STORE_CTX_get_error_depth": (i, [p]),
        "X509_VERIFY_PARAM_set_auth_level": (None, [p, i]),
        "X509_VERIFY_PARAM_set_time": (None, [p, ctypes.c_long]),
        "X509_VERIFY_PARAM_set_flags": (i, [p, ctypes.c_ulong]),
        "X509_verify_cert": (i, [p]),
        "X509_verify_cert_error_string": (c, [ctypes.c_long]),
        "ERR_clear_error": (None, []),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


@functools.cache
def client_security_level() -> int:
    """The security level an OpenSSL client context gets here (openssl.cnf; Debian: 2)."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).security_level


def _x509(lib, der: bytes):
    buffer = ctypes.c_char_p(der)
    cert = lib.d2i_X509(None, ctypes.byref(buffer), len(der))
    if not cert:
        lib.ERR_clear_error()
        raise ValueError("OpenSSL cannot parse the certificate")
    return cert


def _der(lib, cert) -> bytes:
    size = lib.i2d_X509(cert, None)
    if size <= 0:
        return b""
    buffer = ctypes.create_string_buffer(size)
    pointer = ctypes.c_void_p(ctypes.addressof(buffer))
    lib.i2d_X509(cert, ctypes.byref(pointer))
    return buffer.raw[:size]


def verify(chain: list[bytes], anchors: list[bytes], *, at: float,
           security_level: int | None = None, strict: bool = False) -> OpenSslVerdict:
    """Validate ``chain`` (DER as sent, leaf first) as an OpenSSL TLS client would.

    ``anchors`` are the trust store's certificates (DER; OpenSSL looks issuers up by name, so
    those whose names a path can reach are enough, see ``store.anchors_for``); ``at`` is the
    validation time (POSIX seconds). ``strict``
    adds X509_V_FLAG_X509_STRICT (RFC 5280 conformance checks; Python 3.13's default context).
    Raises :class:`OpenSslUnavailable` or ValueError (a certificate OpenSSL cannot parse).
    """
    lib = _library()
    level = client_security_level() if security_level is None else security_level
    owned, store, untrusted, ctx = [], None, None, None
    try:
        store = lib.X509_STORE_new()
        for der in anchors:
            try:
                cert = _x509(lib, der)
            except ValueError:            # a broken store entry: skipped, as OpenSSL's loader does
                continue
            owned.append(cert)
            lib.X509_STORE_add_cert(store, cert)
        leaf = _x509(lib, chain[0])
        owned.append(leaf)
        untrusted = lib.OPENSSL_sk_new_null()
        for der in chain[1:]:
            cert = _x509(lib, der)
            owned.append(cert)
            lib.OPENSSL_sk_push(untrusted, cert)
        ctx = lib.X509_STORE_CTX_new()
        if not ctx or lib.X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1:
            raise OpenSslUnavailable("X509_STORE_CTX_init failed")
        lib.X509_STORE_CTX_set_default(ctx, b"ssl_server")  # what libssl does for a client
        param = lib.X509_STORE_CTX_get0_param(ctx)
        lib.X509_VERIFY_PARAM_set_auth_level(param, level)
        lib.X509_VERIFY_PARAM_set_time(param, int(at))
        if strict:
            lib.X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT)
        ok = lib.X509_verify_cert(ctx) == 1
        error = X509_V_OK if ok else lib.X509_STORE_CTX_get_error(ctx)
        depth = 0 if ok else lib.X509_STORE_CTX_get_error_depth(ctx)
        built = lib.X509_STORE_CTX_get0_chain(ctx)
        path = tuple(_der(lib, lib.OPENSSL_sk_value(built, n))
                     for n in range(lib.OPENSSL_sk_num(built))) if built else ()
        message = (lib.X509_verify_cert_error_string(error) or b"").decode("ascii", "replace")
        return OpenSslVerdict(error, depth, message, path, level)
    finally:
        lib.ERR_clear_error()
        if ctx:
            lib.X509_STORE_CTX_free(ctx)
        if untrusted:
            lib.OPENSSL_sk_free(untrusted)
        if store:
            lib.X509_STORE_free(store)
        for cert in owned:
            lib.X509_free(cert)
