"""Bodies of activities, activity types and timelines.

An activity's body is flat: the common fields, `activity_type`, and the fields of that type (from the
catalogue; the service refuses those of another type). Its output carries only its own type's fields."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from crm_core.activity_catalogue import (
    BUILTIN,
    CUSTOM_FIELD_TYPES,
    PARTY_ROLES,
    ROLE_OF_MASK,
    TYPE_FIELDS,
    kind_of,
    types_with,
)
from crm_core.api.schemas.common import OwnerIn, RecordOut, StatefulOut, Strict

_TYPES = ", ".join(BUILTIN)


class PartyIn(Strict):
    role: str = Field(description=f"One of {', '.join(PARTY_ROLES)} (which ones depends on the type).")
    party_type: str | None = Field(default=None, description="contact, lead, account or user (with party_id).")
    party_id: uuid.UUID | None = None
    address: str | None = Field(default=None, description="An email address; resolved to a record if exactly "
                                "one contact, lead, account or user you can read has it.")


class PartyOut(BaseModel):
    role: str
    participation: int = Field(description="Dynamics' participationtypemask")
    party_type: str | None
    party_id: uuid.UUID | None
    address: str | None
    name: str | None = Field(description="The record's name, when you can read it.")
    is_party_deleted: bool = Field(default=False, description="The record this party named was deleted.")


class _Common(Strict):
    subject: str | None = Field(default=None, max_length=400, description="Required except for emails.")
    description: str | None = None
    regarding_type: str | None = Field(default=None, description="An activity-enabled entity: account, "
                                       "contact, lead...; null (with regarding_id) clears the link.")
    regarding_id: uuid.UUID | None = None
    scheduled_start: AwareDatetime | None = None
    scheduled_end: AwareDatetime | None = None
    actual_start: AwareDatetime | None = None
    actual_end: AwareDatetime | None = None
    actual_duration_minutes: int | None = Field(default=None, ge=0)
    priority_code: int = Field(default=1, ge=0, le=2, description="0 Low, 1 Normal, 2 High")
    parties: list[PartyIn] | None = Field(default=None, description="Replaces all the parties.")
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="Activities of a custom type: its fields; null removes one.")


def _type_field(name: str) -> tuple[Any, Any]:
    f = TYPE_FIELDS[name]
    py: Any = {datetime: AwareDatetime}.get(f.type, f.type)
    extra: dict[str, Any] = {}
    if f.type is Decimal:
        extra = {"max_digits": 19, "decimal_places": 4}
    if f.choices is None:
        extra.update({k: v for k, v in (("ge", f.ge), ("le", f.le)) if v is not None})
    if f.max_length is not None:
        extra["max_length"] = f.max_length
    description = f"{f.description} ({', '.join(types_with(name))})"
    return py | None, Field(default=None, description=description, **extra)


_TYPE_FIELDS = {name: _type_field(name) for name in TYPE_FIELDS}

ActivityCreate = create_model(  # type: ignore[call-overload]
    "ActivityCreate", __base__=(_Common, OwnerIn), __doc__="A new activity of any type.",
    activity_type=(str, Field(description=f"{_TYPES}, or the code of a custom type")), **_TYPE_FIELDS,
)
ActivityUpdate = create_model(  # type: ignore[call-overload]
    "ActivityUpdate", __base__=_Common, __doc__="Changes to an open activity.", **_TYPE_FIELDS,
)


class ActivityOut(StatefulOut):
    """An activity: the common fields below, then only its own type's fields (phone_number for a
    phone call, percent_complete for a task, custom_fields for a custom type...)."""

    model_config = ConfigDict(extra="allow")

    activity_type: str
    activity_type_name: str
    subject: str
    description: str | None
    regarding_type: str | None
    regarding_id: uuid.UUID | None
    regarding_name: str | None
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None
    actual_duration_minutes: int | None
    priority_code: int
    occurred_on: datetime
    parties: list[PartyOut]


_COMMON_OUT = (
    "id", "created_on", "modified_on", "created_by_id", "modified_by_id", "owner_type", "owner_id",
    "owning_business_unit_id", "statecode", "statuscode", "activity_type", "subject", "description",
    "regarding_type", "regarding_id", "scheduled_start", "scheduled_end", "actual_start", "actual_end",
    "actual_duration_minutes", "priority_code", "occurred_on",
)
# Read-only columns that only meetings show.
_MEETING_OUT = ("instance_type_code", "series_id")
# Read-only columns of emails: how their sending went.
_EMAIL_OUT = ("sending_mailbox_id", "send_attempts", "send_error")


def parties_out(record: Any) -> list[PartyOut]:
    display = getattr(record, "display", None)
    return [
        PartyOut(
            role=ROLE_OF_MASK.get(p.participation, str(p.participation)), participation=p.participation,
            party_type=p.party_type, party_id=p.party_id, address=p.address_used,
            name=display.name(p.party_type, p.party_id) if display else None,
            is_party_deleted=p.is_party_deleted,
        )
        for p in record.parties
    ]


def activity_out(record: Any) -> dict[str, Any]:
    """The output of one activity: common fields, labels and names, then its type's own fields."""
    kind = kind_of(record)
    display = getattr(record, "display", None)
    out: dict[str, Any] = {name: getattr(record, name) for name in _COMMON_OUT}
    out["state"], out["status"] = kind.states.label(record.statecode, record.statuscode)
    out["activity_type_name"] = display.type_name if display else record.activity_type
    out["regarding_name"] = display.name(record.regarding_type, record.regarding_id) if display else None
    out["parties"] = parties_out(record)
    for f in kind.fields:
        out[f.name] = getattr(record, f.name)
    if kind.code in ("appointment", "recurring_appointment"):
        out.update({name: getattr(record, name) for name in _MEETING_OUT})
    if kind.code == "email":
        out.update({name: getattr(record, name) for name in _EMAIL_OUT})
    if kind.code == "service_activity":
        out.update({name: getattr(record, name) for name in ("service_id", "site_id")})
    if kind.is_custom:
        out["custom_fields"] = record.custom_fields or {}
    return out


