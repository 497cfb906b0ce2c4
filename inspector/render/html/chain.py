"""The certificate report's JSON (``certificate``) → a small picture: leaf, intermediates, root.

Each box has the certificate's role, common name, validity dates and key; the
whole chain carries the verdicts already decided (trusted, name matches).
"""

from __future__ import annotations

import re

BOX_W, BOX_H, GAP = 470, 74, 26


def common_name(dn: str) -> str:
    match = re.search(r"(?:^|,)CN=([^,]*)", dn or "")
    return match.group(1) if match else (dn or "(no subject)")


def chain_view(report: dict) -> dict:
    chain = report.get("chain") or []
    boxes = []
    for index, cert in enumerate(chain):
        if index == 0:
            role = "leaf"
        elif cert.get("self_signed"):
            role = "root"
        else:
            role = "intermediate"
        key = f"{cert.get('key_type')} {cert.get('key_bits')}"
        if cert.get("curve"):
            key += f" {cert['curve']}"
        dates = f"{(cert.get('not_before') or '')[:10]} → {(cert.get('not_after') or '')[:10]}"
        boxes.append({"index": index, "role": role, "name": common_name(cert.get("subject", "")),
                      "subject": cert.get("subject", ""), "issuer": cert.get("issuer", ""),
                      "dates": dates,
                      "key": key, "signature": cert.get("signature_algorithm", ""),
                      "sans": ", ".join(cert.get("sans") or []),
                      "y": index * (BOX_H + GAP)})
    missing_root = bool(chain) and not chain[-1].get("self_signed")
    if missing_root:
        issuer = chain[-1]["issuer"]
        boxes.append({"index": len(chain), "role": "root (not sent)", "name": common_name(issuer),
                      "subject": issuer, "issuer": "", "dates": "from the trust store",
                      "key": "", "signature": "", "sans": "", "y": len(chain) * (BOX_H + GAP),
                      "absent": True})
    height = len(boxes) * (BOX_H + GAP) - GAP + 4 if boxes else 20
    trusted = report.get("trusted")
    return {"boxes": boxes, "width": BOX_W + 8, "height": height, "box_w": BOX_W, "box_h": BOX_H,
            "trusted": trusted, "trust_error": report.get("trust_error"),
            "servername": report.get("servername"), "hostname_match": report.get("hostname_match"),
            "tlsa": report.get("tlsa") or []}
