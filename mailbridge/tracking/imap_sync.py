"""`sync_mailbox`: one pass over a mailbox's folders, through the source its connection calls for
(mailbridge.sources.registry: IMAP today), by the one tracking driver (source_sync.py): each batch tracked and
committed together with the folder's checkpoint, so a killed pass reruns without loss or duplicates.

(The module keeps its historical name: `mailbridge.tracking` imports `sync_mailbox` from here.)"""

import uuid

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import Conflict
from crm_core.services.mailboxes import connection_of, stop_sync, store_refresh_token
from mailbridge.errors import AuthenticationFailed
from mailbridge.sources.registry import SourceOptions, source_for
from mailbridge.tracking.context import load_mailbox, mailbox_context
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.results import Progress, SyncSummary
from mailbridge.tracking.source_sync import sync_folders


def sync_mailbox(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID,
                 options: TrackingOptions | None = None, progress: Progress | None = None) -> SyncSummary:
    """One pass over the mailbox's folders; a summary per folder. Refused (Conflict) when the mailbox may not
    sync; connection and authentication problems raise mailbridge errors (a protocol we cannot sync:
    "unsupported"); a missing folder is reported in its summary and the other folders still sync. The sessions
    must carry the secrets keyring. A server that refuses the credentials for good (a wrong password, a revoked
    consent, an access policy) stops the mailbox with the reason (crm_core.services.mailboxes.stop_sync): it
    shows on the mailbox, and the mailbox is not synced again until its credentials change or a connection
    test passes."""
    options = options or TrackingOptions()
    with UnitOfWork(session_factory) as uow:
        mailbox = load_mailbox(uow.session, mailbox_id)
        permission = mailbox.may_sync("incoming")
        if not permission:
            raise Conflict(f"the mailbox {mailbox.name!r} may not sync: {permission.reason}")
        ctx = mailbox_context(mailbox)
        def keep(refresh_token: str) -> None:
            with UnitOfWork(session_factory) as kept:
                store_refresh_token(kept.session, mailbox_id, refresh_token)
                kept.commit()

        source = source_for(connection_of(uow.session, mailbox),
                            SourceOptions(options.timeout, options.ssl_context, options.batch_size, keep))
    try:
        with source:  # connected after the transaction above has ended
            return sync_folders(session_factory, ctx, source, options, progress)
    except AuthenticationFailed as exc:
        with UnitOfWork(session_factory) as uow:
            stop_sync(uow.session, mailbox_id, exc.reason, exc.detail)
            uow.commit()
        raise
