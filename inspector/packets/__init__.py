"""Packet work (scapy): SYN probes, sniffing, crafted TLS records.

scapy is imported here and only here, lazily, through :func:`scapy_modules`
and :func:`scapy_tls`. Nothing in ``probe`` without packet options reaches
this package, so a plain probe never pays scapy's import time (about 0.3 s)
and never needs raw-socket privileges.
"""

from __future__ import annotations

import functools
import types


@functools.cache
def scapy_modules() -> types.SimpleNamespace:
    """IP/TCP/ICMP layers, send/receive and sniffing, imported on first call.

    Route auto-loading is switched off before anything else is imported, so the
    import does not read the routing tables of every interface.
    """
    from scapy.config import conf

    conf.route_autoload = False
    conf.verb = 0
    from scapy import sendrecv, supersocket
    from scapy.layers import inet, inet6, l2
    from scapy.utils import PcapWriter

    return types.SimpleNamespace(
        conf=conf, IP=inet.IP, TCP=inet.TCP, ICMP=inet.ICMP, IPerror=inet.IPerror,
        TCPerror=inet.TCPerror, IPv6=inet6.IPv6, Ether=l2.Ether,
        sr1=sendrecv.sr1, sr=sendrecv.sr, send=sendrecv.send, sniff=sendrecv.sniff,
        AsyncSniffer=sendrecv.AsyncSniffer, PcapWriter=PcapWriter,
        L3RawSocket=supersocket.L3RawSocket,
    )


@functools.cache
def scapy_tls() -> types.ModuleType:
    """scapy's TLS layer (``scapy.layers.tls.all``), for building and reading handshake messages."""
    scapy_modules()
    import scapy.layers.tls.all as tls

    return tls
