"""Renderers: results in, text or JSON out. No probing happens here."""
