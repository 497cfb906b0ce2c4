"""MTA-STS (RFC 8461): the ``_mta-sts`` TXT record, the policy file and MX coverage (pure parsers)."""

from __future__ import annotations

import re

from ..frozen import frozen

MAX_POLICY_BYTES = 64 * 1024          # RFC 8461 §3.3: senders may limit the size
MAX_AGE_LIMIT = 31557600              # RFC 8461 §3.2: at most one year
_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


class StsError(ValueError):
    """A record or policy that RFC 8461 says to ignore; the message says why."""


def policy_url(domain: str) -> tuple[str, str]:
    """RFC 8461 §3.3: the policy lives at this well-known URL (host to resolve second)."""
    return f"https://mta-sts.{domain}/.well-known/mta-sts.txt", f"mta-sts.{domain}"


def parse_sts_txt(texts: list[str]) -> str:
    """RFC 8461 §3.1: exactly one record starting ``v=STSv1;``, with an ``id``; returns the id."""
    records = [t for t in texts if t.startswith("v=STSv1;") or t.strip() == "v=STSv1"]
    if not records:
        raise StsError("no TXT record starts with v=STSv1;")
    if len(records) > 1:
        raise StsError(f"{len(records)} TXT records start with v=STSv1; exactly one is allowed "
                       "(RFC 8461 §3.1)")
    fields = {}
    for part in records[0].split(";"):
        key, sep, value = part.strip().partition("=")
        if part.strip() and sep:
            fields.setdefault(key.strip(), value.strip())
    sts_id = fields.get("id")
    if sts_id is None:
        raise StsError("TXT record has no id= field")
    if not _ID.match(sts_id):
        raise StsError(f"id {sts_id[:40]!r} is not 1-32 letters and digits")
    return sts_id


@frozen
class StsPolicy:
    mode: str
    mx: tuple[str, ...]
    max_age: int


def parse_sts_policy(body: bytes) -> StsPolicy:
    """RFC 8461 §3.2: ``key: value`` lines (CRLF or LF); version, mode, max_age, mx required."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise StsError("policy is not UTF-8 text") from None
    values: dict[str, list[str]] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise StsError(f"policy line without ':': {line[:60]!r}")
        values.setdefault(key.strip(), []).append(value.strip())
    version = values.get("version", [None])[0]
    if version != "STSv1":
        raise StsError(f"version is {version!r}, not 'STSv1'")
    mode = values.get("mode", [None])[0]
    if mode not in ("enforce", "testing", "none"):
        raise StsError(f"mode is {mode!r}; expected enforce, testing or none")
    age = values.get("max_age", [""])[0]
    if not (age.isascii() and age.isdigit()) or int(age) > MAX_AGE_LIMIT:
        raise StsError(f"max_age {age!r} is not a number of seconds from 0 to {MAX_AGE_LIMIT}")
    mx = tuple(p.lower().rstrip(".") for p in values.get("mx", []))
    if not mx and mode != "none":
        raise StsError("policy names no mx pattern")
    return StsPolicy(mode, mx, int(age))


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: exact name, or ``*.`` standing for exactly one leftmost label."""
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return host == pattern


def uncovered_mx(policy: StsPolicy, mx_hosts: list[str]) -> list[str]:
    return [h for h in mx_hosts if not any(mx_matches(p, h) for p in policy.mx)]


def is_text_plain(content_type: str | None) -> bool:
    """RFC 8461 §3.3: the media type must be text/plain (parameters allowed)."""
    return bool(content_type) and content_type.split(";")[0].strip().lower() == "text/plain"
