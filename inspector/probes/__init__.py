"""Probes: each runs against a target and returns a frozen result with findings."""
