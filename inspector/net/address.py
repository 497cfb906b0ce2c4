"""How an address and port are written in every message: ``host:port``, IPv6 in brackets (RFC 3986 §3.2.2)."""


def host_port(host: str, port: int) -> str:
    """``127.0.0.1:587``, ``mail.example.org:587``, ``[::1]:587``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
