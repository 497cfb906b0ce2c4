"""Reading captures (pcap, pcapng): frames → TCP streams → judged SMTP sessions.

Pure code: file objects in, results out; no sockets, no scapy.
"""

from .pcap import CaptureError
from .replay import ReplayResult, parse_capture_bytes, replay_file, replay_stream

__all__ = ["CaptureError", "ReplayResult", "parse_capture_bytes", "replay_file", "replay_stream"]
