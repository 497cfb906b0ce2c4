"""Mozilla autoconfig (Thunderbird's config-v1.1.xml): where to fetch it and how to read it.

Sources tried (Thunderbird's order): ``https://autoconfig.<domain>/mail/config-v1.1.xml
?emailaddress=<address>`` and ``https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml``;
the ``http://`` forms only with ``--allow-http``. Parsing is pure and defensive:
size capped, any DTD or entity declaration refused (no entity expansion,
no external references), only ``outgoingServer type="smtp"`` is read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..frozen import frozen

MAX_BYTES = 256 * 1024

#: socketType → our TLS mode
SOCKET_TYPES = {"SSL": "implicit", "TLS": "implicit", "STARTTLS": "starttls", "plain": "plain"}


class AutoconfigError(ValueError):
    """The document is refused; the message is one line."""


@frozen
class OutgoingServer:
    hostname: str
    port: int
    mode: str                         #: implicit, starttls or plain
    authentication: tuple[str, ...]   #: e.g. ("password-cleartext",)
    username: str | None              #: with placeholders substituted


def autoconfig_urls(domain: str, email: str, *, allow_http: bool) -> list[tuple[str, str]]:
    """(url, host to resolve) pairs, https first."""
    from urllib.parse import quote

    query = f"?emailaddress={quote(email, safe='@')}"
    urls = [(f"https://autoconfig.{domain}/mail/config-v1.1.xml{query}", f"autoconfig.{domain}"),
            (f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml", domain)]
    if allow_http:
        urls += [(url.replace("https://", "http://", 1), host) for url, host in urls]
    return urls


def parse_autoconfig(body: bytes, email: str) -> tuple[OutgoingServer, ...]:
    """The SMTP servers the document names, placeholders filled in; AutoconfigError if refused."""
    if len(body) > MAX_BYTES:
        raise AutoconfigError(f"document larger than {MAX_BYTES} bytes")
    upper = body.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise AutoconfigError("document has a DTD or entity declaration; refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise AutoconfigError(f"not well-formed XML: {exc}") from None
    if root.tag != "clientConfig":
        raise AutoconfigError(f"root element is <{root.tag[:40]}>, not <clientConfig>")
    local, _, domain = email.partition("@")
    fill = {"%EMAILADDRESS%": email, "%EMAILLOCALPART%": local, "%EMAILDOMAIN%": domain}

    def text(element, tag):
        child = element.find(tag)
        value = (child.text or "").strip() if child is not None else ""
        for placeholder, real in fill.items():
            value = value.replace(placeholder, real)
        return value

    servers = []
    for server in root.iter("outgoingServer"):
        if server.get("type") != "smtp":
            continue
        hostname, port = text(server, "hostname"), text(server, "port")
        socket_type = text(server, "socketType")
        if not hostname or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise AutoconfigError(f"outgoingServer without a usable hostname/port ({hostname!r}:{port!r})")
        if socket_type not in SOCKET_TYPES:
            raise AutoconfigError(f"unknown socketType {socket_type!r}")
        auths = tuple((a.text or "").strip() for a in server.findall("authentication") if a.text)
        servers.append(OutgoingServer(hostname.lower().rstrip("."), int(port), SOCKET_TYPES[socket_type],
                                      auths, text(server, "username") or None))
    if not servers:
        raise AutoconfigError('no <outgoingServer type="smtp"> in the document')
    return tuple(servers)


def render_autoconfig(domain: str, recommendation) -> str:
    """A Thunderbird config-v1.1.xml describing the recommended outgoing server."""
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=domain)
    ET.SubElement(provider, "domain").text = domain
    ET.SubElement(provider, "displayName").text = domain
    ET.SubElement(provider, "displayShortName").text = domain
    provider.append(ET.Comment(" incoming servers are not discovered by smtp-inspector "))
    server = ET.SubElement(provider, "outgoingServer", type="smtp")
    ET.SubElement(server, "hostname").text = recommendation.host
    ET.SubElement(server, "port").text = str(recommendation.port)
    ET.SubElement(server, "socketType").text = {"implicit": "SSL", "starttls": "STARTTLS"}.get(
        recommendation.mode, "plain")
    ET.SubElement(server, "authentication").text = recommendation.autoconfig_authentication
    ET.SubElement(server, "username").text = recommendation.username_placeholder
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
