"""The actions a plan is made of. Each runs against the two stores and records its outcome in the status
book itself, so that the runner can commit after each one: a sync killed between two actions has lost
nothing, and the next pass starts from what was recorded (vdirsyncer's `sync/` actions)."""

import contextlib
from dataclasses import dataclass
from typing import Protocol

from calendar_sync.errors import NotFound
from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import CalendarStore
from calendar_sync.sync.status import Side, Status, StatusBook


class Journal(Protocol):
    """Where the engine reports what a user or an admin must be able to see afterwards."""

    def conflict(self, uid: str, policy: str, winner: str, crm: CalendarItem, remote: CalendarItem) -> None:
        ...

    def quarantine(self, side: str, href: str, etag: str, raw: str, reason: str, message: str) -> None:
        ...


@dataclass
class Context:
    crm: CalendarStore
    remote: CalendarStore
    book: StatusBook
    journal: Journal

    def store(self, side: str) -> CalendarStore:
        return self.crm if side == "crm" else self.remote


class Action(Protocol):
    uid: str
    kind: str

    def run(self, ctx: Context) -> None:
        ...


def _status(uid: str, side: str, written: Side, source: Side) -> Status:
    """The status after `written` (on `side`) was made from `source` (on the other side)."""
    return Status(uid, written, source) if side == "crm" else Status(uid, source, written)


@dataclass(frozen=True)
class Upload:
    """A new object on one side goes to the other (`side` is where it is written)."""

    side: str
    uid: str
    item: CalendarItem
    source: Side
    kind: str = "upload"

    def run(self, ctx: Context) -> None:
        href, etag = ctx.store(self.side).upload(self.item)
        ctx.book.save(_status(self.uid, self.side, Side(href, etag, self.item.hash), self.source))


@dataclass(frozen=True)
class Update:
    """A changed object overwrites its copy on `side`, if that copy is still at `etag`."""

    side: str
    uid: str
    href: str
    etag: str
    item: CalendarItem
    source: Side
    kind: str = "update"

    def run(self, ctx: Context) -> None:
        new_etag = ctx.store(self.side).update(self.href, self.item, self.etag)
        ctx.book.save(_status(self.uid, self.side, Side(self.href, new_etag, self.item.hash), self.source))


@dataclass(frozen=True)
class Delete:
    """The object went from one side: it goes from `side` too (in the CRM, canceled rather than deleted)."""

    side: str
    uid: str
    href: str
    etag: str
    kind: str = "delete"

    def run(self, ctx: Context) -> None:
        with contextlib.suppress(NotFound):  # gone already: the outcome wanted
            ctx.store(self.side).delete(self.href, self.etag)
        ctx.book.forget(self.uid)


@dataclass(frozen=True)
class Resolve:
    """Both sides changed: the policy's winner overwrites the loser, and the conflict is logged with both."""

    uid: str
    winner: str
    policy: str
    crm_item: CalendarItem
    remote_item: CalendarItem
    crm_side: Side
    remote_side: Side
    kind: str = "conflict"

    def run(self, ctx: Context) -> None:
        ctx.journal.conflict(self.uid, self.policy, self.winner, self.crm_item, self.remote_item)
        if self.winner == "crm":
            Update("remote", self.uid, self.remote_side.href, self.remote_side.etag, self.crm_item,
                   self.crm_side).run(ctx)
        else:
            Update("crm", self.uid, self.crm_side.href, self.crm_side.etag, self.remote_item,
                   self.remote_side).run(ctx)


@dataclass(frozen=True)
class Record:
    """Nothing to write: only the versions moved (or both sides already agree)."""

    status: Status
    kind: str = "record"

    @property
    def uid(self) -> str:
        return self.status.uid

    def run(self, ctx: Context) -> None:
        ctx.book.save(self.status)


@dataclass(frozen=True)
class Ignore:
    """A server object that does not concern the CRM: remembered so that it is read again only if it changes."""

    uid: str
    remote: Side
    kind: str = "ignore"

    def run(self, ctx: Context) -> None:
        ctx.book.save(Status(self.uid, None, self.remote, ignored=True))


@dataclass(frozen=True)
class Forget:
    uid: str
    kind: str = "forget"

    def run(self, ctx: Context) -> None:
        ctx.book.forget(self.uid)


@dataclass(frozen=True)
class Quarantine:
    """An object that cannot be read: its raw text and the reason go to the quarantine, and a status row under
    a key of its href keeps it from being quarantined again until its etag moves."""

    side: str
    href: str
    etag: str
    raw: str
    reason: str
    message: str
    kind: str = "quarantine"

    @property
    def uid(self) -> str:
        return f"!unreadable:{self.side}:{self.href}"

    def run(self, ctx: Context) -> None:
        ctx.journal.quarantine(self.side, self.href, self.etag, self.raw, self.reason, self.message)
        side = Side(self.href, self.etag)
        ctx.book.save(Status(self.uid, side if self.side == "crm" else None,
                             side if self.side == "remote" else None, ignored=True))
