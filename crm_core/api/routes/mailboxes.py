"""/email-server-profiles and /mailboxes: CRUD from Resource declarations, plus approving a mailbox.

Testing a mailbox's connection needs the mail connectors, which crm_core does not import: that route
(POST /mailboxes/{id}/test) lives in mailbridge.admin and is wired by workers.app."""

import uuid
from typing import Any

from fastapi import APIRouter

from crm_core.api.deps import CallerDep
from crm_core.api.resource import CHANGED_FILTERS, FilterField, Resource, Verb
from crm_core.api.schemas.mailboxes import (
    EmailServerProfileCreate,
    EmailServerProfileOut,
    EmailServerProfileUpdate,
    MailboxCreate,
    MailboxOut,
    MailboxUpdate,
    mailbox_out,
)
from crm_core.services.email_server_profiles import EmailServerProfileService
from crm_core.services.listing import Op
from crm_core.services.mailboxes import MailboxService

RESOURCES = [
    Resource(
        "email_server_profile", EmailServerProfileService, EmailServerProfileCreate, EmailServerProfileUpdate,
        EmailServerProfileOut, tag="email-server-profiles",
        verbs=[Verb("activate", 0, "Activate a profile"),
               Verb("deactivate", 1, "Deactivate a profile: its mailboxes stop syncing")],
        filters=[FilterField("statecode", int), FilterField("name", str, (Op.EQ, Op.CONTAINS)),
                 FilterField("incoming_host", str), *CHANGED_FILTERS],
    ),
    Resource(
        "mailbox", MailboxService, MailboxCreate, MailboxUpdate, MailboxOut, tag="mailboxes", to_out=mailbox_out,
        filters=[FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("email_address", str),
                 FilterField("user_id", uuid.UUID), FilterField("queue_id", uuid.UUID),
                 FilterField("server_profile_id", uuid.UUID), FilterField("approval_status", str),
                 FilterField("incoming_enabled", bool), FilterField("outgoing_enabled", bool),
                 FilterField("last_test_outcome", str), *CHANGED_FILTERS],
    ),
]

router = APIRouter()


@router.post("/mailboxes/{record_id}/approve", response_model=MailboxOut, tags=["mailboxes"],
             summary="Approve a mailbox (administrators): an approved, enabled mailbox may sync")
def approve_mailbox(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return mailbox_out(MailboxService(caller.uow, caller.principal).approve(record_id))
