"""The TLS audit's ``versions`` (JSON) → a version × cipher-suite matrix coloured by strength.

Rows are suites in the order the server preferred them (first version that
accepts them first), columns the versions probed; a cell holds the suite's
place in the server's order when the server enforces one. Strength only
restates what the audit already decided: a ``weakness`` is weak, a suite
without forward secrecy is fair, the rest strong.
"""

from __future__ import annotations


def strength(suite: dict) -> str:
    if suite.get("weakness"):
        return "weak"
    if not suite.get("forward_secret"):
        return "fair"
    return "strong"


def matrix(versions: list[dict]) -> dict:
    columns = [{"version": v["version"], "supported": v["supported"], "server_order": v.get("server_order"),
                "connections": v.get("connections"), "error": v.get("error"),
                "count": len(v.get("suites") or [])} for v in versions]
    rows: dict[str, dict] = {}
    for column, version in enumerate(versions):
        for place, suite in enumerate(version.get("suites") or [], start=1):
            row = rows.setdefault(suite["iana_name"], {
                "name": suite["iana_name"], "openssl": suite.get("openssl_name") or "",
                "code": suite.get("code", ""), "kx": suite.get("kx", ""), "bits": suite.get("bits"),
                "strength": strength(suite), "why": suite.get("weakness") or
                ("" if suite.get("forward_secret") else "no forward secrecy"),
                "cells": [None] * len(versions)})
            row["cells"][column] = {"place": place if version.get("server_order") else None,
                                    "strength": strength(suite)}
    counts = {"strong": 0, "fair": 0, "weak": 0}
    for row in rows.values():
        counts[row["strength"]] += 1
    return {"columns": columns, "rows": list(rows.values()), "counts": counts}
