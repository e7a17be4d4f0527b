"""The local driver: a Maildir (with its subfolders) or an mbox file imported into a mailbox's tracking, for
migrations and demo data. The same steps as a sync; each item's stable key (mailbridge.sources.local) is its
place, so an interrupted import reruns without loss or duplicates. Batches commit as a sync's do."""

import uuid
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.savepoints import ensure_transaction
from crm_core.db.unit_of_work import UnitOfWork
from mailbridge.sources.local import LocalItem, open_local
from mailbridge.tracking.context import MailboxContext, load_mailbox, mailbox_context
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.pipeline import track_item
from mailbridge.tracking.results import FolderSummary, Outcome, Progress, ProgressEvent, SourceItem, SyncSummary
from mailbridge.tracking.sightings import seen_keys

MAX_KEY = 500  # the place column's length; longer keys are hashed by the store already in practice


def import_local(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID, path: str | Path,
                 options: TrackingOptions | None = None, progress: Progress | None = None) -> SyncSummary:
    """Imports every message under `path`; a summary with one entry named by the path. The mailbox need not
    be approved for sync (nothing is read from a server), only exist. MailError when `path` is not a store."""
    options = options or TrackingOptions()
    store = open_local(path)
    with UnitOfWork(session_factory) as uow:
        ctx = mailbox_context(load_mailbox(uow.session, mailbox_id))
    total = store.count()
    summary = FolderSummary(str(path), strategy="local")
    batch: list[LocalItem] = []
    for item in store:
        batch.append(item)
        if len(batch) >= options.batch_size:
            _commit_batch(session_factory, ctx, batch, summary, total, options, progress)
            batch = []
    if batch:
        _commit_batch(session_factory, ctx, batch, summary, total, options, progress)
    return SyncSummary(mailbox_id, {summary.folder: summary})


def _commit_batch(session_factory: sessionmaker[Session], ctx: MailboxContext, batch: list[LocalItem],
                  summary: FolderSummary, total: int, options: TrackingOptions, progress: Progress | None) -> None:
    with UnitOfWork(session_factory) as uow:
        ensure_transaction(uow.session)
        seen = seen_keys(uow.session, ctx.mailbox_id, [i.key[:MAX_KEY] for i in batch])
        for local in batch:
            key = local.key[:MAX_KEY]
            item = SourceItem(key, 0, 0, local.raw)
            outcome = Outcome("already_seen") if key in seen else track_item(uow, ctx, item, options)
            summary.count(outcome)
            if progress is not None:
                progress(ProgressEvent(summary.folder, summary.fetched, total, outcome))
        uow.commit()