class StatusIn(Strict):
    statuscode: int | None = Field(default=None, description="A status reason of the target state; "
                                   "defaults to the state's default (e.g. phone call: Made 2 or Received 4).")


class RefOut(BaseModel):
    type: str
    id: uuid.UUID
    name: str | None


class TimelineItem(BaseModel):
    id: uuid.UUID
    activity_type: str
    activity_type_name: str
    subject: str
    statecode: int
    statuscode: int
    state: str
    status: str
    occurred_on: datetime
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    actual_end: datetime | None
    regarding: RefOut | None
    parties: list[PartyOut]
    owner: RefOut


def timeline_item(record: Any) -> TimelineItem:
    kind = kind_of(record)
    display = record.display
    state, status = kind.states.label(record.statecode, record.statuscode)
    regarding = None
    if record.regarding_type and record.regarding_id:
        regarding = RefOut(type=record.regarding_type, id=record.regarding_id,
                           name=display.name(record.regarding_type, record.regarding_id))
    return TimelineItem(
        id=record.id, activity_type=record.activity_type, activity_type_name=display.type_name,
        subject=record.subject, statecode=record.statecode, statuscode=record.statuscode, state=state,
        status=status, occurred_on=record.occurred_on, scheduled_start=record.scheduled_start,
        scheduled_end=record.scheduled_end, actual_end=record.actual_end, regarding=regarding,
        parties=parties_out(record),
        owner=RefOut(type=record.owner_type, id=record.owner_id, name=display.name(record.owner_type,
                                                                                    record.owner_id)),
    )


# --- activity types ------------------------------------------------------------------------------
class CustomFieldDef(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Lower-case letters, digits and _.")
    type: Literal["string", "integer", "decimal", "boolean", "date"] = Field(
        description=", ".join(CUSTOM_FIELD_TYPES))
    required: bool = False


class ActivityTypeCreate(Strict):
    code: str = Field(min_length=2, max_length=50, description="A slug, e.g. site_visit; not a built-in type.")
    display_name: str = Field(min_length=1, max_length=100)
    fields: list[CustomFieldDef] = Field(default_factory=list)


class ActivityTypeUpdate(Strict):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    fields: list[CustomFieldDef] | None = Field(default=None, description="Replaces the field list.")


class ActivityTypeOut(RecordOut):
    code: str
    display_name: str
    is_custom: bool
    fields: list[CustomFieldDef]

