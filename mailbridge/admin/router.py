"""POST /api/v1/mailboxes/{id}/test: the connection test, beside crm_core's mailbox routes (workers.app
includes this router under /api/v1 with the same authentication and problem responses)."""

import uuid
from typing import Any

from fastapi import APIRouter

from crm_core.api.deps import CallerDep
from crm_core.api.schemas.mailboxes import MailboxOut, mailbox_out
from mailbridge.admin.actions import run_connection_test
from mailbridge.admin.consent_route import router as consent_router
from mailbridge.admin.dashboard_route import router as dashboard_router
from mailbridge.admin.health_route import router as health_router
from mailbridge.admin.sync_route import router as sync_router
from mailbridge.review.router import router as review_router

router = APIRouter()


@router.post("/mailboxes/{record_id}/test", response_model=MailboxOut, tags=["mailboxes"],
             summary="Test a mailbox's connection: log in to IMAP (and SMTP when it sends), find its folders; "
             "the outcome is stored as last_test")
def mailbox_connection_test(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return mailbox_out(run_connection_test(caller.uow, caller.principal, record_id))


router.include_router(sync_router)  # POST /mailboxes/{id}/sync
router.include_router(review_router)  # POST /quarantine/{id}/retry
router.include_router(health_router)  # sync health, runs, alerts, sync requests to the workers
router.include_router(consent_router)  # POST /mailboxes/{id}/consent, GET /mailbox-consent/callback
router.include_router(dashboard_router)  # GET /dashboards/mail: tracked mail per day and sync health
