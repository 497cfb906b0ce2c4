"""inspector.collector: the interpreter tuned only while a batch run's block runs."""

import gc
import sys

from inspector.collector import YOUNG_THRESHOLD, tuned_for_batch


def test_the_collector_is_tuned_inside_and_restored_after():
    before = (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count())
    with tuned_for_batch(older=(20, 10), switch_interval=0.05):
        assert gc.get_threshold() == (max(before[0][0], YOUNG_THRESHOLD), 20, 10)
        assert abs(sys.getswitchinterval() - 0.05) < 1e-6
        assert gc.get_freeze_count() > 0          # the heap made before the run is out of the scans
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()) == before


def test_the_older_thresholds_and_interval_stay_unless_asked():
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    with tuned_for_batch():
        assert gc.get_threshold()[1:] == thresholds[1:]
        assert sys.getswitchinterval() == interval
    assert gc.get_threshold() == thresholds


def test_a_host_that_froze_its_heap_keeps_its_freeze():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with tuned_for_batch():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_settings_come_back_when_the_run_fails():
    before = (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count())
    try:
        with tuned_for_batch(switch_interval=0.02):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()) == before
