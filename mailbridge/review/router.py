"""POST /api/v1/quarantine/{id}/retry, beside crm_core's quarantine routes (workers.app includes this router
under /api/v1 with the same authentication and problem responses, as it does mailbridge.admin's)."""

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crm_core.api.deps import CallerDep
from mailbridge.review.retry import retry_quarantined
from mailbridge.tracking import TrackingOptions

router = APIRouter()


class RetryOut(BaseModel):
    outcome: str = Field(description="tracked, duplicate, skipped or quarantined (unreadable again)")
    reason: str | None = Field(description="Why it was skipped, or the new quarantine reason")
    detail: str | None
    email_id: uuid.UUID | None = Field(description="The email it is now (tracked or duplicate)")
    still_quarantined: bool


@router.post("/quarantine/{record_id}/retry", response_model=RetryOut, tags=["quarantine"],
             summary="Track a quarantined message again with today's settings (administrators)")
def retry_quarantine(caller: CallerDep, record_id: uuid.UUID) -> Any:
    options = TrackingOptions.from_settings(caller.context.settings)
    return retry_quarantined(caller.uow, caller.principal, record_id, options)
