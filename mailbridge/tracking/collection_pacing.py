"""Fewer cyclic garbage collections while mail is tracked in bulk.

A batch allocates hundreds of thousands of short-lived objects (parsed MIME trees, header objects, row dicts).
With CPython's default thresholds a collection of the youngest generation starts every 700 allocations and,
every tenth, one of the middle generation, each walking its objects: 13% of the main process's CPU in a first
sync of 5,000 messages (measured with gc.callbacks). Reference counting frees nearly all of those objects
anyway; the collector is there for cycles, which a batch makes few of. So while a sync or an import runs, the
thresholds are raised; the former ones come back when the last of them ends (several may run in threads of one
process, and the thresholds are the process's). Parse workers (parsing.py) run with the raised thresholds for
their whole life."""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLDS = (50_000, 50, 100)

_lock = threading.Lock()
_running = 0
_former: tuple[int, int, int] | None = None


@contextmanager
def bulk_collection() -> Iterator[None]:
    """Raised collection thresholds for the duration (nested and concurrent uses share them)."""
    global _running, _former
    with _lock:
        if _running == 0:
            _former = gc.get_threshold()
            gc.set_threshold(*BULK_THRESHOLDS)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _former is not None:
                gc.set_threshold(*_former)
                _former = None


def start_bulk_worker() -> None:
    """A worker process's initialiser: its imports moved out of the collector's sight, the thresholds raised."""
    gc.freeze()
    gc.set_threshold(*BULK_THRESHOLDS)
