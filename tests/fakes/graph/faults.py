"""Trouble on demand, and Graph's own limits for Outlook resources.

* Injected faults (`throttle`, `fail`): the next N requests, optionally only those whose path contains a string,
  answer 429 (the throttling sample's TooManyRequests body, with or without Retry-After) or 5xx. Without a
  `match` they hit Graph resource requests only, including each request inside a `$batch`; the token endpoint
  and the `$batch` envelope are hit only when `match` names them.
* The mailbox concurrency limit (4 requests in flight per app and mailbox; beyond -> 429 ApplicationThrottled,
  "Application is over its MailboxConcurrency limit.") and the rate limit (10,000 requests per 10 minutes per
  app and mailbox, counted one by one inside a batch; beyond -> 429 with Retry-After)."""

import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from tests.fakes.graph.replies import GraphError, Reply

_CODES = {500: ("generalException", "An unspecified error has occurred."),
          502: ("BadGateway", "Bad Gateway"),
          503: ("serviceNotAvailable", "The service is temporarily unavailable. Please retry later."),
          504: ("GatewayTimeout", "The gateway did not receive a response in time.")}


@dataclass
class FaultRule:
    times: int
    status: int
    retry_after: float | None
    match: str | None

    def applies(self, path: str, envelope: bool) -> bool:
        if self.match is None:
            return not envelope
        return self.match in path

    def reply(self) -> Reply:
        headers = {}
        if self.retry_after is not None:
            # Graph sends whole or fractional seconds ("2.128" in the sample); keep what the test asked for.
            value = self.retry_after
            headers["Retry-After"] = str(int(value)) if float(value).is_integer() else str(value)
        if self.status == 429:
            return GraphError(429, "TooManyRequests", "Please retry again later.", headers).reply()
        code, message = _CODES.get(self.status, ("generalException", "An unspecified error has occurred."))
        return GraphError(self.status, code, message, headers).reply()


class Faults:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def take(self, path: str, envelope: bool = False) -> Reply | None:
        """The injected answer for this request, consuming one use of the first rule that applies."""
        with self._lock:
            for rule in self._rules:
                if rule.times > 0 and rule.applies(path, envelope):
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                    return rule.reply()
        return None


class Limits:
    """Per (app, mailbox): requests in flight now, and the timestamps of requests in the rate window."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self.concurrency_limit = 4
        self.rate_limit: tuple[int, float] = (10000, 600.0)
        self.max_in_flight = 0
        self._in_flight: dict[tuple[str, str], int] = defaultdict(int)
        self._window: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def count(self, key: tuple[str, str]) -> None:
        """Count one request against the rate limit, or raise the 429 Graph answers beyond it."""
        limit, window = self.rate_limit
        now = time.monotonic()
        with self._lock:
            stamps = self._window[key]
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= limit:
                wait = max(1, math.ceil(stamps[0] + window - now))
                raise GraphError(429, "ApplicationThrottled", "Application is over its request limit.",
                                 {"Retry-After": str(wait)})
            stamps.append(now)

    def acquire(self, keys: list[tuple[str, str]]) -> list[bool]:
        """Take a slot for each key at once (a batch dispatches its requests together); False where the
        mailbox already has `concurrency_limit` requests in flight."""
        granted = []
        with self._lock:
            for key in keys:
                if self._in_flight[key] >= self.concurrency_limit:
                    granted.append(False)
                    continue
                self._in_flight[key] += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight[key])
                granted.append(True)
        return granted

    def release(self, keys: list[tuple[str, str]]) -> None:
        with self._lock:
            for key in keys:
                self._in_flight[key] -= 1


def concurrency_error() -> GraphError:
    return GraphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                      {"Retry-After": "1"})

