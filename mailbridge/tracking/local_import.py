"""`import_local`: a Maildir (with its subfolders) or an mbox file imported into a mailbox's tracking, for
migrations and demo data, by the one tracking driver (source_sync.py) over `LocalSource`. Each item's stable
key is its place, so an interrupted import reruns without loss or duplicates; batches commit as a sync's do,
filled across the store's folders.

An import is not one of the mailbox's folders: it stores no checkpoint, and a rerun reads the whole store
again, recognising by their sightings the places already done (counted `already_seen`); skipped mail gets
another look (a contact added since may make it trackable)."""

import uuid
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from mailbridge.sources.local import LocalSource, open_local
from mailbridge.tracking.context import load_mailbox, mailbox_context
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.results import FolderSummary, Progress, SyncSummary
from mailbridge.tracking.source_sync import regroup, track_batches


def import_local(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID, path: str | Path,
                 options: TrackingOptions | None = None, progress: Progress | None = None) -> SyncSummary:
    """Imports every message under `path`; a summary with one entry named by the path. The mailbox need not
    be approved for sync (nothing is read from a server), only exist. MailError when `path` is not a store."""
    options = options or TrackingOptions()
    source = LocalSource(open_local(path))
    with UnitOfWork(session_factory) as uow:
        ctx = mailbox_context(load_mailbox(uow.session, mailbox_id))
    summary = FolderSummary(str(path), strategy="local")
    with source:
        folders = [f.name for f in source.folders() if f.name is not None]
        total = sum(source.count(folder) or 0 for folder in folders)
        passes = (batch for folder in folders for batch in source.changes(folder, None, options.batch_size))
        track_batches(session_factory, ctx, regroup(passes, options.batch_size, summary.folder), summary, options,
                      progress, total=total)
    return SyncSummary(mailbox_id, {summary.folder: summary})
