"""``send`` results: the transaction table (text) and the JSON shape of send.schema.json.

The probe's renderers draw the session; this module adds the mail
transaction (each reply with its meaning and what to do) and nothing else.
"""

from __future__ import annotations

from .json_output import probe_result, reply

SCHEMA_ID = "smtp-inspector/send/1"


def transaction(value) -> dict:
    return {
        "sender": value.sender,
        "recipients": list(value.recipients),
        "accepted": list(value.accepted),
        "method": value.method,
        "pipelined": value.pipelined,
        "size": value.size,
        "stuffed_lines": value.stuffed_lines,
        "status": value.status,
        "queue_id": value.queue_id,
        "greylist_delay_s": None if value.greylist_delay is None else round(value.greylist_delay, 3),
        "replies": [{"command": r.command, "reply": reply(r.reply) if r.reply else None, "kind": r.kind,
                     "explanation": r.explanation, "advice": r.advice, "rule": r.rule}
                    for r in value.replies],
    }


def send_result(result) -> dict:
    document = probe_result(result)
    document["schema"] = SCHEMA_ID
    document["transaction"] = transaction(result.transaction) if result.transaction else None
    return document


def dumps(result) -> str:
    import json
    return json.dumps(send_result(result), indent=2, ensure_ascii=False)


def session_document(result) -> dict:
    """The ``--json`` document of one session: send's when it ran a transaction, else probe's."""
    return send_result(result) if result.config.transaction is not None else probe_result(result)


def render_transaction(result) -> str:
    from .table import clip, escaped_table

    value = result.transaction
    rows = [(r.command, r.reply.summary() if r.reply else "-",
             clip(r.explanation + (f"; {r.advice}" if r.advice else ""), 80), r.rule)
            for r in value.replies]
    table = escaped_table(rows, ["command", "reply", "meaning / what to do", "rule"])
    facts = [f"Message: {value.size} octets by {value.method}"
             + (", pipelined (RFC 2920)" if value.pipelined else "")
             + (f", {value.stuffed_lines} line(s) dot-stuffed" if value.stuffed_lines else ""),
             f"Envelope: <{value.sender}> -> {', '.join(f'<{a}>' for a in value.recipients)}; "
             f"accepted {len(value.accepted)} of {len(value.recipients)}",
             f"Status: {value.status}" + (f", queue id {value.queue_id}" if value.queue_id else "")
             + (f", retried after greylisting ({value.greylist_delay:.1f} s)"
                if value.greylist_delay is not None else "")]
    return table + "\n" + "\n".join(facts)
