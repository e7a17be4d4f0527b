"""The task pane's reads: GET /addin/api/context (everything the pane shows for the item in view, in one round
trip), GET /addin/api/search (the record picker), GET /addin/api/records/{kind}/{id} (a record opened in the
pane), and GET /addin/api/templates with POST /addin/api/templates/{id}/render (insert a template while
composing: a rendering, nothing written). All authenticated as the add-in's other endpoints are
(addin_manifest.auth: an Entra ID token, or a CRM token in development mode) and read within the caller's
privileges."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from addin_manifest.auth.principal import AddinCallerDep
from addin_manifest.context import ItemContext, item_context
from addin_manifest.record import KINDS as RECORD_KINDS
from addin_manifest.record import RecordView, read_record
from addin_manifest.search import KINDS, search_records
from addin_manifest.templates import readable_templates, render_for

router = APIRouter(prefix="/addin/api", tags=["outlook add-in"])

MAX_RECIPIENTS = 200


class RecordOut(BaseModel):
    type: str
    id: uuid.UUID
    name: str


class PersonOut(BaseModel):
    address: str
    role: str
    records: list[RecordOut]


class OpenItemOut(BaseModel):
    type: str
    id: uuid.UUID
    title: str
    number: str | None
    customer: RecordOut | None
    modified_on: datetime


class ActivityOut(BaseModel):
    id: uuid.UUID
    activity_type: str
    subject: str
    occurred_on: datetime
    statecode: int
    regarding: RecordOut | None


class TrackedOut(BaseModel):
    email_id: uuid.UUID
    regarding: RecordOut | None


class ContextOut(BaseModel):
    people: list[PersonOut]
    open_cases: list[OpenItemOut]
    open_opportunities: list[OpenItemOut]
    recent_activities: list[ActivityOut]
    tracked: TrackedOut | None = Field(description="This mail, tracked: its email activity and regarding record.")

    @classmethod
    def of(cls, ctx: ItemContext) -> "ContextOut":
        return cls.model_validate(ctx, from_attributes=True)


class FieldOut(BaseModel):
    label: str
    value: str
    record: RecordOut | None = Field(description="The record the value names, when it names one.")


class RecordViewOut(BaseModel):
    type: str
    id: uuid.UUID
    name: str
    state: str | None
    fields: list[FieldOut]
    open_cases: list[OpenItemOut]
    open_opportunities: list[OpenItemOut]
    recent_activities: list[ActivityOut]

    @classmethod
    def of(cls, view: RecordView) -> "RecordViewOut":
        return cls.model_validate(view, from_attributes=True)


class TemplateOut(BaseModel):
    id: uuid.UUID
    name: str
    target_entity: str | None = Field(description="The kind of record it is for; null: a global template.")
    language_code: str


class RecordRefIn(BaseModel):
    type: str = Field(description=f"One of {', '.join(RECORD_KINDS)}.")
    id: uuid.UUID


class RenderedOut(BaseModel):
    subject: str = Field(description="One line: a value's line breaks became spaces.")
    body_html: str | None = Field(description="The template's HTML with every value HTML-escaped.")
    body_text: str | None


class FoundOut(BaseModel):
    type: str
    id: uuid.UUID
    name: str
    detail: str | None


@router.get("/context", response_model=ContextOut,
            summary="For the mail or meeting in view: its people's records, their open cases and opportunities, "
            "recent activities, and whether it is tracked")
def context(caller: AddinCallerDep,
            sender: Annotated[str | None, Query(max_length=400, description="From (an address).")] = None,
            to: Annotated[list[str] | None, Query(description="To (repeat), or a meeting's attendees.")] = None,
            cc: Annotated[list[str] | None, Query(description="Cc (repeat).")] = None,
            internet_message_id: Annotated[str | None, Query(max_length=998)] = None) -> Any:
    recipients = [("to", a) for a in (to or [])] + [("cc", a) for a in (cc or [])]
    ctx = item_context(caller.uow.session, caller.principal, sender=sender,
                       recipients=recipients[:MAX_RECIPIENTS], internet_message_id=internet_message_id)
    return ContextOut.of(ctx)


@router.get("/search", response_model=list[FoundOut], summary="Records a mail can be regarding, by name, "
            "address or number")
def search(caller: AddinCallerDep, q: Annotated[str, Query(min_length=1, max_length=200)],
           types: Annotated[list[str] | None, Query(description=f"Among {', '.join(KINDS)}.")] = None,
           limit: Annotated[int, Query(ge=1, le=25)] = 10) -> Any:
    return [FoundOut.model_validate(f, from_attributes=True)
            for f in search_records(caller.uow.session, caller.principal, q, types, limit)]


@router.get("/records/{kind}/{record_id}", response_model=RecordViewOut,
            summary="One record as the pane opens it: its main fields, open cases and opportunities, recent "
            "activities", responses={404: {"description": "No such record, or one the caller may not read."}})
def record(caller: AddinCallerDep, kind: Annotated[str, Path(description=f"One of {', '.join(RECORD_KINDS)}.")],
           record_id: uuid.UUID) -> Any:
    return RecordViewOut.of(read_record(caller.uow.session, caller.principal, kind, record_id))


@router.get("/templates", response_model=list[TemplateOut],
            summary="The email templates the caller may read, for the kinds of record the pane shows")
def templates(caller: AddinCallerDep) -> Any:
    return [TemplateOut.model_validate(t, from_attributes=True)
            for t in readable_templates(caller.uow.session, caller.principal)]


@router.post("/templates/{template_id}/render", response_model=RenderedOut,
             summary="A template filled from a record the caller may read, to insert into the mail being written",
             responses={404: {"description": "No such template or record, or one the caller may not read."}})
def render_template(caller: AddinCallerDep, template_id: uuid.UUID, body: RecordRefIn) -> Any:
    done = render_for(caller.uow, caller.principal, template_id, body.type, body.id)
    return RenderedOut(subject=done.subject, body_html=done.body_html, body_text=done.body_text)
