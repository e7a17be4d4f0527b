"""One policy turns how a pass ended into what happens next, as ARCHITECTURE.md asks: retry later (with
exponential back-off and jitter, never sooner than the server's own hint), park the mailbox after repeated
failures, or stop it when the server refused the credentials. Pure: it decides, the runner applies."""

import random
from dataclasses import dataclass
from typing import Literal

from crm_core.errors import Conflict
from crm_core.settings import Settings
from mailbridge.errors import AuthenticationFailed, MailError, TemporaryFailure
from mailbridge.tracking.results import SyncSummary

Verdict = Literal["succeed", "back_off", "park", "stop", "refused"]
# Errors that another try cannot fix until someone changes something: parked at once, not retried for hours.
_HOPELESS = frozenset({"unsupported", "folder_missing", "secret", "credentials"})


@dataclass(frozen=True)
class RunPolicy:
    lease_seconds: float = 90.0  # a worker that dies blocks its mailbox this long at most
    backoff_base_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    park_after_failures: int = 8
    requeue_after_seconds: float = 180.0  # a queued task that never reached a worker is sent again

    @classmethod
    def from_settings(cls, settings: Settings) -> "RunPolicy":
        return cls(lease_seconds=settings.sync_lease_seconds, backoff_base_seconds=settings.sync_backoff_base_seconds,
                   backoff_max_seconds=settings.sync_backoff_max_seconds,
                   park_after_failures=settings.sync_park_after_failures,
                   requeue_after_seconds=settings.sync_requeue_seconds)

    def backoff(self, failures: int, hint: float | None = None) -> float:
        """Exponential back-off with "equal jitter" (half fixed, half random), never below the server's hint:
        workers that failed together do not come back together."""
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** max(0, failures - 1))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        return max(delay, hint or 0.0)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    outcome: str  # the run's outcome (crm_core.models.mailbox_sync.RUN_OUTCOMES)
    reason: str | None = None
    message: str | None = None
    delay: float = 0.0
    counts: bool = True  # whether it brings the mailbox nearer parking
    throttled_for: float | None = None
    alert: tuple[str, str] | None = None  # (level, code)


def after_summary(summary: SyncSummary) -> Decision:
    """A pass that ran to its end; a folder may still have failed on its own."""
    throttled = [f for f in summary.folders.values() if f.error and f.retry_after is not None]
    if throttled:
        wait = max(f.retry_after or 0.0 for f in throttled)
        names = ", ".join(f.folder for f in throttled)
        return Decision("back_off", "throttled", "throttled", f"the server asked to wait {wait:.0f} s ({names})",
                        delay=wait, counts=False, throttled_for=wait, alert=("warning", "throttled"))
    failed = [f for f in summary.folders.values() if f.error]
    if failed:
        message = "; ".join(f"{f.folder}: {f.error}" for f in failed)
        return Decision("succeed", "partial", "folder", message, alert=("warning", "folder"))
    return Decision("succeed", "succeeded")


def after_error(exc: BaseException, failures: int, policy: RunPolicy) -> Decision:
    """A pass that raised; `failures` counts this one."""
    if isinstance(exc, Conflict):  # the mailbox may not sync (switched off, pending approval) since it was queued
        return Decision("refused", "refused", "may_not_sync", exc.detail)
    if isinstance(exc, AuthenticationFailed):
        return Decision("stop", "stopped", exc.reason, exc.detail, alert=("error", "authentication"))
    if isinstance(exc, MailError):
        reason, message = exc.reason, exc.detail
        hint = exc.retry_after if isinstance(exc, TemporaryFailure) else None
    else:  # a bug or the database: retried like a temporary failure, and parked if it keeps failing
        reason, message, hint = "unknown", f"{type(exc).__name__}: {exc}", None
    if reason in _HOPELESS or failures >= policy.park_after_failures:
        why = message if reason in _HOPELESS else f"{failures} failures in a row; the last: {message}"
        return Decision("park", "failed", reason, why, alert=("error", "parked"))
    delay = policy.backoff(failures, hint)
    return Decision("back_off", "failed", reason, message, delay=delay, throttled_for=hint,
                    alert=("warning", "sync_failing"))
