"""/mailboxes/{id}/folder-tracking-rules: a mailbox's tracked folders (Dynamics' folder-level tracking rules).

Listing needs Read on the mailbox; adding and removing need Write (its user, or an administrator). A regarding
record that does not exist, is not readable or cannot be a regarding record is a 422."""

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.deps import CallerDep
from crm_core.models.mailbox_tracking_folders import MAX_TRACKING_FOLDER_LENGTH
from crm_core.services.mailbox_tracking_folders import MailboxTrackingFolderService

router = APIRouter(tags=["mailboxes"])


class FolderTrackingRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    folder: str = Field(
        min_length=1,
        max_length=MAX_TRACKING_FOLDER_LENGTH,
        description='The folder as the mailbox\'s server names it: "CRM", "CRM/Contoso" (Exchange).',
    )
    regarding_type: str | None = Field(None, description="The record every mail moved there is linked to (optional).")
    regarding_id: uuid.UUID | None = None


class FolderTrackingRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    mailbox_id: uuid.UUID
    folder: str
    regarding_type: str | None
    regarding_id: uuid.UUID | None
    created_on: datetime
    created_by_id: uuid.UUID | None


@router.get(
    "/mailboxes/{record_id}/folder-tracking-rules",
    response_model=list[FolderTrackingRuleOut],
    summary="A mailbox's tracked folders: mail moved there is tracked (and linked to the rule's record)",
)
def list_rules(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return MailboxTrackingFolderService(caller.uow, caller.principal).list(record_id)


@router.post(
    "/mailboxes/{record_id}/folder-tracking-rules",
    response_model=FolderTrackingRuleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Track a folder of the mailbox",
)
def create_rule(caller: CallerDep, record_id: uuid.UUID, body: FolderTrackingRuleCreate) -> Any:
    return MailboxTrackingFolderService(caller.uow, caller.principal).create(
        record_id, body.folder, body.regarding_type, body.regarding_id
    )


@router.delete(
    "/mailboxes/{record_id}/folder-tracking-rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Stop tracking a folder (the mail it tracked stays tracked and linked)",
)
def delete_rule(caller: CallerDep, record_id: uuid.UUID, rule_id: uuid.UUID) -> Response:
    MailboxTrackingFolderService(caller.uow, caller.principal).delete(record_id, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
