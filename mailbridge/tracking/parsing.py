"""Normalising batches in worker processes, one batch ahead of the database.

Parsing MIME is pure Python and costs about as much as writing the mail to the database, so a sync on a
machine with two cores or more parses the next batch in a worker while the main process writes the current
one: `ahead(batches)` yields each batch with its normalised messages, having already handed the following
batch to the pool. Small batches (a test, an incremental sync of a few mails) are parsed in-process: starting
workers would cost more than it saves.

Workers come from a "forkserver": forking the main process itself could copy a lock another thread holds (the
API runs syncs in threads); the fork server is a clean process started once."""

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Protocol, TypeVar

from mailbridge.errors import Unreadable
from mailbridge.message import NormalisedMessage, NormaliseOptions, normalise

log = logging.getLogger(__name__)

Normalised = NormalisedMessage | Unreadable  # what normalising one raw message gave
B = TypeVar("B")
R = TypeVar("R", bound="Raw")
MIN_POOLED = 16  # fewer messages than this are parsed in-process
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
        out.append((result.reason, result.detail) if isinstance(result, Unreadable) else result)
    return out


def _received(shipped: list[_Shipped]) -> list[Normalised]:
    return [Unreadable(s[1], reason=s[0]) if isinstance(s, tuple) else s for s in shipped]


class BatchNormaliser:
    """`with BatchNormaliser(options, workers) as n: for batch, parsed in n.ahead(batches, items_of): ...`"""

    def __init__(self, options: NormaliseOptions, workers: int | None = None) -> None:
        self.options = options
        self.workers = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "BatchNormaliser":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self, items: Sequence[R]) -> Callable[[], list[tuple[R, Normalised]]]:
        """Starts normalising `items`; returns how to get each item with its result."""
        if self.workers < 1 or len(items) < MIN_POOLED:
            return lambda: [(item, normalise_one(item.raw, self.options)) for item in items]
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"))
        size = -(-len(items) // self.workers)  # one share per worker, so every core parses this batch
        futures: list[Future[list[_Shipped]]] = [
            self._pool.submit(_normalise_shipped, [item.raw for item in items[i:i + size]], self.options)
            for i in range(0, len(items), size)]
        return lambda: list(zip(items, [m for f in futures for m in _received(f.result())], strict=True))

    def ahead(self, batches: Iterable[B], items_of: Callable[[B], Sequence[R]]
              ) -> Iterator[tuple[B, list[tuple[R, Normalised]]]]:
        """Each batch with the items `items_of` chose from it, each with its normalised message, in order; the
        next batch is already being parsed while the caller works on the one yielded."""
        pending: tuple[B, Callable[[], list[tuple[R, Normalised]]]] | None = None
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
                    yield pending[0], pending[1]()
                raise
            started = (batch, self._submit(items_of(batch)))
            if pending is not None:
                yield pending[0], pending[1]()
            pending = started
        if pending is not None:
            yield pending[0], pending[1]()
