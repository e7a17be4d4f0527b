"""POST /api/v1/appointments/{id}/send-invitation: mail an appointment's (or a series') invitation, or its
cancellation, to its attendees through the owner's mailbox. Write on the appointment is needed; the email is
queued (Completed / Pending Send) and the mail workers deliver it. 409 when the owner has no mailbox that may
send or someone else organizes the meeting; 422 when it has no attendee.

Wired in workers/app.py: `app.include_router(meetings_router, prefix="/api/v1", responses=PROBLEM_RESPONSES)`
with `from calendar_sync.meetings.router import router as meetings_router`."""

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from calendar_sync.meetings.invitations import Method, send_invitation
from crm_core.api.deps import CallerDep
from crm_core.errors import NotFound
from crm_core.models import Appointment, RecurringAppointment
from crm_core.security.privileges import Privilege
from crm_core.services.activities import ActivityService

router = APIRouter(tags=["activities"])


class InvitationIn(BaseModel):
    method: Method = "REQUEST"


class InvitationOut(BaseModel):
    appointment_id: uuid.UUID
    email_id: uuid.UUID
    method: Method
    sequence: int
    recipients: list[str]


@router.post("/appointments/{record_id}/send-invitation", response_model=InvitationOut, status_code=202,
             summary="Mail the meeting's invitation (REQUEST) or cancellation (CANCEL) to its attendees")
def send_invitation_route(caller: CallerDep, record_id: uuid.UUID, body: InvitationIn | None = None) -> Any:
    record = ActivityService(caller.uow, caller.principal).get(record_id, Privilege.WRITE)
    if not isinstance(record, Appointment | RecurringAppointment):
        raise NotFound(f"no appointment with id {record_id}")
    caller.uow.rollback()  # the invitation is queued in a unit of work of its own
    invitation = send_invitation(caller.context.session_factory, record_id, (body or InvitationIn()).method,
                                 caller.principal)
    return InvitationOut(appointment_id=invitation.appointment_id, email_id=invitation.email_id,
                         method=invitation.method, sequence=invitation.sequence,
                         recipients=list(invitation.recipients))
