"""POST /api/v1/mailboxes/{id}/dry-run: what the first sync of a mailbox would do, nothing written, nothing sent.

An admin asks before approving or enabling a mailbox, or before changing its tracking options (the body may
give the options to try: incoming filter, keep, unknown senders, folders). It needs Write on the mailbox, as
"sync now" does; the mailbox need not be allowed to sync yet. The mail is read from the server (unread mail
stays unread) and run through the real pipeline in a transaction that is rolled back
(mailbridge.tracking.dry_run). A mail server that cannot be reached answers 502 with the reason (dns,
connect, tls, auth), and a refused login does not stop the mailbox."""

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crm_core.api.deps import CallerDep
from crm_core.api.schemas.common import Strict
from crm_core.api.schemas.mailboxes import IncomingFilter, KeepContent, UnknownSenders
from crm_core.security.privileges import Privilege
from crm_core.services.mailboxes import MailboxService
from mailbridge.admin.sync_route import FolderSyncOut, SyncOut
from mailbridge.tracking.dry_run import DEFAULT_LIMIT, DryRunReport, MailboxChanges, preview_mailbox
from mailbridge.tracking.options import TrackingOptions

router = APIRouter()
MAX_LIMIT = 2000  # one transaction holds the database's write lock (SQLite) while the preview runs


class DryRunIn(Strict):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description="At most this many messages are read, in the order a sync takes them.")
    incoming_filter: IncomingFilter | None = Field(default=None, description="Try this filter (null: the mailbox's).")
    keep_content: KeepContent | None = Field(default=None, description="Try this keep option (null: the mailbox's).")
    unknown_senders: UnknownSenders | None = Field(default=None,
                                                   description="Try this for unknown senders (null: the mailbox's).")
    folders: list[str] | None = Field(default=None, min_length=1, max_length=20,
                                      description="Try these folders (null: the mailbox's).")


class ContactOut(BaseModel):
    name: str
    email_address: str | None


class LeadOut(BaseModel):
    name: str | None
    email_address: str | None
    subject: str


class CaseOut(BaseModel):
    title: str
    customer: str | None


class AcknowledgementOut(BaseModel):
    to: list[str]
    subject: str | None


class LinkedOut(BaseModel):
    record_type: str
    records: int
    mails: int


class DryRunFolderOut(FolderSyncOut):
    already_seen: int = Field(description="Mail this mailbox tracked at the same place before.")


class DryRunOut(BaseModel):
    mailbox_id: uuid.UUID
    fetched: int
    tracked: int
    duplicates: int = Field(description="Mail the CRM tracked already (another mailbox or folder, a former sync).")
    skipped: int
    quarantined: int
    folders: list[DryRunFolderOut]
    limit: int
    limit_reached: bool = Field(description="The limit was reached: the folders may hold more mail.")
    folders_not_read: list[str] = Field(description="Folders the limit left unread.")
    contacts: list[ContactOut]
    leads: list[LeadOut]
    cases: list[CaseOut]
    acknowledgements: list[AcknowledgementOut] = Field(description="Acknowledgements that would be sent.")
    linked: list[LinkedOut] = Field(description="Existing records the new mail would be linked to, per type.")
    case_decisions: dict[str, int] = Field(description="Email-to-case decisions by outcome (and reason).")

    @classmethod
    def of_report(cls, report: DryRunReport) -> "DryRunOut":
        summary = report.summary
        folders = [DryRunFolderOut(**folder.model_dump(), already_seen=f.already_seen)
                   for folder, f in zip(SyncOut.of(summary).folders, summary.folders.values(), strict=True)]
        return cls(
            mailbox_id=summary.mailbox_id, fetched=summary.fetched, tracked=summary.tracked,
            duplicates=summary.duplicates, skipped=summary.skipped, quarantined=summary.quarantined, folders=folders,
            limit=report.limit, limit_reached=report.limit_reached, folders_not_read=report.folders_not_read,
            contacts=[ContactOut(name=c.name, email_address=c.email_address) for c in report.contacts],
            leads=[LeadOut(name=lead.name, email_address=lead.email_address, subject=lead.subject)
                   for lead in report.leads],
            cases=[CaseOut(title=c.title, customer=c.customer) for c in report.cases],
            acknowledgements=[AcknowledgementOut(to=list(a.to), subject=a.subject) for a in report.acknowledgements],
            linked=[LinkedOut(record_type=li.record_type, records=li.records, mails=li.mails) for li in report.linked],
            case_decisions=report.case_decisions,
        )


@router.post("/mailboxes/{record_id}/dry-run", response_model=DryRunOut, tags=["mailboxes"],
             summary="Preview the first sync of a mailbox: what it would track, skip, create, send and link; "
             "nothing is written")
def mailbox_dry_run(caller: CallerDep, record_id: uuid.UUID, body: DryRunIn | None = None) -> Any:
    body = body or DryRunIn()
    MailboxService(caller.uow, caller.principal).get(record_id, Privilege.WRITE)
    caller.uow.rollback()  # the preview runs its own transaction, rolled back
    changes = MailboxChanges(body.incoming_filter, body.keep_content, body.unknown_senders,
                             tuple(body.folders) if body.folders is not None else None)
    options = TrackingOptions.from_settings(caller.context.settings)
    return DryRunOut.of_report(preview_mailbox(caller.context.session_factory, record_id, options, body.limit,
                                               changes))
