"""An authoritative test DNS server on loopback, built on dnspython (UDP and TCP, one port).

It serves one zone from zone-file text. ``authenticated`` sets the AD flag on
answers for names in that set (or everywhere when True), the way a validating
resolver would after checking DNSSEC signatures (RFC 4035 §3.2.3); the zone
itself is not signed. ``faults`` makes chosen questions fail the way broken or
unreachable servers do: ``{("name.test", "MX"): "SERVFAIL"}`` answers with that
rcode (SERVFAIL, REFUSED, ...), ``"drop"`` never answers; the type ``"*"``
stands for every type of that name. Names without records are NXDOMAIN, names
with records of other types NODATA (RFC 2308 §2.1, §2.2), as NSD answers.
"""

from __future__ import annotations

import socket
import socketserver
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone


class DnsTestServer:
    def __init__(self, zone_text: str, origin: str, *, host: str = "127.0.8.1",
                 authenticated: bool | set[str] = False,
                 faults: dict[tuple[str, str], str] | None = None) -> None:
        self.zone = dns.zone.from_text(zone_text, origin=origin, relativize=False, check_origin=False)
        self.origin = dns.name.from_text(origin)
        self.host = host
        self.authenticated = authenticated
        self.queries: list[tuple[str, str]] = []
        self.faults = {(n.rstrip(".").lower(), t.upper()): f for (n, t), f in (faults or {}).items()}
        self._servers: list[socketserver.BaseServer] = []

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        self.queries.append((qname.to_text(), dns.rdatatype.to_text(qtype)))
        name = qname.to_text().rstrip(".").lower()
        fault = self.faults.get((name, dns.rdatatype.to_text(qtype))) or self.faults.get((name, "*"))
        if fault == "drop":
            return None
        if fault is not None:
            response.set_rcode(dns.rcode.from_text(fault))
            return response.to_wire()
        node = self.zone.get_node(qname)
        if node is None:
            if not qname.is_subdomain(self.origin):
                response.set_rcode(dns.rcode.REFUSED)
                return response.to_wire()
            if not any(name != qname and name.is_subdomain(qname) for name in self.zone.nodes):
                response.set_rcode(dns.rcode.NXDOMAIN)  # an empty non-terminal is NODATA (RFC 8020 §2)
        else:
            rdataset = node.get_rdataset(self.zone.rdclass, qtype)
            cname = node.get_rdataset(self.zone.rdclass, dns.rdatatype.CNAME)
            if rdataset is not None:
                response.answer.append(_rrset(qname, rdataset))
            elif cname is not None:
                response.answer.append(_rrset(qname, cname))
                target = self.zone.get_node(cname[0].target)
                if target is not None and (found := target.get_rdataset(self.zone.rdclass, qtype)):
                    response.answer.append(_rrset(cname[0].target, found))
        if self._is_authenticated(qname) and query.flags & dns.flags.AD or (
                self._is_authenticated(qname) and query.ednsflags & dns.flags.DO):
            response.flags |= dns.flags.AD
        return response.to_wire()

    def _is_authenticated(self, qname) -> bool:
        if isinstance(self.authenticated, bool):
            return self.authenticated
        return qname.to_text().rstrip(".").lower() in self.authenticated

    def start(self) -> DnsTestServer:
        owner = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = owner.answer(data)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(5)
                try:
                    head = self.request.recv(2)
                    size = int.from_bytes(head, "big")
                    data = b""
                    while len(data) < size:
                        chunk = self.request.recv(size - len(data))
                        if not chunk:
                            return
                        data += chunk
                    reply = owner.answer(data)
                    if reply is not None:
                        self.request.sendall(len(reply).to_bytes(2, "big") + reply)
                except OSError:
                    pass

        for _ in range(20):
            udp = socketserver.ThreadingUDPServer((self.host, 0), Udp)
            port = udp.server_address[1]
            try:
                socketserver.ThreadingTCPServer.allow_reuse_address = True
                tcp = socketserver.ThreadingTCPServer((self.host, port), Tcp)
            except OSError:
                udp.server_close()
                continue
            break
        else:  # pragma: no cover
            raise OSError("no free port for UDP and TCP together")
        self.port = port
        for server in (udp, tcp):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _rrset(name, rdataset):
    import dns.rrset

    rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
    rrset.update(rdataset)
    return rrset


__all__ = ["DnsTestServer", "socket"]
