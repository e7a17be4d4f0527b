"""The IMAP driver: one pass over a mailbox's folders. For each folder, the changes since its checkpoint come
in batches (mailbridge.sources.imap.iter_folder_changes); each batch is tracked and committed together with
the batch's checkpoint, in one transaction. So:

- a killed pass loses nothing and doubles nothing: what was committed is behind the checkpoint (and its
  sightings), what was not is fetched again;
- a UIDVALIDITY change reads the folder again; dedupe recognises every mail, adding only sightings;
- expunged messages date their sightings; the activities stay.

A batch's bytes are fetched before its transaction opens: no transaction waits on the mail server."""

import logging
import uuid

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.savepoints import ensure_transaction
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import Conflict
from crm_core.services.mailboxes import MailboxConnection, connection_of
from mailbridge.admin.checks import folder_spec
from mailbridge.errors import FolderMissing, MailError
from mailbridge.sources.imap import FolderChanges, ImapSession, ImapSettings, iter_folder_changes
from mailbridge.tracking.checkpoints import load_state, save_state
from mailbridge.tracking.context import MailboxContext, load_mailbox, mailbox_context
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.pipeline import track_item
from mailbridge.tracking.results import FolderSummary, Outcome, Progress, ProgressEvent, SourceItem, SyncSummary
from mailbridge.tracking.sightings import mark_vanished, seen_places

log = logging.getLogger(__name__)


def imap_settings(connection: MailboxConnection, options: TrackingOptions) -> ImapSettings:
    if connection.protocol != "imap":
        raise MailError(f"{connection.protocol} mailboxes cannot sync yet", reason="unsupported")
    endpoint = connection.incoming
    return ImapSettings(
        host=endpoint.host, port=endpoint.port, security=endpoint.security,  # type: ignore[arg-type]
        username=endpoint.username or connection.email_address, password=endpoint.password or "",
        timeout=options.timeout, ssl_context=options.ssl_context,
        folders=tuple(folder_spec(f) for f in connection.folders), fetch_batch_size=options.batch_size)


def sync_mailbox(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID,
                 options: TrackingOptions | None = None, progress: Progress | None = None) -> SyncSummary:
    """One pass over the mailbox's folders; a summary per folder. Refused (Conflict) when the mailbox may not
    sync; connection and authentication problems raise mailbridge errors; a missing folder is reported in
    its summary and the other folders still sync. The sessions must carry the secrets keyring."""
    options = options or TrackingOptions()
    with UnitOfWork(session_factory) as uow:
        mailbox = load_mailbox(uow.session, mailbox_id)
        permission = mailbox.may_sync("incoming")
        if not permission:
            raise Conflict(f"the mailbox {mailbox.name!r} may not sync: {permission.reason}")
        ctx = mailbox_context(mailbox)
        settings = imap_settings(connection_of(uow.session, mailbox), options)
    summary = SyncSummary(mailbox_id)
    with ImapSession(settings) as imap:
        for spec in settings.folders:
            try:
                folder = imap.resolve_folder(spec)
            except FolderMissing as exc:
                summary.folders[spec] = FolderSummary(spec, error=exc.detail)
                continue
            summary.folders[folder] = sync_folder(session_factory, imap, ctx, folder, options, progress)
    return summary


def sync_folder(session_factory: sessionmaker[Session], imap: ImapSession, ctx: MailboxContext, folder: str,
                options: TrackingOptions, progress: Progress | None = None) -> FolderSummary:
    with UnitOfWork(session_factory) as uow:
        state = load_state(uow.session, ctx.mailbox_id, folder)
    summary = FolderSummary(folder)
    for step in iter_folder_changes(imap, folder, state, options.batch_size):
        summary.strategy = step.strategy
        summary.full_resync = summary.full_resync or step.full_resync
        with UnitOfWork(session_factory) as uow:
            ensure_transaction(uow.session)
            _batch(uow, ctx, step, summary, options, progress)
            save_state(uow.session, ctx.mailbox_id, folder, step.state)
            uow.commit()
    return summary


def _batch(uow: UnitOfWork, ctx: MailboxContext, step: FolderChanges, summary: FolderSummary,
           options: TrackingOptions, progress: Progress | None) -> None:
    session, folder, uidvalidity = uow.session, step.folder, step.state.uidvalidity
    if step.full_resync:
        summary.vanished += mark_vanished(session, ctx.mailbox_id, folder, uidvalidity, (), other_uidvalidity=True)
    if step.vanished:
        summary.vanished += mark_vanished(session, ctx.mailbox_id, folder, uidvalidity, step.vanished)
    seen = seen_places(session, ctx.mailbox_id, folder, uidvalidity, [m.uid for m in step.new])
    for fetched in step.new:
        item = SourceItem(folder, uidvalidity, fetched.uid, fetched.raw, fetched.internal_date)
        outcome = Outcome("already_seen") if fetched.uid in seen else track_item(uow, ctx, item, options)
        summary.count(outcome)
        if progress is not None:
            progress(ProgressEvent(folder, summary.fetched, None, outcome))
