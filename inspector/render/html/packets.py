"""``probe --sniff``'s segments (the JSON ``packets`` member) → facts on the ladder's arrows.

In plaintext a segment belongs to the arrow whose bytes it carries: its
sequence number, less the SYN's, is a byte offset into the stream, and the
arrows' sizes give each one's range (RFC 9293 §3.4). Inside TLS the records
hide the lines and the transcript's clock runs behind the capture's (the
capture thread holds the interpreter), so the TLS segments are summed up in
one row at the start of the TLS part instead of guessed onto arrows. A
segment whose sequence number and length were seen before is a
retransmission (RFC 9293 §3.8.1); a RST or FIN becomes a row of its own,
saying who sent it and with which TTL. Only what the segments show.
"""

from __future__ import annotations

from ...frozen import replace
from .ladder import NOTE_ROW_CHARS, Arrow, Note
from .wrap import fold


def with_packets(items: list, segments: list[dict], offset: float = 0.0) -> list:
    """``offset``: the transcript's time of the SYN when no plaintext byte pins it down."""
    arrows = [(n, item) for n, item in enumerate(items) if isinstance(item, Arrow)]
    first_byte = {s["direction"]: s["seq"] + 1 for s in segments if "S" in s["flags"]}
    ranges = _plaintext_ranges(arrows)
    facts: dict[int, list[dict]] = {}
    late: list[dict] = []
    diffs = {"send": [], "recv": []}
    seen: set = set()
    events: list[dict] = []
    for seg in segments:
        key = (seg["direction"], seg["seq"], seg["payload"])
        seg = {**seg, "retransmitted": seg["payload"] > 0 and key in seen}
        seen.add(key)
        if "R" in seg["flags"] or "F" in seg["flags"]:
            events.append(seg)
        if seg["payload"] == 0:
            continue
        at = (seg["seq"] - first_byte.get(seg["direction"], seg["seq"])) % 2 ** 32
        owner = next((n for start, end, n in ranges[seg["direction"]] if start <= at < end), None)
        if owner is not None:
            facts.setdefault(owner, []).append(seg)
            diffs[seg["direction"]].append(items[owner].t - seg["t"])
        else:
            late.append(seg)
    align = _alignment(diffs, offset)
    out = [replace(item, more=item.more + (_describe(facts[n]),)) if n in facts else item
           for n, item in enumerate(items)]
    if late:  # inside TLS: records, not lines; summed up, never guessed onto an arrow
        at = next((n for n, item in enumerate(out) if item.tls), len(out) - 1)
        client = [s for s in late if s["direction"] == "send"]
        server = [s for s in late if s["direction"] == "recv"]
        text = (f"packets not matched to a line (TLS records): {len(client)} segments from the client "
                f"({sum(s['payload'] for s in client)} bytes), {len(server)} from the server "
                f"({sum(s['payload'] for s in server)} bytes)")
        out.insert(at, Note(out[at].t, out[at].tls, out[at].step, fold(text, NOTE_ROW_CHARS)))
    for seg in events:  # FIN and RST in capture order, before the session's end row
        side = "client" if seg["direction"] == "send" else "server"
        what = "RST" if "R" in seg["flags"] else "FIN"
        text = f"TCP {what} from the {side} (TTL {seg['ttl']}, flags {seg['flags']})"
        out.insert(len(out) - 1, Note(seg["t"] + align, False, "end" if what == "RST" else "close", (text,)))
    return out


def _plaintext_ranges(arrows) -> dict:
    """Byte ranges of the arrows before TLS and before a redacted line (whose size is not the wire's)."""
    ranges: dict[str, list] = {"send": [], "recv": []}
    position = {"send": 0, "recv": 0}
    for number, arrow in arrows:
        direction = "send" if arrow.kind == "command" else "recv"
        if arrow.tls or arrow.redacted:
            position[direction] = None
        if position[direction] is None:
            continue
        ranges[direction].append((position[direction], position[direction] + arrow.size, number))
        position[direction] += arrow.size
    return ranges


def _alignment(diffs: dict, offset: float) -> float:
    """Transcript time minus capture time. A segment leaves microseconds after its write, so the
    writes give it (the latest bound); a read may wait after its segment arrived, so the reads only
    bound it from above."""
    if diffs["send"]:
        return max(diffs["send"])
    return min(diffs["recv"]) if diffs["recv"] else offset


def _describe(segments: list[dict]) -> str:
    sizes = "+".join(str(s["payload"]) for s in segments)
    ttls = "/".join(str(ttl) for ttl in sorted({s["ttl"] for s in segments}))
    plural = "s" if len(segments) > 1 else ""
    text = f"⋯ {len(segments)} segment{plural} ({sizes} bytes), TTL {ttls}"
    retransmitted = sum(s["retransmitted"] for s in segments)
    if retransmitted:
        text += f", {retransmitted} retransmitted"
    return text
