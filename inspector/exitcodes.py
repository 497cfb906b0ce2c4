"""Exit codes of every command: one per failing stage, documented in the README."""

import enum


class ExitCode(enum.IntEnum):
    OK = 0                #: every step succeeded, no finding of severity "error"
    FINDINGS = 1          #: every step succeeded, but a finding has severity "error"
    USAGE = 2             #: bad command line (argparse uses 2 too)
    INTERNAL = 3          #: a bug in smtp-inspector (the message says how to report it)
    PRIVILEGES = 4        #: the command needs raw sockets (root or CAP_NET_RAW)
    INCOMPLETE = 5        #: tls, ports, interference: deadline ran out or server kept refusing; partial
    CONNECT = 10          #: TCP connection failed
    GREETING = 11         #: no usable greeting (rejected, malformed, closed, timed out)
    EHLO = 12             #: neither EHLO nor HELO was accepted
    STARTTLS = 13         #: STARTTLS advertised but refused (any port), or not offered while TLS was required
    TLS = 14              #: TLS handshake failed
    CERTIFICATE = 15      #: certificate not trusted or not for this name (without --insecure)
    AUTH = 16             #: authentication failed, refused without TLS, or not offered
    MAIL = 17             #: send: MAIL FROM refused, or the message cannot be sent to this server
    RCPT = 18             #: send: every recipient refused (RCPT TO)
    DATA = 19             #: send: the message refused (DATA, BDAT or after the end-of-data dot)
    NO_SUBMISSION_SERVER = 20  #: discover: no candidate gave a working session with TLS
    CAPTURE = 21          #: replay: the capture file is unreadable, not pcap/pcapng, truncated or corrupt
    CLUSTER = 22          #: scan --cluster: the Dask scheduler is unreachable or was lost (stored rows kept)
    INTERRUPTED = 130     #: Ctrl-C
