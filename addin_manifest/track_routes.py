"""The task pane's writes: track and untrack the mail in view, create a contact, a lead or a case from it (and
track the mail to the new record), and track a meeting. All behind the add-in's sign-in, each checked against
the caller's privileges as the REST API's calls are (the services do it)."""

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, EmailStr, Field

from addin_manifest.auth.principal import AddinCaller, AddinCallerDep
from addin_manifest.context import RecordRef
from addin_manifest.tracking.appointments import AppointmentTracker, MeetingItem
from addin_manifest.tracking.mail import AddinMailTracking, TrackedMail, message_id_of, usable_mailbox
from addin_manifest.tracking.mail_fetch import OutlookItem, rest_id_of
from crm_core.errors import Conflict
from crm_core.models import Email
from crm_core.services.activity_display import record_names
from crm_core.services.cases import CaseService
from crm_core.services.customers import ContactService
from crm_core.services.leads import LeadService
from mailbridge.tracking.options import TrackingOptions

router = APIRouter(prefix="/addin/api", tags=["outlook add-in"])


class RecordIn(BaseModel):
    type: Literal["account", "contact", "lead", "opportunity", "case", "campaign", "contract", "quote", "order",
                  "invoice"]
    id: uuid.UUID


class MailIn(BaseModel):
    """The mail in view, as the pane names it."""

    item_id: str | None = Field(default=None, max_length=1000, description="Office's item id in REST form "
                                "(convertToRestId, v2.0): Graph's message id. An EWS id is accepted too.")
    internet_message_id: str = Field(max_length=998, description="The mail's Message-ID header.")
    conversation_id: str | None = Field(default=None, max_length=1000)
    mailbox: EmailStr | None = Field(default=None, description="The shared or delegated mailbox the item is in "
                                     "(getSharedPropertiesAsync: targetMailbox); null: the user's own.")

    def item(self) -> OutlookItem:
        return OutlookItem(rest_id_of(self.item_id), message_id_of(self.internet_message_id))


class TrackIn(MailIn):
    regarding: RecordIn | None = None


class TrackedOut(BaseModel):
    email_id: uuid.UUID
    mailbox_id: uuid.UUID = Field(description="The CRM mailbox the mail was read from (whose mailbox it is).")
    created: bool = Field(description="False: the mail was tracked already; only its regarding was set.")
    regarding: RecordRef | None


class NewContactIn(MailIn):
    email: EmailStr
    first_name: str | None = Field(default=None, max_length=50)
    last_name: str = Field(min_length=1, max_length=50)
    track: bool = True


class NewLeadIn(NewContactIn):
    subject: str = Field(min_length=1, max_length=300, description="The lead's topic.")
    company_name: str | None = Field(default=None, max_length=100)
    ignore_duplicates: bool = Field(default=False, description="Create it although it looks like an existing "
                                    "lead or contact (otherwise 409 with the possible duplicates).")


class NewCaseIn(MailIn):
    title: str = Field(min_length=1, max_length=200)
    customer: RecordIn = Field(description="The case's customer: an account or a contact.")
    description: str | None = Field(default=None, max_length=10_000)


class CreatedOut(BaseModel):
    record: RecordRef
    number: str | None = None
    tracked: TrackedOut | None


class TrackMeetingIn(BaseModel):
    item_id: str = Field(max_length=1000, description="The appointment's REST id (the series master's for a series).")
    series: bool = Field(default=False, description="Track the whole series, not this occurrence.")
    mailbox: EmailStr | None = None
    regarding: RecordIn


class TrackedMeetingOut(BaseModel):
    activity_id: uuid.UUID
    activity_type: str
    created: bool
    regarding: RecordRef | None


def tracking_options(request: Request, caller: AddinCaller) -> TrackingOptions:
    """The options of a sync (workers.app plugs in the meeting-mail hook, which this package may not import)."""
    make: Callable[[], TrackingOptions] | None = getattr(request.app.state, "addin_tracking_options", None)
    return make() if make is not None else TrackingOptions.from_settings(caller.context.settings)


def _tracked_out(caller: AddinCaller, tracked: TrackedMail) -> TrackedOut:
    email = caller.uow.session.get_one(Email, tracked.email_id)
    return TrackedOut(email_id=email.id, mailbox_id=tracked.mailbox_id, created=tracked.created,
                      regarding=_ref(caller, email.regarding_type, email.regarding_id))


def _ref(caller: AddinCaller, kind: str | None, record_id: uuid.UUID | None) -> RecordRef | None:
    if kind is None or record_id is None:
        return None
    names = record_names(caller.uow.session, caller.principal, {(kind, record_id)})
    return RecordRef(kind, record_id, names.get((kind, record_id)) or "")


