"""The typed results of tracking: where a raw message came from (`SourceItem`), what became of it
(`Outcome`), the counts of a folder or an import (`FolderSummary`) and of a whole mailbox (`SyncSummary`),
and what a progress callback receives (`ProgressEvent`)."""

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

OutcomeKind = Literal["tracked", "duplicate", "already_seen", "skipped", "quarantined"]


@dataclass(frozen=True)
class SourceItem:
    """One raw message and its place: an IMAP folder, UIDVALIDITY and UID, or a local import's stable key as
    the folder with UIDVALIDITY and UID 0. The place is what makes a rerun find what it already did."""

    folder: str
    uidvalidity: int
    uid: int
    raw: bytes = field(repr=False)
    internal_date: dt.datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What one message became. `email_id` for tracked and duplicate mail; `reason` for skipped mail (blocked,
    not_known_records, not_crm_reply, untracked) and quarantined mail (a quarantine reason code)."""

    kind: OutcomeKind
    email_id: uuid.UUID | None = None
    reason: str | None = None
    detail: str | None = None


@dataclass
class FolderSummary:
    folder: str
    fetched: int = 0
    tracked: int = 0
    duplicates: int = 0
    already_seen: int = 0
    skipped: int = 0
    quarantined: int = 0
    vanished: int = 0
    strategy: str | None = None
    full_resync: bool = False
    error: str | None = None  # the folder could not be synced (missing, throttled): the others still were
    retry_after: float | None = None  # the server's wait hint when it throttled this folder
    skipped_by_reason: Counter[str] = field(default_factory=Counter)
    quarantined_by_reason: Counter[str] = field(default_factory=Counter)

    def count(self, outcome: Outcome) -> None:
        self.fetched += 1
        if outcome.kind == "tracked":
            self.tracked += 1
        elif outcome.kind == "duplicate":
            self.duplicates += 1
        elif outcome.kind == "already_seen":
            self.already_seen += 1
        elif outcome.kind == "skipped":
            self.skipped += 1
            self.skipped_by_reason[outcome.reason or "unknown"] += 1
        else:
            self.quarantined += 1
            self.quarantined_by_reason[outcome.reason or "unknown"] += 1


@dataclass
class SyncSummary:
    """A mailbox's pass: one FolderSummary per folder (or one for a local import), and the totals."""

    mailbox_id: uuid.UUID
    folders: dict[str, FolderSummary] = field(default_factory=dict)

    def _total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.folders.values())

    @property
    def fetched(self) -> int:
        return self._total("fetched")

    @property
    def tracked(self) -> int:
        return self._total("tracked")

    @property
    def duplicates(self) -> int:
        return self._total("duplicates") + self._total("already_seen")

    @property
    def skipped(self) -> int:
        return self._total("skipped")

    @property
    def quarantined(self) -> int:
        return self._total("quarantined")


@dataclass(frozen=True)
class ProgressEvent:
    """After each message: its folder, how many of the folder are done, the total when known (a local import
    knows it up front; an IMAP folder reports None) and the outcome."""

    folder: str
    done: int
    total: int | None
    outcome: Outcome


Progress = Callable[[ProgressEvent], None]
