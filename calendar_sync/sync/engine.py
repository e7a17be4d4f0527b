"""Running a sync pass: read both sides (listing, then only what changed), plan, and run the actions one at a
time, committing after each. Per-object failures stay per object; a temporary failure ends the pass after
what was done is kept; the server's cursor moves on only when every action of the pass succeeded, so that a
change the pass could not apply is delivered again next time."""

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from calendar_sync.errors import (
    CalendarError,
    CursorInvalid,
    ItemBroken,
    NotFound,
    PreconditionFailed,
    TemporaryFailure,
)
from calendar_sync.stores.base import CalendarStore
from calendar_sync.sync.actions import Action, Context, Journal, Quarantine
from calendar_sync.sync.plan import CRM, REMOTE, Options, Snapshot, listing_now, plan, to_load
from calendar_sync.sync.status import StatusBook

log = logging.getLogger(__name__)


@dataclass
class Report:
    """What a pass did: actions by kind and side ("upload crm": written to the CRM), objects it had to leave
    for the next pass with why, whether it had to list everything again, and the cursor to keep."""

    done: Counter[str] = field(default_factory=Counter)
    deferred: list[tuple[str, str]] = field(default_factory=list)  # (uid, reason)
    resynced: bool = False
    cursor: str | None = None
    crm_cursor: str | None = None
    complete: bool = True

    def count(self, action: Action) -> None:
        side = getattr(action, "side", None) if action.kind != "conflict" else getattr(action, "winner", None)
        self.done[f"{action.kind} {side}" if side else action.kind] += 1


@dataclass
class Hooks:
    """The runner's ties to its transaction: commit after each action, roll back a failed one."""

    commit: Callable[[], None] = lambda: None
    rollback: Callable[[], None] = lambda: None
    progress: Callable[[int, int], None] = lambda done, total: None


def synchronise(crm: CalendarStore, remote: CalendarStore, book: StatusBook, journal: Journal, options: Options,
                *, cursor: str | None, crm_cursor: str | None = None, hooks: Hooks | None = None) -> Report:
    """`cursor` and `crm_cursor`: each side's incremental state from the last complete pass (None: list it
    whole). The report carries the ones to keep."""
    hooks = hooks or Hooks()
    report = Report()
    status = book.load()
    try:
        changes = remote.changes(cursor)
    except CursorInvalid as exc:
        log.info("the server refused the calendar's sync cursor (%s): listing everything", exc.detail)
        changes = remote.changes(None)
        report.resynced = True
    remote_now = listing_now(status, REMOTE, changes)
    crm_changes = crm.changes(crm_cursor)
    crm_now = listing_now(status, CRM, crm_changes)
    crm_snapshot = _read(crm, to_load(status, CRM, crm_now, remote_read_only=options.remote_read_only), crm_now)
    remote_snapshot = _read(remote, to_load(status, REMOTE, remote_now), remote_now)
    actions = plan(status, crm_snapshot, remote_snapshot, options)
    ctx = Context(crm, remote, book, journal)
    for done, action in enumerate(actions, 1):
        try:
            action.run(ctx)
        except (PreconditionFailed, NotFound) as exc:
            # The object moved while we worked on it: the next pass sees its new version.
            hooks.rollback()
            report.deferred.append((action.uid, exc.reason))
            report.complete = False
        except TemporaryFailure:
            hooks.rollback()
            report.complete = False
            raise
        except CalendarError as exc:
            if exc.status != 422 and not isinstance(exc, ItemBroken):
                hooks.rollback()
                raise
            # The object cannot be taken in (an unknown zone, nonsense dates): quarantined, the rest goes on.
            hooks.rollback()
            _quarantine_refused(action, exc, ctx, hooks)
        else:
            report.count(action)
        hooks.commit()
        hooks.progress(done, len(actions))
    report.cursor = changes.cursor if report.complete else cursor
    report.crm_cursor = crm_changes.cursor if report.complete else crm_cursor
    return report


def _read(store: CalendarStore, hrefs: Iterable[str], listing: dict[str, str]) -> Snapshot:
    snapshot = Snapshot(listing=listing)
    wanted = list(hrefs)
    if not wanted:
        return snapshot
    found = set()
    for href, item, etag in store.get_many(wanted):
        found.add(href)
        listing[href] = etag  # the version read, which may be newer than the listing's
        try:
            item.uid  # noqa: B018 - parses it: a broken object is found here, not halfway through the plan
        except ItemBroken as exc:
            snapshot.broken[href] = (item.raw, exc.reason, exc.detail)
            continue
        snapshot.loaded[href] = item
    for href in set(wanted) - found:
        listing.pop(href, None)  # gone between the listing and the read
    return snapshot


def _quarantine_refused(action: Action, exc: CalendarError, ctx: Context, hooks: Hooks) -> None:
    item = getattr(action, "item", None) or getattr(action, "remote_item", None)
    source = getattr(action, "source", None) or getattr(action, "remote_side", None)
    if item is None or source is None:
        raise exc
    side = REMOTE if getattr(action, "side", CRM) == CRM else CRM  # where the refused object came from
    Quarantine(side, source.href, source.etag, item.raw, exc.reason, exc.detail).run(ctx)
