"""Rules about the TLS layer of a session (RFC 8446, RFC 8996).

:class:`TlsObservation` folds the TLS reader's events of both sides (replay)
into facts; a live probe fills the same facts from its handshake. The rules
read only the facts.
"""

from __future__ import annotations

from ..findings import Finding, make_finding
from ..frozen import field, mutable
from ..tls.registry import LEGACY_VERSIONS, suite_name, version_name

#: A TLS 1.3 encrypted alert: 2 bytes of alert, 1 of content type, a 16-byte AEAD tag (RFC 8446 §5.2).
ENCRYPTED_ALERT = 19
#: The smallest encrypted Finished: 4 + 32 bytes of verify_data + 1 + 16 (RFC 8446 §4.4.4).
_SMALLEST_FINISHED = 53


@mutable
class TlsObservation:
    """What one session's TLS records showed (both directions, plaintext part)."""

    version: str | None = None                 #: negotiated (ServerHello; not a HelloRetryRequest)
    cipher: str | None = None
    fatal_alerts: list[str] = field(default_factory=list)    #: "the server sent a fatal ... alert"
    client_encrypted: list[int] = field(default_factory=list)  #: record sizes after the ClientHello
    server_last_record: int | None = None      #: size of the server's last encrypted record
    error: str | None = None                   #: a live handshake's own error message

    def add(self, event, *, from_client: bool) -> None:
        """One event of :class:`inspector.tls.reader.TlsReader` (replay's; a live probe never calls this)."""
        from ..tls import reader as tls  # imported by replay, which has loaded it: a probe never needs it

        who = "client" if from_client else "server"
        if isinstance(event, tls.ServerHello) and not event.info.retry:
            self.version = version_name(event.info.version)
            self.cipher = suite_name(event.info.suite)
        elif isinstance(event, tls.Alert) and event.fatal:
            self.fatal_alerts.append(f"the {who} sent a fatal {event.name} alert")
        elif isinstance(event, tls.Encrypted):
            if from_client:
                self.client_encrypted.append(event.length)
            elif event.content_type != 20:
                self.server_last_record = event.length

    @property
    def client_finished(self) -> bool:
        """Did the client send what can only be its Finished (or later data)?"""
        if self.version == "TLSv1.3":
            return any(size >= _SMALLEST_FINISHED for size in self.client_encrypted)
        return bool(self.client_encrypted)


def tls_handshake_failed(facts: TlsObservation, *, ended: bool = True) -> Finding | None:
    """RFC 8446 §4, §6; RFC 3207 §4.1: the handshake did not complete.

    Live, the TLS library says so. In a capture: a fatal alert in clear, or a
    TLS 1.3 ServerHello that the client never followed with its Finished
    (the server's encrypted alert, or silence, ended the session).
    """
    if facts.error:
        return make_finding("tls-handshake-failed", facts.error)
    if facts.fatal_alerts:
        return make_finding("tls-handshake-failed", "; ".join(dict.fromkeys(facts.fatal_alerts)))
    if ended and facts.version == "TLSv1.3" and not facts.client_finished:
        last = facts.server_last_record
        how = (f"; the server's last record was {last} bytes of ciphertext, the size of an "
               "encrypted alert" if last == ENCRYPTED_ALERT else "")
        return make_finding("tls-handshake-failed", "TLSv1.3 ServerHello, but the client never sent "
                            f"its Finished{how}")
    return None


def tls_legacy_version(versions, cipher: str | None = None, *, detail: str = "") -> Finding | None:
    """RFC 8996 §2, RFC 8997 §3: TLS 1.0/1.1 (or SSL 3.0) negotiated or accepted."""
    legacy = [v for v in versions if v in LEGACY_VERSIONS]
    if not legacy:
        return None
    if detail:
        return make_finding("tls-legacy-version", detail)
    with_cipher = f" with {cipher}" if cipher else ""
    return make_finding("tls-legacy-version", f"negotiated {', '.join(legacy)}{with_cipher}")
