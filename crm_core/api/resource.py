"""Builds the routes of one collection from a declaration: list (filters, sort, cursor), create, read,
update, delete, set-state and its named verbs, assign, share and the audit trail of a record."""

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel
from sqlalchemy import select

from crm_core.api.deps import CallerDep
from crm_core.api.schemas.common import AssignIn, AuditOut, Page, SetStateIn, ShareIn, ShareOut
from crm_core.entities import entity
from crm_core.models import AuditEntry
from crm_core.security.privileges import Privilege
from crm_core.services import listing
from crm_core.services.records import OwnerRef, RecordService


@dataclass(frozen=True)
class FilterField:
    name: str
    type: type
    ops: tuple[listing.Op, ...] = (listing.Op.EQ,)
    column: str | None = None  # defaults to name


@dataclass(frozen=True)
class Verb:
    """A lifecycle action `POST /{collection}/{id}/{name}` that moves the record to a state."""

    name: str
    statecode: int
    summary: str
    statuscode: int | None = None


@dataclass
class Resource:
    entity: str
    service: type[RecordService[Any]]
    create: type[BaseModel]
    update: type[BaseModel]
    out: type[BaseModel]
    filters: list[FilterField] = field(default_factory=list)
    verbs: list[Verb] = field(default_factory=list)
    tag: str = ""
    to_out: Callable[[Any], Any] | None = None
    # False for entities never deleted (users): the route stays, to explain why, but leaves the schema.
    deletable: bool = True

    def render(self, record: Any) -> Any:
        if self.to_out is not None:
            return self.to_out(record)
        return render_record(self.out, record)


def render_record(out: type[BaseModel], record: Any) -> BaseModel:
    data = out.model_validate(record, from_attributes=True)
    states = entity_states(record)
    if states is not None and hasattr(data, "state"):
        data.state, data.status = states.label(record.statecode, record.statuscode)  # type: ignore[attr-defined]
    return data


def entity_states(record: Any) -> Any:
    from crm_core.entities import entity_of

    return entity_of(record).states


def filter_dependency(fields: list[FilterField]) -> Callable[..., list[listing.Filter]]:
    """A dependency whose signature lists every filter as a documented query parameter."""
    params, meaning = [], {}
    for f in fields:
        for op in f.ops:
            alias = f.name if op is listing.Op.EQ else f"{f.name}__{op.value}"
            py_name = alias.replace("__", "_op_")
            annotation: Any = list[f.type] | None if op is listing.Op.IN else f.type | None  # type: ignore[valid-type]
            description = {
                listing.Op.EQ: f"{f.name} equals", listing.Op.CONTAINS: f"{f.name} contains (any case)",
                listing.Op.GTE: f"{f.name} at least", listing.Op.LTE: f"{f.name} at most",
                listing.Op.IN: f"{f.name} is one of (repeat the parameter)",
            }[op]
            params.append(inspect.Parameter(
                py_name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                default=Query(None, alias=alias, description=description),
            ))
            meaning[py_name] = (f.column or f.name, op)

    def dependency(**kwargs: Any) -> list[listing.Filter]:
        return [listing.Filter(meaning[k][0], meaning[k][1], v) for k, v in kwargs.items() if v is not None]

    dependency.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return dependency


_FILTER_TYPES = (str, int, bool, uuid.UUID, date, datetime, Decimal)


