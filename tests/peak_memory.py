"""Run the smtp-inspector CLI and report this process's peak memory on stderr.

``VmHWM`` in /proc/self/status is the high-water mark of the address space
created by exec, so it measures the inspector alone; ru_maxrss from wait4
would also count the parent's pages at fork time.
"""

import sys

from inspector.cli import main

code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"PEAK_KB {peak}", file=sys.stderr)
sys.exit(code)
