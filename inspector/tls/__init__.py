"""Pure TLS helpers (no sockets): record framing and handshake facts."""
