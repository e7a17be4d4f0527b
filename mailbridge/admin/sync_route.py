"""POST /api/v1/mailboxes/{id}/sync: one pass over a mailbox's folders now, answering with its summary.

The workers sync every approved mailbox on their own; this is the admin's "sync now" (and the user's, for his
own mailbox). It needs Write on the mailbox, keeps no transaction open while the mail server answers, and
is as safe to repeat or interrupt as any sync. It runs as the workers' jobs do (mailbridge.runs): holding the
mailbox's lease, so a worker syncing it at the same moment makes it answer 409, and recorded in its runs.
A mail server that cannot be reached answers 502 with the reason (dns, connect, tls, auth)."""

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from crm_core.api.deps import CallerDep
from crm_core.security.privileges import Privilege
from crm_core.services.mailboxes import MailboxService
from mailbridge.runs import RunPolicy, run_mailbox_sync
from mailbridge.tracking import TrackingOptions
from mailbridge.tracking.results import SyncSummary

router = APIRouter()


class FolderSyncOut(BaseModel):
    folder: str
    fetched: int
    tracked: int
    duplicates: int
    skipped: int
    quarantined: int
    strategy: str | None
    full_resync: bool
    error: str | None
    skipped_by_reason: dict[str, int]
    quarantined_by_reason: dict[str, int]


class SyncOut(BaseModel):
    mailbox_id: uuid.UUID
    fetched: int
    tracked: int
    skipped: int
    quarantined: int
    folders: list[FolderSyncOut]

    @classmethod
    def of(cls, summary: SyncSummary) -> "SyncOut":
        folders = [FolderSyncOut(
            folder=f.folder, fetched=f.fetched, tracked=f.tracked, duplicates=f.duplicates, skipped=f.skipped,
            quarantined=f.quarantined, strategy=f.strategy, full_resync=f.full_resync, error=f.error,
            skipped_by_reason=dict(f.skipped_by_reason), quarantined_by_reason=dict(f.quarantined_by_reason),
        ) for f in summary.folders.values()]
        return cls(mailbox_id=summary.mailbox_id, fetched=summary.fetched, tracked=summary.tracked,
                   skipped=summary.skipped, quarantined=summary.quarantined, folders=folders)


@router.post("/mailboxes/{record_id}/sync", response_model=SyncOut, tags=["mailboxes"],
             summary="Sync the mailbox now: one pass over its folders, new mail tracked; the summary per folder")
def mailbox_sync_now(caller: CallerDep, record_id: uuid.UUID) -> Any:
    MailboxService(caller.uow, caller.principal).get(record_id, Privilege.WRITE)
    caller.uow.rollback()  # the sync runs its own transactions, one per batch
    options = TrackingOptions.from_settings(caller.context.settings)
    policy = RunPolicy.from_settings(caller.context.settings)
    # As a job: the mailbox's lease (no worker syncs it meanwhile), a run in its history, its state moved.
    result = run_mailbox_sync(caller.context.session_factory, record_id, trigger="manual", options=options,
                              policy=policy, raise_errors=True)
    assert result.summary is not None
    return SyncOut.of(result.summary)
