"""/activities (every type, one privilege set), their lifecycle verbs, /activity-types, and the timeline
of every activity-enabled collection."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime

from crm_core.api.deps import CallerDep
from crm_core.api.resource import FilterField, Resource
from crm_core.api.schemas.activities import (
    ActivityCreate,
    ActivityOut,
    ActivityTypeCreate,
    ActivityTypeOut,
    ActivityTypeUpdate,
    ActivityUpdate,
    StatusIn,
    TimelineItem,
    activity_out,
    timeline_item,
)
from crm_core.api.schemas.common import Page
from crm_core.entities import all_entities
from crm_core.services import email_sending
from crm_core.services.activities import ActivityService
from crm_core.services.activity_types import ActivityTypeService
from crm_core.services.listing import Op
from crm_core.services.timeline import TimelineQuery, TimelineService

RESOURCES = [
    Resource(
        "activity", ActivityService, ActivityCreate, ActivityUpdate, ActivityOut, tag="activities",
        to_out=activity_out,
        filters=[
            FilterField("activity_type", str, (Op.EQ, Op.IN)),
            FilterField("regarding_type", str), FilterField("regarding_id", uuid.UUID),
            FilterField("statecode", int), FilterField("statuscode", int),
            FilterField("owning_user_id", uuid.UUID), FilterField("owning_team_id", uuid.UUID),
            FilterField("owning_business_unit_id", uuid.UUID),
            FilterField("subject", str, (Op.EQ, Op.CONTAINS)),
            FilterField("scheduled_start", AwareDatetime, (Op.GTE, Op.LTE)),  # type: ignore[arg-type]
            FilterField("occurred_on", AwareDatetime, (Op.GTE, Op.LTE)),  # type: ignore[arg-type]
            FilterField("created_on", AwareDatetime, (Op.GTE, Op.LTE)),  # type: ignore[arg-type]
        ],
    ),
    Resource(
        "activity_type", ActivityTypeService, ActivityTypeCreate, ActivityTypeUpdate, ActivityTypeOut,
        tag="activity types", filters=[FilterField("code", str), FilterField("is_custom", bool)],
    ),
]

router = APIRouter()
_Status = StatusIn | None


@router.post("/activities/{record_id}/send", response_model=ActivityOut, tags=["activities"],
             summary="Send an email through its sender's (or owner's) mailbox: it becomes Pending Send, and the "
             "mail workers deliver it (Sent, or Failed with the reason)")
def send_email(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return activity_out(email_sending.request_send(caller.uow, caller.principal, record_id))


@router.post("/activities/{record_id}/complete", response_model=ActivityOut, tags=["activities"],
             summary="Complete an activity (read-only until reopened)")
def complete(caller: CallerDep, record_id: uuid.UUID, body: _Status = None) -> Any:
    """Moves it to Completed (Closed for some types) with the status given or the default one, and sets
    actual_end to now if it is empty."""
    svc = ActivityService(caller.uow, caller.principal)
    return activity_out(svc.complete(record_id, body.statuscode if body else None))


@router.post("/activities/{record_id}/cancel", response_model=ActivityOut, tags=["activities"],
             summary="Cancel an activity (read-only until reopened)")
def cancel(caller: CallerDep, record_id: uuid.UUID, body: _Status = None) -> Any:
    svc = ActivityService(caller.uow, caller.principal)
    return activity_out(svc.cancel(record_id, body.statuscode if body else None))


@router.post("/activities/{record_id}/reopen", response_model=ActivityOut, tags=["activities"],
             summary="Reopen a completed or canceled activity")
def reopen(caller: CallerDep, record_id: uuid.UUID, body: _Status = None) -> Any:
    svc = ActivityService(caller.uow, caller.principal)
    return activity_out(svc.reopen(record_id, body.statuscode if body else None))


def _timeline_collections() -> str:
    return ", ".join(s.collection for s in all_entities() if s.activity_enabled)


@router.get("/{collection}/{record_id}/timeline", response_model=Page[TimelineItem], tags=["timeline"],
            summary="A record's activities, newest first")
def timeline(
    caller: CallerDep,
    collection: Annotated[str, Path(description="Any activity-enabled collection: "
                                    f"{_timeline_collections()}...")],
    record_id: uuid.UUID,
    activity_type: str | None = None,
    statecode: int | None = None,
    cursor: Annotated[str | None, Query(description="From next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """The activities regarding the record and those it is a party to, each once, ordered by occurred_on
    (newest first), limited to the activities you may read. 404 if you cannot read the record."""
    query = TimelineQuery(activity_type=activity_type, statecode=statecode, cursor=cursor, limit=limit)
    page = TimelineService(caller.uow, caller.principal).timeline(collection, record_id, query)
    return {"items": [timeline_item(a) for a in page.items], "next_cursor": page.next_cursor}
