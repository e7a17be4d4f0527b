"""/subjects, /cases, /queues (and their items), /queue-items and /routing-rules.

The collections come from Resource declarations (list, create, read, update, delete, assign, share,
set-state, verbs, audit); `router` adds the verbs that take a body or answer something else than the
record: resolve, merge, route, a case's resolutions, queue members, queue items and their pick/release."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from crm_core.api.deps import CallerDep
from crm_core.api.resource import OWNED_FILTERS, FilterField, Resource, Verb, render_record
from crm_core.api.schemas.common import Page
from crm_core.api.schemas.service import (
    CaseCreate,
    CaseOut,
    CaseUpdate,
    MembersIn,
    MergeIn,
    PickIn,
    QueueCreate,
    QueueItemIn,
    QueueItemOut,
    QueueOut,
    QueueUpdate,
    ResolutionOut,
    ResolveIn,
    RoutingRuleCreate,
    RoutingRuleOut,
    RoutingRuleUpdate,
    SubjectCreate,
    SubjectOut,
    SubjectUpdate,
)
from crm_core.case_states import ACTIVE, CANCELED, CANCELED_STATUS
from crm_core.services.cases import CaseService
from crm_core.services.listing import Op
from crm_core.services.queues import ItemQuery, QueueItemService, QueueService
from crm_core.services.routing import RoutingRuleService
from crm_core.services.subjects import SubjectService

RESOURCES = [
    Resource(
        "subject", SubjectService, SubjectCreate, SubjectUpdate, SubjectOut, tag="subjects",
        filters=[FilterField("parent_id", uuid.UUID), FilterField("title", str, (Op.EQ, Op.CONTAINS))],
    ),
    Resource(
        "case", CaseService, CaseCreate, CaseUpdate, CaseOut, tag="cases",
        verbs=[Verb("cancel", CANCELED, "Cancel a case (Canceled 6); refused while it has active child cases",
                    CANCELED_STATUS),
               Verb("reactivate", ACTIVE, "Reactivate a resolved or canceled case (In Progress 1)")],
        filters=[*OWNED_FILTERS, FilterField("case_number", str), FilterField("title", str, (Op.EQ, Op.CONTAINS)),
                 FilterField("customer_id", uuid.UUID), FilterField("primary_contact_id", uuid.UUID),
                 FilterField("subject_id", uuid.UUID), FilterField("product_id", uuid.UUID),
                 FilterField("parent_case_id", uuid.UUID), FilterField("master_id", uuid.UUID),
                 FilterField("priority_code", int, (Op.EQ, Op.IN)), FilterField("origin_code", int),
                 FilterField("case_type_code", int)],
    ),
    Resource(
        "queue", QueueService, QueueCreate, QueueUpdate, QueueOut, tag="queues",
        verbs=[Verb("activate", 0, "Activate a queue"), Verb("deactivate", 1, "Deactivate a queue")],
        filters=[*OWNED_FILTERS, FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("queue_view_type", int),
                 FilterField("email_address", str)],
    ),
    Resource(
        "routing_rule", RoutingRuleService, RoutingRuleCreate, RoutingRuleUpdate, RoutingRuleOut,
        tag="routing-rules",
        verbs=[Verb("activate", 1, "Activate this rule set (the active one, if any, goes back to Draft)"),
               Verb("deactivate", 0, "Back to Draft, to change it")],
        filters=[FilterField("statecode", int), FilterField("name", str, (Op.EQ, Op.CONTAINS))],
    ),
]

router = APIRouter()


def _case(record: Any) -> CaseOut:
    return render_record(CaseOut, record)  # type: ignore[return-value]


# --- cases -----------------------------------------------------------------------------------------
@router.post("/cases/{record_id}/resolve", response_model=CaseOut, tags=["cases"],
             summary="Resolve a case with a resolution (refused while it has active child cases)")
def resolve_case(caller: CallerDep, record_id: uuid.UUID, body: ResolveIn) -> Any:
    svc = CaseService(caller.uow, caller.principal)
    return _case(svc.resolve(record_id, body.subject, body.description, body.time_spent_minutes, body.statuscode))


@router.post("/cases/{record_id}/merge", response_model=CaseOut, tags=["cases"],
             summary="Merge this case into another (it becomes Canceled/Merged, pointing at its master)")
def merge_case(caller: CallerDep, record_id: uuid.UUID, body: MergeIn) -> Any:
    return _case(CaseService(caller.uow, caller.principal).merge(record_id, body.master_id))


@router.post("/cases/{record_id}/route", response_model=CaseOut, tags=["cases"],
             summary="Apply the active routing rule to the case")
def route_case(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return _case(CaseService(caller.uow, caller.principal).route(record_id))


@router.get("/cases/{record_id}/resolutions", response_model=list[ResolutionOut], tags=["cases"],
            summary="A case's resolutions, newest first")
def case_resolutions(caller: CallerDep, record_id: uuid.UUID) -> Any:
    rows = CaseService(caller.uow, caller.principal).resolutions(record_id)
    return [ResolutionOut.model_validate(r) for r in rows]


# --- queues and their items ------------------------------------------------------------------------
@router.put("/queues/{record_id}/members", response_model=QueueOut, tags=["queues"],
            summary="Set the users who work a queue (only they see a private queue's items)")
def set_queue_members(caller: CallerDep, record_id: uuid.UUID, body: MembersIn) -> Any:
    return render_record(QueueOut, QueueService(caller.uow, caller.principal).set_members(record_id, body.user_ids))


@router.get("/queues/{record_id}/items", response_model=Page[QueueItemOut], tags=["queues"],
            summary="The items of a queue, oldest first")
def list_queue_items(
    caller: CallerDep,
    record_id: uuid.UUID,
    worker_id: uuid.UUID | None = None,
    object_type: Literal["case", "activity"] | None = None,
    worked: Annotated[bool | None, Query(description="false: only items nobody works")] = None,
    cursor: Annotated[str | None, Query(description="From next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    query = ItemQuery(worker_id=worker_id, object_type=object_type, worked=worked, cursor=cursor, limit=limit)
    page = QueueItemService(caller.uow, caller.principal).list(record_id, query)
    return {"items": [QueueItemOut.model_validate(i) for i in page.items], "next_cursor": page.next_cursor}


@router.post("/queues/{record_id}/items", response_model=QueueItemOut, status_code=status.HTTP_201_CREATED,
             tags=["queues"], summary="Add a case or an activity to a queue (moving it out of any other)",
             responses={200: {"description": "It was in this queue already: nothing changed."}})
def add_queue_item(caller: CallerDep, record_id: uuid.UUID, body: QueueItemIn) -> Response:
    item, changed = QueueItemService(caller.uow, caller.principal).add(record_id, body.object_type, body.object_id)
    out = QueueItemOut.model_validate(item)
    return Response(out.model_dump_json(), media_type="application/json",
                    status_code=status.HTTP_201_CREATED if changed else status.HTTP_200_OK)


@router.get("/queue-items/{item_id}", response_model=QueueItemOut, tags=["queues"], summary="Read a queue item")
def read_queue_item(caller: CallerDep, item_id: uuid.UUID) -> Any:
    return QueueItemOut.model_validate(QueueItemService(caller.uow, caller.principal).get(item_id))


@router.post("/queue-items/{item_id}/pick", response_model=QueueItemOut, tags=["queues"],
             summary="Work an item (you, or the user given)")
def pick_queue_item(caller: CallerDep, item_id: uuid.UUID, body: PickIn | None = None) -> Any:
    body = body or PickIn()
    item = QueueItemService(caller.uow, caller.principal).pick(item_id, body.worker_id, body.remove)
    return QueueItemOut.model_validate(item)


@router.post("/queue-items/{item_id}/release", response_model=QueueItemOut, tags=["queues"],
             summary="Stop working an item; it stays in the queue for someone else")
def release_queue_item(caller: CallerDep, item_id: uuid.UUID) -> Any:
    return QueueItemOut.model_validate(QueueItemService(caller.uow, caller.principal).release(item_id))


@router.post("/queue-items/{item_id}/remove", status_code=status.HTTP_204_NO_CONTENT, tags=["queues"],
             summary="Take an item out of its queue")
def remove_queue_item(caller: CallerDep, item_id: uuid.UUID) -> Response:
    QueueItemService(caller.uow, caller.principal).remove(item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
