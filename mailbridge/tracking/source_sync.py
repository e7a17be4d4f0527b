"""The tracking driver: one pass of a mailbox over any `MailSource` (mailbridge.sources.base). For each folder
the source offers, the changes since the folder's checkpoint come in batches; each batch is one transaction:
its new messages tracked (one `track_items` call for those whose place was not seen yet), its vanished places
dated, and its cursor saved as the folder's checkpoint, committed together. So:

- a killed pass loses nothing and doubles nothing: what was committed is behind the checkpoint (and its
  sightings), what was not comes again;
- a full resync (a UIDVALIDITY change) reads the folder again; dedupe recognises every mail, adding only
  sightings, and the sightings under the former UIDVALIDITY are dated;
- vanished messages date their sightings; the activities stay;
- a stored cursor the source refuses (`CursorInvalid`) restarts the folder from scratch, with the same
  guarantees;
- a folder the server throttles or drops (`TemporaryFailure`) stops at its last committed batch and is
  reported with the server's wait hint; the other folders still sync, and the next pass resumes it from its
  checkpoint.

After a batch is committed, the places it tracked are marked in the mailbox (`MailSource.mark_tracked`:
Exchange's category); a pass killed in between leaves a tracked mail unmarked, never the reverse.

A batch's bytes are read from the source before its transaction opens: no transaction waits on a mail server.
`sync_mailbox` (imap_sync.py) and `import_local` (local_import.py) are this driver with their source chosen."""

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.savepoints import ensure_transaction
from crm_core.db.unit_of_work import UnitOfWork
from mailbridge.errors import CursorInvalid, TemporaryFailure
from mailbridge.sources.base import Cursor, Known, MailSource, Place, SourceBatch, SourceMessage
from mailbridge.tracking.checkpoints import load_cursor, save_cursor
from mailbridge.tracking.collection_pacing import bulk_collection
from mailbridge.tracking.context import MailboxContext, load_mailbox, mailbox_context
from mailbridge.tracking.folder_tracking import (
    FolderRule,
    folder_rules,
    link_to_folder,
    rule_for,
    tracked_folder_context,
)
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.parsing import BatchNormaliser, Normalised, normalise_one
from mailbridge.tracking.pipeline import track_items
from mailbridge.tracking.results import FolderSummary, Outcome, Progress, ProgressEvent, SourceItem, SyncSummary
from mailbridge.tracking.sightings import mark_superseded, mark_vanished, seen_places

log = logging.getLogger(__name__)

MAX_PLACE = 500  # the place's folder column; longer local keys are cut (a store's keys are far shorter in practice)


def sync_source(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID, source: MailSource,
                options: TrackingOptions | None = None, progress: Progress | None = None) -> SyncSummary:
    """One pass of the mailbox over `source` (not yet open), checkpointed per folder. No permission check:
    the caller decided (sync_mailbox asks the mailbox whether it may sync)."""
    options = options or TrackingOptions()
    with UnitOfWork(session_factory) as uow:
        ctx = mailbox_context(load_mailbox(uow.session, mailbox_id))
    with source:
        return sync_folders(session_factory, ctx, source, options, progress)


def sync_folders(session_factory: sessionmaker[Session], ctx: MailboxContext, source: MailSource,
                 options: TrackingOptions, progress: Progress | None = None) -> SyncSummary:
    """Every folder the (open) source offers; a missing one is reported in its summary, the others still sync.
    A tracked folder (folder_tracking.py) syncs under its rule."""
    summary = SyncSummary(ctx.mailbox_id)
    rules = folder_rules(session_factory, ctx.mailbox_id)
    for folder in source.folders():
        if folder.name is None:
            summary.folders[folder.spec] = FolderSummary(folder.spec, error=folder.problem)
            continue
        summary.folders[folder.name] = sync_folder(session_factory, ctx, source, folder.name, options, progress,
                                                   rule_for(rules, folder))
    return summary


def known_places(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID) -> Known:
    """The answer to a source that asks which of its places the mailbox has processed already."""
    def known(places: Sequence[Place]) -> set[Place]:
        with UnitOfWork(session_factory) as uow:
            found = seen_places(uow.session, mailbox_id, [stored_place(p) for p in places])
        return {p for p in places if stored_place(p) in found}
    return known


def sync_folder(session_factory: sessionmaker[Session], ctx: MailboxContext, source: MailSource, folder: str,
                options: TrackingOptions, progress: Progress | None = None,
                rule: FolderRule | None = None) -> FolderSummary:
    """One folder of the (open) source, from its checkpoint on, the checkpoint moving with every batch; `rule`:
    the folder is tracked (its mail passes the incoming filter, and is linked to the rule's record)."""
    with UnitOfWork(session_factory) as uow:
        cursor = load_cursor(uow.session, ctx.mailbox_id, folder)
    summary = FolderSummary(folder)

    try:
        known = known_places(session_factory, ctx.mailbox_id)
        track_batches(session_factory, tracked_folder_context(ctx) if rule is not None else ctx,
                      _changes(source, ctx, folder, cursor, options.batch_size, known),
                      summary, options, progress, checkpoint=folder, marker=source, rule=rule)
    except TemporaryFailure as exc:
        # What was committed stays behind the checkpoint; the next pass resumes from there.
        log.warning("mailbox %s folder %s stopped: %s", ctx.mailbox_id, folder, exc.detail)
        summary.error, summary.retry_after = f"{exc.reason}: {exc.detail}", exc.retry_after
    return summary


