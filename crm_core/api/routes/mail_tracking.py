"""/quarantine, /email-links and the mail verbs of /activities: what a person does with tracked mail.

- The quarantine (administrators): list, read, download the raw bytes, discard. Trying a message again
  needs the pipeline: POST /quarantine/{id}/retry is mailbridge's (mailbridge.review), wired by workers.app.
- The link review: the mail waiting for review, why any email is linked where it is, re-link, confirm.
- Privacy: untrack or redact one email, purge everything of an address."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import AwareDatetime

from crm_core.api.deps import CallerDep
from crm_core.api.resource import FilterField, filter_dependency
from crm_core.api.schemas.common import AuditOut, Page
from crm_core.api.schemas.mail_tracking import (
    EmailLinkOut,
    LinkStatus,
    PurgeIn,
    PurgeOut,
    QuarantineOut,
    RelinkIn,
    Signal,
    quarantine_out,
)
from crm_core.services import audit_trail, listing
from crm_core.services.listing import Op
from crm_core.services.mail_links import MailLinkService
from crm_core.services.mail_privacy import MailPrivacyService
from crm_core.services.quarantine import QuarantineService

router = APIRouter()

_QUARANTINE_FILTERS = [FilterField("mailbox_id", uuid.UUID), FilterField("reason", str),
                       FilterField("quarantined_on", AwareDatetime, (Op.GTE, Op.LTE))]  # type: ignore[arg-type]
QuarantineFilters = Annotated[list[listing.Filter], Depends(filter_dependency(_QUARANTINE_FILTERS))]
Cursor = Annotated[str | None, Query(description="From next_cursor of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=500)]


# --- quarantine ------------------------------------------------------------------------------------
@router.get("/quarantine", response_model=Page[QuarantineOut], tags=["quarantine"],
            summary="Messages the tracking could not read, newest first (administrators)")
def list_quarantine(caller: CallerDep, filters: QuarantineFilters, cursor: Cursor = None, limit: Limit = 50) -> Any:
    query = listing.ListQuery(filters=filters, sort="-quarantined_on", cursor=cursor, limit=limit)
    page = QuarantineService(caller.uow, caller.principal).list(query)
    return {"items": [quarantine_out(r) for r in page.items], "next_cursor": page.next_cursor}


@router.get("/quarantine/{record_id}", response_model=QuarantineOut, tags=["quarantine"],
            summary="A quarantined message: where it was, why, its size")
def read_quarantine(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return quarantine_out(QuarantineService(caller.uow, caller.principal).get(record_id))


@router.get("/quarantine/{record_id}/raw", tags=["quarantine"], response_class=Response,
            summary="The message's bytes exactly as the source gave them (message/rfc822)",
            responses={200: {"content": {"message/rfc822": {}}}})
def raw_quarantine(caller: CallerDep, record_id: uuid.UUID) -> Response:
    content, filename = QuarantineService(caller.uow, caller.principal).raw(record_id)
    return Response(content, media_type="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.delete("/quarantine/{record_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["quarantine"],
               summary="Discard a quarantined message and its bytes (audited)")
def discard_quarantine(caller: CallerDep, record_id: uuid.UUID) -> Response:
    QuarantineService(caller.uow, caller.principal).discard(record_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/quarantine/{record_id}/audit", response_model=list[AuditOut], tags=["quarantine"],
            summary="Audit trail of a quarantined message")
def audit_quarantine(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return audit_trail.trail(QuarantineService(caller.uow, caller.principal), record_id)


# --- link review -----------------------------------------------------------------------------------
@router.get("/email-links", response_model=Page[EmailLinkOut], tags=["email links"],
            summary="Tracked mail among the emails you may read, newest first: the review queue is "
            "status=needs_review")
def list_email_links(caller: CallerDep, status: LinkStatus | None = None, signal: Signal | None = None,
                     cursor: Cursor = None, limit: Limit = 50) -> Any:
    page = MailLinkService(caller.uow, caller.principal).queue(status, signal, cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/email-links/{tracked_id}/confirm", response_model=EmailLinkOut, tags=["email links"],
             summary="Accept a tracked email's link as it is (reviewed); needs Write on the email")
def confirm_email_link(caller: CallerDep, tracked_id: uuid.UUID) -> Any:
    return MailLinkService(caller.uow, caller.principal).confirm(tracked_id)


@router.get("/activities/{record_id}/link", response_model=EmailLinkOut, tags=["email links"],
            summary="Why an email is linked where it is: signal, confidence, candidates, review")
def explain_email_link(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return MailLinkService(caller.uow, caller.principal).explain(record_id)


@router.post("/activities/{record_id}/relink", response_model=EmailLinkOut, tags=["email links"],
             summary="Set an email's regarding record by hand (null and null: unlink); audited as relink")
def relink_email(caller: CallerDep, record_id: uuid.UUID, body: RelinkIn) -> Any:
    return MailLinkService(caller.uow, caller.principal).relink(record_id, body.regarding_type, body.regarding_id)


# --- privacy ---------------------------------------------------------------------------------------
@router.post("/activities/{record_id}/untrack", status_code=status.HTTP_204_NO_CONTENT, tags=["mail privacy"],
             summary="Remove a tracked email from the CRM (its owner or an administrator); it is not tracked again")
def untrack_email(caller: CallerDep, record_id: uuid.UUID) -> Response:
    MailPrivacyService(caller.uow, caller.principal).untrack(record_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/activities/{record_id}/redact", response_model=EmailLinkOut, tags=["mail privacy"],
             summary="Remove a tracked email's bodies, attachments and raw bytes; the activity stays")
def redact_email(caller: CallerDep, record_id: uuid.UUID) -> Any:
    MailPrivacyService(caller.uow, caller.principal).redact(record_id)
    return MailLinkService(caller.uow, caller.principal).explain(record_id)


@router.post("/mail-privacy/purge", response_model=PurgeOut, tags=["mail privacy"],
             summary="Untrack every mail from or to an address and anonymise it elsewhere (administrators)")
def purge_address(caller: CallerDep, body: PurgeIn) -> Any:
    return MailPrivacyService(caller.uow, caller.principal).purge(body.address)

