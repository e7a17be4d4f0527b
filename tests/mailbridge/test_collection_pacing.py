"""Raised garbage-collection thresholds during bulk tracking (mailbridge/tracking/collection_pacing.py): they
hold while any sync of the process runs and the former ones come back when the last ends, even on an error."""

import gc
import threading

import pytest

from mailbridge.tracking.collection_pacing import BULK_THRESHOLDS, bulk_collection


def test_thresholds_are_raised_while_syncs_run_and_restored_after_the_last() -> None:
    former = gc.get_threshold()
    inside = threading.Event()
    release = threading.Event()

    def other_sync() -> None:
        with bulk_collection():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_sync)
    with bulk_collection():
        assert gc.get_threshold() == BULK_THRESHOLDS
        thread.start()
        assert inside.wait(10)
    assert gc.get_threshold() == BULK_THRESHOLDS  # the other sync still runs
    release.set()
    thread.join(10)
    assert gc.get_threshold() == former


def test_a_failing_sync_restores_the_thresholds() -> None:
    former = gc.get_threshold()
    with pytest.raises(RuntimeError), bulk_collection():
        raise RuntimeError("the server went away")
    assert gc.get_threshold() == former