def track_batches(session_factory: sessionmaker[Session], ctx: MailboxContext, batches: Iterable[SourceBatch],
                  summary: FolderSummary, options: TrackingOptions, progress: Progress | None = None, *,
                  total: int | None = None, checkpoint: str | None = None, marker: MailSource | None = None,
                  rule: FolderRule | None = None) -> None:
    """Each batch in a transaction of its own, counted into `summary` (progress events carry its name and
    `total`), with its cursor saved as the checkpoint of the folder `checkpoint` (None: no cursor is kept);
    once committed, the places it tracked are marked through `marker`. `rule`: the folder's tracking rule, whose
    record the batch's mail is linked to in the same transaction."""
    def unseen(batch: SourceBatch) -> list[SourceMessage]:
        """The messages worth parsing: those at places not processed yet (a rerun of an import sees them all)."""
        if not batch.new:
            return []
        with UnitOfWork(session_factory) as uow:
            seen = seen_places(uow.session, ctx.mailbox_id, [stored_place(m.place) for m in batch.new])
        return [m for m in batch.new if stored_place(m.place) not in seen]

    with bulk_collection(), BatchNormaliser(options.normalise, options.parse_workers) as normaliser:
        # The next batch is read and parsed (in worker processes) while this one is written.
        for batch, parsed in normaliser.ahead(batches, unseen):
            prepared = {m.place: normalised for m, normalised in parsed}
            summary.strategy = batch.strategy
            summary.full_resync = summary.full_resync or batch.full_resync
            with UnitOfWork(session_factory) as uow:
                ensure_transaction(uow.session)
                tracked = track_batch(uow, ctx, batch, prepared, summary, options, progress, total, rule)
                if checkpoint is not None:
                    save_cursor(uow.session, ctx.mailbox_id, checkpoint, batch.cursor)
                uow.commit()
            if marker is not None and tracked:
                marker.mark_tracked(tracked)


def regroup(batches: Iterable[SourceBatch], size: int, name: str) -> Iterator[SourceBatch]:
    """Batches of several folders read from scratch, with no cursor kept (an import), as batches of `size` new
    messages across the folders' bounds: a store of many small folders is then a few full transactions, not
    one per folder. A pass from scratch has no vanished places, flag changes or resyncs to carry."""
    pending: list[SourceMessage] = []
    strategy = ""
    for batch in batches:
        if batch.vanished or batch.flag_changes or batch.full_resync:
            raise ValueError("only batches of new messages can be regrouped")
        strategy = batch.strategy
        pending.extend(batch.new)
        while len(pending) >= size:
            yield SourceBatch(name, tuple(pending[:size]), {}, (), {}, False, strategy)
            pending = pending[size:]
    if pending:
        yield SourceBatch(name, tuple(pending), {}, (), {}, False, strategy)


def _changes(source: MailSource, ctx: MailboxContext, folder: str, cursor: Cursor | None,
             batch_size: int, known: Known) -> Iterator[SourceBatch]:
    """The source's batches; from scratch instead when it refuses the stored cursor."""
    try:
        batches = iter(source.changes(folder, cursor, batch_size, known))
        first = next(batches, None)
    except CursorInvalid as exc:
        if cursor is None:
            raise
        log.warning("mailbox %s folder %s: %s; resyncing the folder", ctx.mailbox_id, folder, exc.detail)
        batches = iter(source.changes(folder, None, batch_size, known))
        first = next(batches, None)
    if first is not None:
        yield first
        yield from batches


def stored_place(place: Place) -> Place:
    return place if len(place.folder) <= MAX_PLACE else Place(place.folder[:MAX_PLACE], place.uidvalidity, place.uid)


def track_batch(uow: UnitOfWork, ctx: MailboxContext, batch: SourceBatch, prepared: dict[Place, Normalised],
                 summary: FolderSummary, options: TrackingOptions, progress: Progress | None,
                 total: int | None, rule: FolderRule | None = None) -> list[Place]:
    """Tracks the batch; returns the places of the messages tracked (or recognised as duplicates) by it, which
    a folder `rule` links to its record."""
    session = uow.session
    if batch.full_resync:
        summary.vanished += mark_superseded(session, ctx.mailbox_id, batch.folder, batch.uidvalidity)
    if batch.vanished:
        summary.vanished += mark_vanished(session, ctx.mailbox_id, [stored_place(p) for p in batch.vanished])
    places = [stored_place(m.place) for m in batch.new]
    seen = seen_places(session, ctx.mailbox_id, places)
    # The seen places are asked again here, in the batch's transaction, which is what counts.
    fresh = [(SourceItem(p.folder, p.uidvalidity, p.uid, m.raw, m.internal_date),
              prepared[m.place] if m.place in prepared else normalise_one(m.raw, options.normalise))
             for p, m in zip(places, batch.new, strict=True) if p not in seen]
    tracked = iter(track_items(uow, ctx, [f[0] for f in fresh], options, prepared=[f[1] for f in fresh])
                   if fresh else ())
    linked: list[Place] = []
    email_ids: list[uuid.UUID | None] = []
    for place, message in zip(places, batch.new, strict=True):
        outcome = Outcome("already_seen") if place in seen else next(tracked)
        summary.count(outcome)
        if outcome.kind in ("tracked", "duplicate"):
            linked.append(message.place)
            email_ids.append(outcome.email_id)
        if progress is not None:
            progress(ProgressEvent(summary.folder, summary.fetched, total, outcome))
    if rule is not None:
        link_to_folder(session, rule, email_ids)
    return linked
