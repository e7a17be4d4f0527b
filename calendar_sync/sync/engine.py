"""Running a sync pass: read both sides (listing, then only what changed), plan, and run the actions, each
committed with its status row. Per-object failures stay per object; a temporary failure ends the pass after
what was done is kept; the server's cursor moves on only when every action of the pass succeeded, so that a
change the pass could not apply is delivered again next time.

Actions that write only to the CRM (and the status book and journal, in the same database) share a transaction,
up to Hooks.batch_actions of them or Hooks.batch_seconds: a pass killed inside one loses the whole batch, the
writes with their status rows, and the next pass does them again. An action that writes to the server is
committed on its own at once, since the server's write cannot be rolled back. When an action of a batch fails,
the batch is rolled back and run again one action per transaction, where each failure is handled on its own."""

import contextvars
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from calendar_sync.errors import (
    CalendarError,
    CursorInvalid,
    ItemBroken,
    NotFound,
    PreconditionFailed,
    TemporaryFailure,
)
from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import CalendarStore, Changes, PreparesWrites
from calendar_sync.sync.actions import Action, Context, Delete, Journal, Quarantine, Resolve, Update, Upload
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
    """The runner's ties to its transaction: commit what was done, roll back a failed action (or batch).
    `batch_actions`: how many CRM-only actions may share a transaction (1: each its own)."""

    commit: Callable[[], None] = lambda: None
    rollback: Callable[[], None] = lambda: None
    progress: Callable[[int, int], None] = lambda done, total: None
    batch_actions: int = 1
    batch_seconds: float = 1.0  # a batch is committed once it ran this long: a write lock is not held for long


def synchronise(crm: CalendarStore, remote: CalendarStore, book: StatusBook, journal: Journal, options: Options,
                *, cursor: str | None, crm_cursor: str | None = None, hooks: Hooks | None = None) -> Report:
    """`cursor` and `crm_cursor`: each side's incremental state from the last complete pass (None: list it
    whole). The report carries the ones to keep."""
    hooks = hooks or Hooks()
    report = Report()
    # The server's answer to "what changed" is mostly the server's own work (a sync-collection walks the whole
    # collection on Radicale), so it is asked in a thread while this one reads the database: the status book,
    # the CRM's changes and their versions. The remote store is touched by that thread alone until it answers.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="calendar-remote") as pool:
        asked = pool.submit(contextvars.copy_context().run, _remote_changes, remote, cursor)
        status = book.load()
        crm_changes = crm.changes(crm_cursor)
        crm_now = listing_now(status, CRM, crm_changes)
        crm_snapshot = _read(crm, to_load(status, CRM, crm_now, remote_read_only=options.remote_read_only),
                             crm_now)
        changes, report.resynced = asked.result()
    remote_now = listing_now(status, REMOTE, changes)
    remote_snapshot = _read(remote, to_load(status, REMOTE, remote_now), remote_now)
    actions = plan(status, crm_snapshot, remote_snapshot, options)
    if isinstance(crm, PreparesWrites):
        crm.prepare(_into_crm(actions))
    ctx = Context(crm, remote, book, journal)
    progress = _Progress(hooks.progress, len(actions))
    at = 0
    while at < len(actions):
        if hooks.batch_actions > 1 and _crm_only(actions[at]):
            ran, ok = _run_batch(actions, at, ctx, hooks, report, progress)
            if ok:
                at += ran
                continue
            for action in actions[at:at + ran]:  # the batch up to the action that failed, one at a time
                _run_one(action, ctx, hooks, report)
                at += 1
                progress(at)
            continue
        _run_one(actions[at], ctx, hooks, report)
        at += 1
        progress(at)
    report.cursor = changes.cursor if report.complete else cursor
    report.crm_cursor = crm_changes.cursor if report.complete else crm_cursor
    return report


def _remote_changes(remote: CalendarStore, cursor: str | None) -> tuple[Changes, bool]:
    """The server's changes since `cursor`, and whether it refused the cursor (then: everything it holds)."""
    try:
        return remote.changes(cursor), False
    except CursorInvalid as exc:
        log.info("the server refused the calendar's sync cursor (%s): listing everything", exc.detail)
        return remote.changes(None), True


class _Progress:
    """The progress hook, told each count once: a batch run again one action at a time does not go back."""

    def __init__(self, hook: Callable[[int, int], None], total: int) -> None:
        self.hook, self.total, self.shown = hook, total, 0

    def __call__(self, done: int) -> None:
        if done > self.shown:
            self.shown = done
            self.hook(done, self.total)


def _into_crm(actions: list[Action]) -> list[CalendarItem]:
    """The server's items the actions write into the CRM."""
    out = []
    for action in actions:
        if isinstance(action, Upload | Update) and action.side == CRM:
            out.append(action.item)
        elif isinstance(action, Resolve) and action.winner != CRM:
            out.append(action.remote_item)
    return out


def _crm_only(action: Action) -> bool:
    """Whether the action writes only to the CRM store and the status book or journal (the runner's database),
    so that rolling it back undoes all of it."""
    if isinstance(action, Upload | Update | Delete):
        return action.side == CRM
    if isinstance(action, Resolve):
        return action.winner != CRM  # the server's version goes into the CRM
    return True  # Record, Ignore, Forget, Quarantine: the status book and the journal only


def _run_batch(actions: list[Action], at: int, ctx: Context, hooks: Hooks, report: Report,
               progress: _Progress) -> tuple[int, bool]:
    """Runs CRM-only actions from `at` in one transaction, within the batch's limits. (how many ran, True) once
    committed; (how many ran, the failed one included, False) when one failed and the batch was rolled back."""
    started = time.monotonic()
    ran: list[Action] = []
    for action in actions[at:at + hooks.batch_actions]:
        if not _crm_only(action) or (ran and time.monotonic() - started > hooks.batch_seconds):
            break
        ran.append(action)
        try:
            action.run(ctx)
        except Exception:  # whatever it was, the one-at-a-time run below handles it as it always did
            hooks.rollback()
            return len(ran), False
        progress(at + len(ran))
    hooks.commit()
    for action in ran:
        report.count(action)
    return len(ran), True


def _run_one(action: Action, ctx: Context, hooks: Hooks, report: Report) -> None:
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
