"""The project's error types (which exit code each outcome gives is in :mod:`inspector.exitcodes`).

Exception tree (errors are raised inside one layer and become data at the
next: a probe turns every ``InspectorError`` into a failed step)::

    InspectorError
    ├── UsageError                  bad command line or option value
    ├── PrivilegeError              needs root or CAP_NET_RAW (exit 4)
    ├── ClusterError                scan --cluster: the Dask scheduler cannot be reached or was lost (22)
    ├── ProtocolError
    │   ├── LocalProtocolError      we were asked to send something illegal
    │   └── RemoteProtocolError     the peer broke the protocol beyond recovery
    └── TransportError              raised only at the I/O boundary (``inspector.net``)
        ├── ConnectFailed           refused, unreachable, name not resolved
        ├── StepTimeout             a step's own timeout ran out
        ├── DeadlineExceeded        the whole command's deadline ran out
        ├── PeerClosed              the peer closed or reset the connection
        └── TlsError                the TLS handshake (or a TLS read) failed
"""

from __future__ import annotations


class InspectorError(Exception):
    """Base of every error this project raises on purpose."""


class UsageError(InspectorError):
    """The command line or an option value is wrong."""


class PrivilegeError(InspectorError):
    """The command needs privileges this process lacks (raw sockets: root or CAP_NET_RAW)."""


class ClusterError(InspectorError):
    """``scan --cluster``: the Dask scheduler cannot be reached, or the connection to it was lost."""


class ProtocolError(InspectorError):
    """An SMTP protocol rule was broken (h11-style split by who broke it)."""


class LocalProtocolError(ProtocolError):
    """We tried to send something the protocol does not allow (e.g. CR in an argument)."""


class RemoteProtocolError(ProtocolError):
    """The server sent something we cannot go on from (e.g. a line over the hard cap)."""


class TransportError(InspectorError):
    """An OS, socket or TLS failure, already translated at the I/O boundary."""


class ConnectFailed(TransportError):
    """The TCP connection could not be opened."""


class StepTimeout(TransportError):
    """One step did not complete within its own timeout."""


class DeadlineExceeded(TransportError):
    """The command's overall deadline passed."""


class PeerClosed(TransportError):
    """The server closed or reset the connection.

    (Not the event :class:`inspector.smtp.events.ConnectionClosed`, which is
    the end of the stream seen by the sans-I/O machine.)
    """


class TlsError(TransportError):
    """The TLS handshake or a TLS record failed.

    ``non_tls_prefix`` holds what the server sent instead of TLS records, when
    it answered the ClientHello with something else (e.g. plaintext SMTP).
    """

    def __init__(self, message: str, *, non_tls_prefix: bytes = b"") -> None:
        super().__init__(message)
        self.non_tls_prefix = non_tls_prefix


def os_reason(exc: OSError) -> str:
    """The OS's words for an error, in the case of our messages ("no route to host")."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
