"""Keeping within Graph's limits for one app and mailbox, and waiting as Graph asks.

- `MailboxSlots`: at most N requests in flight (4), shared by every client of the same app and mailbox in this
  process (the mail sync, the calendar store, the add-in's fetch, the transport). A request takes one slot; a
  `$batch` takes one per request it carries, up to all N, because Graph runs a batch's requests four at once and
  counts each against the mailbox (the envelope itself not).
- `RequestBudget`: at most N requests in a sliding window (10,000 per 10 minutes), shared by every client of
  the same app and mailbox in this process. A request that would go over waits for the window to move on; if
  that wait is longer than the client may wait, it raises TemporaryFailure with the wait as `retry_after`.
- `retry_wait`: how long to wait after a 429 or 503: the server's Retry-After (seconds, or an HTTP date), else an
  exponential back-off with jitter."""

import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime

from mailbridge.errors import TemporaryFailure
from mailbridge.sources.graph.settings import GraphLimits

_budgets: dict[tuple[str, str], "RequestBudget"] = {}
_budgets_lock = threading.Lock()
_slots: dict[tuple[str, str], "MailboxSlots"] = {}
_slots_lock = threading.Lock()


class MailboxSlots:
    """A counting semaphore whose waiters take several slots at once, served in arrival order: a $batch
    waiting for all four slots is not starved by single requests slipping in as each slot frees."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._free = capacity
        self._queue: deque[object] = deque()
        self._changed = threading.Condition()

    @classmethod
    def shared(cls, app: str, mailbox: str, limits: GraphLimits) -> "MailboxSlots":
        """The slots of one app and mailbox (Graph's concurrency limit is per app per mailbox)."""
        key = (app, mailbox.lower())
        with _slots_lock:
            slots = _slots.get(key)
            if slots is None or slots.capacity != limits.concurrency:
                slots = _slots[key] = cls(limits.concurrency)
            return slots

    @contextmanager
    def hold(self, count: int) -> Iterator[int]:
        """`count` slots (at most all of them) for the duration of the block; yields how many were taken."""
        count = max(1, min(count, self.capacity))
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            try:
                self._changed.wait_for(lambda: self._queue[0] is ticket and self._free >= count)
            except BaseException:  # interrupted while waiting: leave the line, or it stalls behind us for good
                self._queue.remove(ticket)
                self._changed.notify_all()
                raise
            self._queue.popleft()
            self._free -= count
            self._changed.notify_all()  # the next in line may fit in what is left
        try:
            yield count
        finally:
            with self._changed:
                self._free += count
                self._changed.notify_all()


class RequestBudget:
    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, app: str, mailbox: str, limits: GraphLimits) -> "RequestBudget":
        """The budget of one app and mailbox (Graph counts per app per mailbox, whichever process sends)."""
        key = (app, mailbox.lower())
        with _budgets_lock:
            budget = _budgets.get(key)
            if budget is None or (budget.limit, budget.window) != (limits.requests, limits.window):
                budget = _budgets[key] = cls(limits.requests, limits.window)
            return budget

    def take(self, count: int, max_wait: float) -> None:
        """Counts `count` requests about to be sent, waiting first if the window is full."""
        if count > self.limit:
            raise ValueError(f"{count} requests at once exceed the budget of {self.limit}")
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) + count <= self.limit:
                    self._sent.extend([now] * count)
                    return
                wait = self._sent[len(self._sent) + count - self.limit - 1] + self.window - now
            if wait > max_wait:
                raise TemporaryFailure(f"the request budget of {self.limit} per {self.window:.0f} s is spent",
                                       reason="throttled", retry_after=wait)
            time.sleep(max(wait, 0.001))


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header's wait: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def retry_wait(header: str | None, attempt: int, limits: GraphLimits) -> float:
    """The wait before attempt number `attempt` + 1: what the server said, else 1, 2, 4... seconds, +-20 %."""
    told = retry_after_seconds(header)
    if told is not None:
        return told
    return limits.backoff * (2 ** attempt) * random.uniform(0.8, 1.2)
