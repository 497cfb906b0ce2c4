"""The interpreter tuned for a long batch run (a scan, a replay), and put back afterwards.

A batch run keeps thousands of young objects alive at once (sessions in flight, open flows)
and makes little or no cyclic garbage. With CPython's default thresholds (700, 10, 10) the
collector promotes them, the older generations fill with what dies soon after, and full
collections walk the whole heap: 10-15% of a scan's or a replay's CPU, growing with the run.
:func:`tuned_for_batch` freezes the heap made before the run (modules, classes) out of every
collection and raises the young threshold, a bound on what cyclic garbage, if some ever
appeared, could hold back; a host that froze its own heap keeps its freeze.
"""

from __future__ import annotations

import contextlib
import gc
import sys

#: Net new container objects between two young collections during a batch run.
YOUNG_THRESHOLD = 20_000


@contextlib.contextmanager
def tuned_for_batch(*, older: tuple[int, int] | None = None, switch_interval: float | None = None):
    """Collector (and optionally the thread switch interval) tuned while the block runs.

    ``older``: the thresholds of the two older generations (default: left as they are);
    ``switch_interval``: ``sys.setswitchinterval`` for a run of many threads.
    """
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    freezing = gc.get_freeze_count() == 0
    if freezing:
        gc.freeze()
    gc.set_threshold(max(thresholds[0], YOUNG_THRESHOLD), *(older or thresholds[1:]))
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
        if freezing:
            gc.unfreeze()
