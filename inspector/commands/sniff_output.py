"""``probe --sniff``: run the probe inside a capture and print it (a helper of commands/probe.py)."""

from __future__ import annotations

import json

from ..errors import UsageError
from .common import require_raw_sockets


def run_and_emit_sniffed(config, args):
    from ..probes.sniffed import packets_json, run_sniffed_probe

    if args.pcap and not args.sniff:
        raise UsageError("--pcap needs --sniff")
    require_raw_sockets("probe --sniff")
    if args.pcap:
        try:
            open(args.pcap, "ab").close()
        except OSError as exc:
            raise UsageError(f"cannot write --pcap {args.pcap!r}: {exc.strerror}") from None
    if ":" in config.host:
        raise UsageError(f"--sniff captures IPv4 only, and {config.host!r} is an IPv6 address")
    try:
        result, evidence = run_sniffed_probe(config, args.pcap)
    except OSError as exc:
        raise UsageError(f"cannot capture packets for {config.host}: {exc.strerror or exc}") from None
    if args.json:
        from ..render.json_output import probe_result
        if result.config.transaction is not None:
            from ..render.send_output import send_result as probe_result
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
    return result
