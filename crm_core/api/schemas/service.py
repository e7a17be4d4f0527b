"""Bodies of the service area: subjects, cases and their resolutions, queues and queue items, routing rules."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas.common import OwnerIn, RecordOut, StatefulOut, Strict

_INT32 = 2**31 - 1

# --- subjects --------------------------------------------------------------------------------------


class SubjectCreate(Strict):
    title: str = Field(min_length=1, max_length=500)
    parent_id: uuid.UUID | None = Field(default=None, description="The subject it is filed under; none: a root.")
    description: str | None = None


class SubjectUpdate(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    parent_id: uuid.UUID | None = None
    description: str | None = None


class SubjectOut(RecordOut):
    title: str
    parent_id: uuid.UUID | None
    description: str | None


# --- cases -----------------------------------------------------------------------------------------
_ORIGIN = "1 Phone, 2 Email, 3 Web, 2483 Facebook, 3986 Twitter"
_TYPE = "1 Question, 2 Problem, 3 Request"
_PRIORITY = "1 High, 2 Normal, 3 Low"


class _CaseFields(Strict):
    primary_contact_id: uuid.UUID | None = None
    origin_code: int | None = Field(default=None, description=_ORIGIN)
    case_type_code: int | None = Field(default=None, description=_TYPE)
    priority_code: int | None = Field(default=None, description=f"{_PRIORITY} (default 2)")
    subject_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    parent_case_id: uuid.UUID | None = Field(default=None, description="An active case; no cycles.")
    description: str | None = None
    sla_id: uuid.UUID | None = Field(default=None, description="An active SLA; by default the contract's, else "
                                     "the organisation's default SLA.")
    contract_id: uuid.UUID | None = Field(default=None, description="An active contract of the customer.")
    contract_line_id: uuid.UUID | None = Field(default=None, description="A line of that contract with allotments "
                                               "left, whose allotment resolving the case consumes.")


class CaseCreate(_CaseFields, OwnerIn):
    title: str = Field(min_length=1, max_length=200)
    customer_type: Literal["account", "contact"]
    customer_id: uuid.UUID


class CaseUpdate(_CaseFields):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    first_response_sent: bool | None = Field(default=None, description="true: the customer has had a first "
                                             "response (a sent email or a completed outgoing call does it too).")
    customer_type: Literal["account", "contact"] | None = None
    customer_id: uuid.UUID | None = None


class CaseOut(StatefulOut):
    title: str
    case_number: str
    customer_type: Literal["account", "contact"]
    customer_id: uuid.UUID
    primary_contact_id: uuid.UUID | None
    origin_code: int | None
    case_type_code: int | None
    priority_code: int
    subject_id: uuid.UUID | None
    product_id: uuid.UUID | None
    parent_case_id: uuid.UUID | None
    master_id: uuid.UUID | None = Field(description="The case this one was merged into.")
    description: str | None
    queue_id: uuid.UUID | None = Field(description="The queue the case waits in, if any.")
    sla_id: uuid.UUID | None
    first_response_sent: bool
    first_response_on: datetime | None
    response_by: datetime | None = Field(default=None, description="When the first response is due: the failure "
                                         "time of the case's latest first-response KPI (GET .../sla-kpis).")
    resolve_by: datetime | None = Field(default=None, description="When the resolution is due (latest resolve KPI).")
    first_response_sla_status: str | None = Field(default=None, description="In Progress, Nearing Noncompliance, "
                                                  "Paused, Succeeded, Noncompliant or Canceled, as of now.")
    resolve_by_sla_status: str | None = Field(default=None, description="The same for the resolve KPI.")
    contract_id: uuid.UUID | None
    contract_line_id: uuid.UUID | None


class ResolveIn(Strict):
    subject: str = Field(min_length=1, max_length=200, description="What solved the case.")
    description: str | None = None
    time_spent_minutes: int = Field(default=0, ge=0, le=_INT32)
    statuscode: int | None = Field(default=None, description="5 Problem Solved (default) or 1000 Information "
                                   "Provided")


class MergeIn(Strict):
    master_id: uuid.UUID = Field(description="The active case that survives.")


class ResolutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    subject: str
    description: str | None
    time_spent_minutes: int
    case_statuscode: int = Field(description="The case's status reason: 5 Problem Solved, 1000 Information Provided")
    statecode: int = Field(description="1 Completed, or 2 Canceled once the case was reactivated")
    statuscode: int
    resolved_on: datetime
    contract_line_id: uuid.UUID | None = Field(description="The contract line whose allotment it consumed.")
    allotments_consumed: int = Field(description="What it took from that line: 1 case, or the minutes spent; "
                                     "given back if the case is reactivated.")
    created_by_id: uuid.UUID | None


# --- queues ----------------------------------------------------------------------------------------
class _QueueFields(Strict):
    description: str | None = None
    email_address: str | None = Field(default=None, max_length=320, description="Mail to it lands in the queue.")
    queue_view_type: int | None = Field(default=None, description="0 Public (default), 1 Private")
    member_ids: list[uuid.UUID] | None = Field(default=None, description="Users who work the queue (replaces "
                                               "the list); only they see a private queue's items.")


class QueueCreate(_QueueFields, OwnerIn):
    name: str = Field(min_length=1, max_length=160)


class QueueUpdate(_QueueFields):
    name: str | None = Field(default=None, min_length=1, max_length=160)


class QueueOut(StatefulOut):
    name: str
    description: str | None
    email_address: str | None
    queue_view_type: int
    member_ids: list[uuid.UUID]


class MembersIn(Strict):
    user_ids: list[uuid.UUID]


class QueueItemIn(Strict):
    object_type: Literal["case", "activity"]
    object_id: uuid.UUID


class QueueItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    queue_id: uuid.UUID
    object_type: Literal["case", "activity"]
    object_id: uuid.UUID
    title: str
    entered_on: datetime
    worker_id: uuid.UUID | None = Field(description="Who works it (Dynamics' Worked By).")
    worked_on: datetime | None
    created_by_id: uuid.UUID | None


class PickIn(Strict):
    worker_id: uuid.UUID | None = Field(default=None, description="Defaults to the caller; another user needs "
                                        "write on the queue.")
    remove: bool = Field(default=False, description="Also take the item out of the queue.")


# --- routing rules ---------------------------------------------------------------------------------
class RoutingRuleItemIn(Strict):
    name: str | None = Field(default=None, max_length=160)
    conditions: dict[str, Any] | None = Field(
        default=None, description='{"all": [...]}, {"any": [...]}, {"not": ...} or {"field", "op", "value"}; '
        "none matches every case. See docs/service.md.",
        examples=[{"all": [{"field": "priority_code", "op": "eq", "value": 1},
                           {"field": "origin_code", "op": "in", "value": [2, 3]}]}])
    queue_id: uuid.UUID | None = None
    assign_to_type: Literal["user", "team"] | None = None
    assign_to_id: uuid.UUID | None = None


class RoutingRuleCreate(Strict):
    name: str = Field(min_length=1, max_length=160)
    description: str | None = None
    items: list[RoutingRuleItemIn] = Field(default_factory=list, description="In the order they are tried.")


class RoutingRuleUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    description: str | None = None
    items: list[RoutingRuleItemIn] | None = Field(default=None, description="Replaces the items.")


class RoutingRuleItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sequence_number: int
    name: str | None
    conditions: dict[str, Any]
    queue_id: uuid.UUID | None
    assign_to_type: Literal["user", "team"] | None
    assign_to_id: uuid.UUID | None


class RoutingRuleOut(RecordOut):
    name: str
    description: str | None
    statecode: int
    statuscode: int
    state: str = ""
    status: str = ""
    items: list[RoutingRuleItemOut]
