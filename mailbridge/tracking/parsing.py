"""Normalising batches in worker processes, one batch ahead of the database.

Parsing MIME is pure Python and costs more than writing the mail to the database (batches write in bulk), so
a sync on a machine with two cores or more parses the next batch in workers while the main process writes the
current one: `ahead(batches)` yields each batch with its normalised messages, having already handed the
following batch to the pool in small tasks. When the main process is done with its batch before the workers
are with the next, it does not wait idle: it parses the tasks no worker has started yet itself, from the
last one back, one at a time (`Future.cancel` tells which are not started); and while the workers finish the
tasks they started, it takes the last ones of the batch after (already handed out), as long as the workers
keep enough of it to stay busy while the caller writes the next batch (as long as it took with the last one).
So the parsing is shared between the processes by how fast each is, whatever the database costs. Small
batches (a test, an incremental sync of a few mails) are parsed in-process: starting workers would cost more
than it saves.

Workers come from a "forkserver": forking the main process itself could copy a lock another thread holds (the
API runs syncs in threads); the fork server is a clean process started once."""

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from mailbridge.errors import Unreadable
from mailbridge.message import NormalisedMessage, NormaliseOptions, normalise
from mailbridge.tracking.collection_pacing import start_bulk_worker

log = logging.getLogger(__name__)

Normalised = NormalisedMessage | Unreadable  # what normalising one raw message gave
B = TypeVar("B")
R = TypeVar("R", bound="Raw")
MIN_POOLED = 16  # fewer messages than this are parsed in-process
TASK = 5  # messages per task handed to a worker: small enough for the main process to take the last few over
# What crosses the process boundary: exceptions with keyword state do not survive pickling whole.
_Shipped = NormalisedMessage | tuple[str, str]


class Raw(Protocol):
    """A source's message or a pipeline item: anything with raw bytes."""

    @property
    def raw(self) -> bytes: ...


def default_workers() -> int:
    """One core for the database, the others for parsing; none on a single core."""
    return max(0, (os.cpu_count() or 1) - 1)


def normalise_one(raw: bytes, options: NormaliseOptions) -> Normalised:
    try:
        return normalise(raw, options)
    except Unreadable as exc:
        return exc


def _normalise_shipped(raws: list[bytes], options: NormaliseOptions) -> list[_Shipped]:
    out: list[_Shipped] = []
    for raw in raws:
        result = normalise_one(raw, options)
        # The raw bytes do not travel back: the main process holds them (a quarter of what crossed the pipe).
        out.append((result.reason, result.detail) if isinstance(result, Unreadable) else replace(result, raw=b""))
    return out


def _received(shipped: list[_Shipped], raws: Sequence[bytes]) -> list[Normalised]:
    out: list[Normalised] = []
    for s, raw in zip(shipped, raws, strict=True):
        if isinstance(s, tuple):
            out.append(Unreadable(s[1], reason=s[0]))
        else:
            object.__setattr__(s, "raw", raw)  # a frozen message, just unpickled and not yet seen by anyone
            out.append(s)
    return out