def build_router(res: Resource) -> APIRouter:
    spec = entity(res.entity)
    coll = spec.collection
    router = APIRouter(prefix=f"/{coll}", tags=[res.tag or coll])
    Filters = Annotated[list[listing.Filter], Depends(filter_dependency(res.filters))]
    Out, Create, Update = res.out, res.create, res.update
    sortable = sorted(res.service.sortable)

    @router.get("", response_model=Page[Out], summary=f"List {coll}")  # type: ignore[valid-type]
    def list_records(
        caller: CallerDep,
        filters: Filters,
        sort: Annotated[str, Query(description=f"One of {', '.join(sortable)}; prefix - for descending.")]
        = "-created_on",
        cursor: Annotated[str | None, Query(description="From next_cursor of the previous page.")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Any:
        svc = res.service(caller.uow, caller.principal)
        page = svc.list(listing.ListQuery(filters=filters, sort=sort, cursor=cursor, limit=limit))
        return {"items": [res.render(r) for r in page.items], "next_cursor": page.next_cursor}

    @router.post("", response_model=Out, status_code=status.HTTP_201_CREATED, summary=f"Create a {spec.name}")
    def create_record(caller: CallerDep, body: Create) -> Any:  # type: ignore[valid-type]
        values = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        owner_type, owner_id = values.pop("owner_type", "user"), values.pop("owner_id", None)
        owner = OwnerRef(owner_type, owner_id) if owner_id else None
        record = res.service(caller.uow, caller.principal).create(values, owner)
        return res.render(record)

    @router.get("/{record_id}", response_model=Out, summary=f"Read a {spec.name}")
    def read_record(caller: CallerDep, record_id: uuid.UUID) -> Any:
        return res.render(res.service(caller.uow, caller.principal).get(record_id))

    @router.patch("/{record_id}", response_model=Out, summary=f"Update a {spec.name}")
    def update_record(caller: CallerDep, record_id: uuid.UUID, body: Update) -> Any:  # type: ignore[valid-type]
        values = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        return res.render(res.service(caller.uow, caller.principal).update(record_id, values))

    @router.delete("/{record_id}", status_code=status.HTTP_204_NO_CONTENT, summary=f"Delete a {spec.name}",
                   include_in_schema=res.deletable)
    def delete_record(caller: CallerDep, record_id: uuid.UUID) -> Response:
        res.service(caller.uow, caller.principal).delete(record_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    if spec.ownership == "user":
        @router.post("/{record_id}/assign", response_model=Out, summary=f"Give a {spec.name} to another owner")
        def assign_record(caller: CallerDep, record_id: uuid.UUID, body: AssignIn) -> Any:
            svc = res.service(caller.uow, caller.principal)
            return res.render(svc.assign(record_id, OwnerRef(body.owner_type, body.owner_id)))

        @router.post("/{record_id}/share", response_model=ShareOut, summary=f"Share a {spec.name}")
        def share_record(caller: CallerDep, record_id: uuid.UUID, body: ShareIn) -> Any:
            svc = res.service(caller.uow, caller.principal)
            rights = svc.share(record_id, body.principal_type, body.principal_id, body.rights)
            return ShareOut(principal_type=body.principal_type, principal_id=body.principal_id, rights=rights)

    if spec.states is not None:
        @router.post("/{record_id}/set-state", response_model=Out, summary=f"Set the state of a {spec.name}")
        def set_state(caller: CallerDep, record_id: uuid.UUID, body: SetStateIn) -> Any:
            svc = res.service(caller.uow, caller.principal)
            return res.render(svc.set_state(record_id, body.statecode, body.statuscode))

    for verb in res.verbs:
        _add_verb(router, res, verb)

    @router.get("/{record_id}/audit", response_model=list[AuditOut], summary=f"Audit trail of a {spec.name}")
    def audit_trail(caller: CallerDep, record_id: uuid.UUID) -> Any:
        res.service(caller.uow, caller.principal).get(record_id)  # 404 unless readable
        caller.principal.require("audit", Privilege.READ)
        rows = caller.uow.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == spec.name, AuditEntry.record_id == record_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id)
        )
        return list(rows)

    return router


def _add_verb(router: APIRouter, res: Resource, verb: Verb) -> None:
    def run(caller: CallerDep, record_id: uuid.UUID) -> Any:
        svc = res.service(caller.uow, caller.principal)
        return res.render(svc.set_state(record_id, verb.statecode, verb.statuscode, action=verb.name))

    router.add_api_route(f"/{{record_id}}/{verb.name}", run, methods=["POST"], response_model=res.out,
                         summary=verb.summary, name=f"{res.entity}_{verb.name}")