def _track(request: Request, caller: AddinCaller, body: MailIn, regarding: tuple[str, uuid.UUID] | None) -> TrackedOut:
    tracking = AddinMailTracking(caller, tracking_options(request, caller))
    return _tracked_out(caller, tracking.track(body.item(), body.mailbox, regarding))


@router.post("/track", response_model=TrackedOut, summary="Track the mail in view (read by the server from the "
             "mailbox), regarding a record; repeating it changes nothing but the regarding")
def track(request: Request, response: Response, caller: AddinCallerDep, body: TrackIn) -> Any:
    regarding = (body.regarding.type, body.regarding.id) if body.regarding else None
    out = _track(request, caller, body, regarding)
    response.status_code = status.HTTP_201_CREATED if out.created else status.HTTP_200_OK
    return out


@router.delete("/track", status_code=status.HTTP_204_NO_CONTENT, summary="Untrack the mail: its activity is "
               "removed and sync will not track it again")
def untrack(request: Request, caller: AddinCallerDep,
            internet_message_id: Annotated[str, Query(max_length=998)]) -> Response:
    AddinMailTracking(caller, tracking_options(request, caller)).untrack(message_id_of(internet_message_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/contacts", response_model=CreatedOut, status_code=status.HTTP_201_CREATED,
             summary="Create a contact from the sender, and track the mail to him")
def new_contact(request: Request, caller: AddinCallerDep, body: NewContactIn) -> Any:
    if body.track:
        usable_mailbox(caller.uow.session, caller.principal, body.mailbox)  # refused before anything is made
    contact = ContactService(caller.uow, caller.principal).create(
        {"first_name": body.first_name, "last_name": body.last_name, "email_address1": str(body.email)})
    ref = RecordRef("contact", contact.id, contact.full_name)
    tracked = _track(request, caller, body, ("contact", ref.id)) if body.track else None
    return CreatedOut(record=ref, tracked=tracked)


@router.post("/leads", response_model=CreatedOut, status_code=status.HTTP_201_CREATED,
             summary="Create a lead from the sender, and track the mail to it")
def new_lead(request: Request, caller: AddinCallerDep, body: NewLeadIn) -> Any:
    if body.track:
        usable_mailbox(caller.uow.session, caller.principal, body.mailbox)
    lead = LeadService(caller.uow, caller.principal).create(
        {"subject": body.subject, "first_name": body.first_name, "last_name": body.last_name,
         "company_name": body.company_name, "email_address1": str(body.email),
         "ignore_duplicates": body.ignore_duplicates})
    ref = RecordRef("lead", lead.id, lead.full_name or lead.subject)
    tracked = _track(request, caller, body, ("lead", ref.id)) if body.track else None
    return CreatedOut(record=ref, tracked=tracked)


@router.post("/cases", response_model=CreatedOut, status_code=status.HTTP_201_CREATED,
             summary="Create a case from the mail, and track the mail to it")
def new_case(request: Request, caller: AddinCallerDep, body: NewCaseIn) -> Any:
    usable_mailbox(caller.uow.session, caller.principal, body.mailbox)
    case = CaseService(caller.uow, caller.principal).create(
        {"title": body.title, "customer_type": body.customer.type, "customer_id": body.customer.id,
         "description": body.description, "origin_code": 2})  # origin: Email
    ref = RecordRef("case", case.id, case.title)
    number = case.case_number
    return CreatedOut(record=ref, number=number, tracked=_track(request, caller, body, ("case", ref.id)))


@router.post("/track-appointment", response_model=TrackedMeetingOut,
             summary="Track the meeting in view (one occurrence or the series) regarding a record")
def track_appointment(request: Request, response: Response, caller: AddinCallerDep, body: TrackMeetingIn) -> Any:
    tracker: AppointmentTracker | None = getattr(request.app.state, "addin_appointments", None)
    if tracker is None:
        raise Conflict("meetings cannot be tracked on this server (no calendar sync is wired in)")
    item = MeetingItem(rest_id_of(body.item_id) or body.item_id, body.series)
    done = tracker(caller, item, body.mailbox, (body.regarding.type, body.regarding.id))
    response.status_code = status.HTTP_201_CREATED if done.created else status.HTTP_200_OK
    return TrackedMeetingOut(activity_id=done.activity_id, activity_type=done.activity_type, created=done.created,
                             regarding=_ref(caller, body.regarding.type, body.regarding.id))
