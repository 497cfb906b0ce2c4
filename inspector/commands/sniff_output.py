"""``probe --sniff``: run the probe inside a capture and print it (a helper of commands/probe.py)."""

from __future__ import annotations

import json

from ..errors import UsageError
from ..net.transport import os_reason
from .common import require_raw_sockets, write_html


def run_and_emit_sniffed(config, args):
    from ..probes.sniffed import packets_json, run_sniffed_probe

    if args.pcap and not args.sniff:
        raise UsageError("--pcap needs --sniff")
    require_raw_sockets("probe --sniff")
    if args.pcap:
        import os

        from .common import input_file

        if os.path.lexists(args.pcap):  # appending to a FIFO would wait for a reader forever
            input_file(args.pcap, "--pcap")
        try:
            open(args.pcap, "ab").close()
        except OSError as exc:
            raise UsageError(f"cannot write --pcap {args.pcap}: {os_reason(exc)}") from None
    if ":" in config.host:
        raise UsageError(f"--sniff captures IPv4 only, and {config.host!r} is an IPv6 address")
    try:
        result, evidence = run_sniffed_probe(config, args.pcap)
    except OSError as exc:
        raise UsageError(f"cannot capture packets for {config.host}: {os_reason(exc)}") from None
    if args.json:
        from ..render.json_output import probe_result
        document = probe_result(result)
        document["packets"] = packets_json(evidence)
        print(json.dumps(document, indent=2))
    else:
        from ..render.text import render_probe
        print(render_probe(result, teach=False, verbose=getattr(args, "verbose", False)))
        print("\npackets (--sniff):")
        for s in evidence.segments:
            print(f"  {s.t:9.6f} {s.direction:4} {s.flags:4} len {s.payload:5}  TTL {s.ttl:3}  "
                  f"IP-ID {s.ip_id:5}  win {s.window}")
    write_html(args, "probe", lambda: _html_document(result, evidence))
    return result


def _html_document(result, evidence) -> dict:
    from ..probes.sniffed import packets_json
    from ..render.json_output import probe_result
    return {**probe_result(result), "packets": packets_json(evidence)}