class _Parsing(Generic[R]):
    """One batch's items being normalised: in tasks handed to the pool (none: in-process, when asked)."""

    def __init__(self, items: Sequence[R], options: NormaliseOptions, pool: ProcessPoolExecutor | None) -> None:
        self.options = options
        self.tasks = [items[i:i + TASK] for i in range(0, len(items), TASK)] if pool is not None else [items]
        self.futures: list[Future[list[_Shipped]]] | None = None if pool is None else [
            pool.submit(_normalise_shipped, [item.raw for item in task], options) for task in self.tasks]
        self.done: dict[int, list[Normalised]] = {}  # the tasks parsed here
        self._last = len(self.tasks) - 1  # the next task to take over, from the end; -1: none left

    def take_one(self) -> float | None:
        """Parses here the last task no worker has started: how long that took; None when there is none (the
        pool takes tasks in order, so once one has started, every earlier one has too)."""
        if self.futures is None or self._last < 0 or not self.futures[self._last].cancel():
            return None
        started = time.perf_counter()
        self.done[self._last] = self._here(self._last)
        self._last -= 1
        return time.perf_counter() - started

    def waiting(self) -> int:
        """How many tasks no worker has started yet (a task handed to a worker's queue counts as started)."""
        futures = self.futures or []
        return sum(1 for f in futures[:self._last + 1] if not f.running() and not f.done())

    def in_order(self, wait: Callable[[int], None]) -> list[tuple[R, Normalised]]:
        """Each item with its result, in order; `wait(i)` is called before waiting for a worker's task i."""
        if self.futures is None:
            return list(zip(self.tasks[0], self._here(0), strict=True))
        out: list[tuple[R, Normalised]] = []
        for i, task in enumerate(self.tasks):
            if i not in self.done:
                if not self.futures[i].done():
                    wait(i)
                self.done[i] = _received(self.futures[i].result(), [item.raw for item in task])
            out.extend(zip(task, self.done[i], strict=True))
        return out

    def _here(self, task: int) -> list[Normalised]:
        return [normalise_one(item.raw, self.options) for item in self.tasks[task]]


class BatchNormaliser:
    """`with BatchNormaliser(options, workers) as n: for batch, parsed in n.ahead(batches, items_of): ...`"""

    def __init__(self, options: NormaliseOptions, workers: int | None = None) -> None:
        self.options = options
        self.workers = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        self._task_seconds: float | None = None  # what parsing one task took the main process, the last time

    def __enter__(self) -> "BatchNormaliser":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self, items: Sequence[R]) -> _Parsing[R]:
        """Starts normalising `items` (in-process, later, for a small batch or without workers)."""
        if self.workers < 1 or len(items) < MIN_POOLED:
            return _Parsing(items, self.options, None)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"),
                                             initializer=start_bulk_worker)
        return _Parsing(items, self.options, self._pool)

    def _results(self, parsing: _Parsing[R], after: _Parsing[R] | None = None,
                 keep: float = 0.0) -> list[tuple[R, Normalised]]:
        """`parsing`'s results, the tasks no worker started parsed here. While a worker finishes a task, the
        main process parses tasks of the batch `after` instead, leaving the workers at least `keep` seconds
        of it."""
        while (seconds := parsing.take_one()) is not None:
            self._task_seconds = seconds

        def wait(task: int) -> None:
            future = parsing.futures[task] if parsing.futures else None
            while (future is not None and not future.done() and after is not None and self._task_seconds
                   and (after.waiting() - 1) * self._task_seconds >= keep
                   and (seconds := after.take_one()) is not None):
                self._task_seconds = seconds

        return parsing.in_order(wait)

    def ahead(self, batches: Iterable[B], items_of: Callable[[B], Sequence[R]]
              ) -> Iterator[tuple[B, list[tuple[R, Normalised]]]]:
        """Each batch with the items `items_of` chose from it, each with its normalised message, in order; the
        next batch is already being parsed while the caller works on the one yielded."""
        pending: tuple[B, _Parsing[R]] | None = None
        caller = float("inf")  # until a batch was handed over: take nothing of the next one
        source = iter(batches)
        while True:
            try:
                batch = next(source)
            except StopIteration:
                break
            except Exception:
                # Reading the next batch failed (the server went away): the one in hand is still delivered,
                # so that its work is committed before the error stops the pass.
                if pending is not None:
                    yield pending[0], self._results(pending[1])
                raise
            started = (batch, self._submit(items_of(batch)))
            if pending is not None:
                parsed = self._results(pending[1], started[1], keep=caller)
                handed = time.perf_counter()
                yield pending[0], parsed
                caller = time.perf_counter() - handed  # what the caller spent on it: the workers' share to keep
            pending = started
        if pending is not None:
            yield pending[0], self._results(pending[1])
