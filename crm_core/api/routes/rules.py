"""/rules: business rules (administrators and customizers), their activation, versions and run history.

Written by hand rather than by build_router: the definition is checked against the collections whose record
services a rule acts through (the same services the API's collections use), and a rule has verbs of its own."""

import functools
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from crm_core.api.deps import CallerDep
from crm_core.api.schemas.common import AssignIn, AuditOut, Page
from crm_core.api.schemas.rules import RuleCreate, RuleOut, RuleRunOut, RuleUpdate, RuleVersionOut
from crm_core.automation.actions import RecordServices
from crm_core.services import audit_trail, listing
from crm_core.services.records import OwnerRef
from crm_core.services.rules import RuleService

router = APIRouter(prefix="/rules", tags=["rules"])


@functools.cache
def record_services() -> RecordServices:
    """The record service of every collection, by entity: what a rule reads and changes records through."""
    from crm_core.api.router import resources  # the router includes this module: import when first used

    return {res.entity: res.service for res in resources()}


def _service(caller: CallerDep) -> RuleService:
    return RuleService(caller.uow, caller.principal, frozenset(record_services()))


@router.get("", response_model=Page[RuleOut], summary="List business rules")
def list_rules(
    caller: CallerDep,
    name__contains: Annotated[str | None, Query(alias="name__contains")] = None,
    entity: str | None = None,
    is_active: bool | None = None,
    sort: Annotated[str, Query(description="created_on, modified_on or name; - for descending.")] = "-created_on",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    given = (
        listing.Filter("name", listing.Op.CONTAINS, name__contains) if name__contains else None,
        listing.Filter("entity", listing.Op.EQ, entity) if entity else None,
        listing.Filter("is_active", listing.Op.EQ, is_active) if is_active is not None else None,
    )
    query = listing.ListQuery(filters=[f for f in given if f is not None], sort=sort, cursor=cursor, limit=limit)
    page = _service(caller).list(query)
    return {"items": [RuleOut.model_validate(r) for r in page.items], "next_cursor": page.next_cursor}


@router.post(
    "",
    response_model=RuleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Define a rule (created inactive: activate it to run it)",
)
def create_rule(caller: CallerDep, body: RuleCreate) -> Any:
    values = body.model_dump(exclude_unset=True)
    owner_id = values.pop("owner_id", None)
    return _service(caller).create(values, OwnerRef("user", owner_id) if owner_id else None)


@router.get("/{record_id}", response_model=RuleOut, summary="Read a rule")
def read_rule(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return _service(caller).get(record_id)


@router.patch("/{record_id}", response_model=RuleOut, summary="Change a rule (a new version of its definition)")
def update_rule(caller: CallerDep, record_id: uuid.UUID, body: RuleUpdate) -> Any:
    return _service(caller).update(record_id, body.model_dump(exclude_unset=True))


@router.delete("/{record_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a rule, with its history")
def delete_rule(caller: CallerDep, record_id: uuid.UUID) -> Response:
    _service(caller).delete(record_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{record_id}/activate", response_model=RuleOut, summary="Start running the rule")
def activate(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return _service(caller).set_active(record_id, True)


@router.post("/{record_id}/deactivate", response_model=RuleOut, summary="Stop running the rule")
def deactivate(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return _service(caller).set_active(record_id, False)


@router.post("/{record_id}/assign", response_model=RuleOut, summary="Give the rule to another user (it runs as him)")
def assign(caller: CallerDep, record_id: uuid.UUID, body: AssignIn) -> Any:
    return _service(caller).assign(record_id, OwnerRef(body.owner_type, body.owner_id))


@router.get("/{record_id}/versions", response_model=list[RuleVersionOut], summary="Every version, newest first")
def versions(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return [RuleVersionOut.model_validate(v) for v in _service(caller).versions(record_id)]


@router.get("/{record_id}/runs", response_model=list[RuleRunOut], summary="The rule's runs, newest first")
def runs(
    caller: CallerDep,
    record_id: uuid.UUID,
    outcome: Literal["succeeded", "failed", "loop_stopped"] | None = None,
    record: Annotated[uuid.UUID | None, Query(description="Only the runs for this record.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    return [RuleRunOut.model_validate(r) for r in _service(caller).runs(record_id, outcome, record, limit)]


@router.get("/{record_id}/audit", response_model=list[AuditOut], summary="Audit trail of a rule")
def audit(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return [AuditOut.model_validate(e, from_attributes=True) for e in audit_trail.trail(_service(caller), record_id)]
