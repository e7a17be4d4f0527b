"""Builds the routes of one collection from a declaration: list (filters, sort, cursor), create, read,
update, delete, set-state and its named verbs, assign, share and the audit trail of a record."""

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, TypeAdapter

from crm_core.api.deps import BearerDep, Caller, ContextDep, respond
from crm_core.api.schemas.common import AssignIn, AuditOut, Page, SetStateIn, ShareIn, ShareOut
from crm_core.entities import entity
from crm_core.services import audit_trail, listing
from crm_core.services.records import OwnerRef, RecordService


@dataclass(frozen=True)
class FilterField:
    name: str
    type: type
    ops: tuple[listing.Op, ...] = (listing.Op.EQ,)
    column: str | None = None  # defaults to name


# The filters every collection of owned records offers: state, owner, and when it was made or changed.
CHANGED_FILTERS = [FilterField("created_on", datetime, (listing.Op.GTE, listing.Op.LTE)),
                   FilterField("modified_on", datetime, (listing.Op.GTE, listing.Op.LTE))]
OWNED_FILTERS = [
    FilterField("statecode", int), FilterField("statuscode", int),
    FilterField("owning_user_id", uuid.UUID), FilterField("owning_team_id", uuid.UUID),
    FilterField("owning_business_unit_id", uuid.UUID), *CHANGED_FILTERS,
]


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

    async def dependency(**kwargs: Any) -> list[listing.Filter]:  # async: no I/O, so no thread hop
        return [listing.Filter(meaning[k][0], meaning[k][1], v) for k, v in kwargs.items() if v is not None]

    dependency.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return dependency


def build_router(res: Resource) -> APIRouter:
    spec = entity(res.entity)
    coll = spec.collection
    router = APIRouter(prefix=f"/{coll}", tags=[res.tag or coll])
    Filters = Annotated[list[listing.Filter], Depends(filter_dependency(res.filters))]
    Out, Create, Update = res.out, res.create, res.update
    one, page_of = TypeAdapter(Out), TypeAdapter(Page[Out])  # type: ignore[valid-type]
    sortable = sorted(res.service.sortable)

    def service(caller: Caller) -> RecordService[Any]:
        return res.service(caller.uow, caller.principal)

    @router.get("", response_model=Page[Out], summary=f"List {coll}")  # type: ignore[valid-type]
    async def list_records(
        ctx: ContextDep,
        credentials: BearerDep,
        filters: Filters,
        sort: Annotated[str, Query(description=f"One of {', '.join(sortable)}; prefix - for descending.")]
        = "-created_on",
        cursor: Annotated[str | None, Query(description="From next_cursor of the previous page.")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Response:
        def work(caller: Caller) -> Any:
            page = service(caller).list(listing.ListQuery(filters=filters, sort=sort, cursor=cursor, limit=limit))
            return {"items": [res.render(r) for r in page.items], "next_cursor": page.next_cursor}

        return await respond(ctx, credentials, work, page_of)

    @router.post("", response_model=Out, status_code=status.HTTP_201_CREATED, summary=f"Create a {spec.name}")
    async def create_record(ctx: ContextDep, credentials: BearerDep, body: Create) -> Response:  # type: ignore[valid-type]
        values = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        owner_type, owner_id = values.pop("owner_type", "user"), values.pop("owner_id", None)
        owner = OwnerRef(owner_type, owner_id) if owner_id else None
        return await respond(ctx, credentials, lambda c: res.render(service(c).create(values, owner)), one,
                             status.HTTP_201_CREATED)

    @router.get("/{record_id}", response_model=Out, summary=f"Read a {spec.name}")
    async def read_record(ctx: ContextDep, credentials: BearerDep, record_id: uuid.UUID) -> Response:
        return await respond(ctx, credentials, lambda c: res.render(service(c).get(record_id)), one)

    @router.patch("/{record_id}", response_model=Out, summary=f"Update a {spec.name}")
    async def update_record(ctx: ContextDep, credentials: BearerDep, record_id: uuid.UUID,
                            body: Update) -> Response:  # type: ignore[valid-type]
        values = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        return await respond(ctx, credentials, lambda c: res.render(service(c).update(record_id, values)), one)

    @router.delete("/{record_id}", status_code=status.HTTP_204_NO_CONTENT, summary=f"Delete a {spec.name}",
                   include_in_schema=res.deletable)
    async def delete_record(ctx: ContextDep, credentials: BearerDep, record_id: uuid.UUID) -> Response:
        return await respond(ctx, credentials, lambda c: service(c).delete(record_id), None,
                             status.HTTP_204_NO_CONTENT)

    if spec.ownership == "user":
        @router.post("/{record_id}/assign", response_model=Out, summary=f"Give a {spec.name} to another owner")
        async def assign_record(ctx: ContextDep, credentials: BearerDep, record_id: uuid.UUID,
                                body: AssignIn) -> Response:
            owner = OwnerRef(body.owner_type, body.owner_id)
            return await respond(ctx, credentials, lambda c: res.render(service(c).assign(record_id, owner)), one)

        @router.post("/{record_id}/share", response_model=ShareOut, summary=f"Share a {spec.name}")
        async def share_record(ctx: ContextDep, credentials: BearerDep, record_id: uuid.UUID,
                               body: ShareIn) -> Response:
            def work(caller: Caller) -> ShareOut:
                rights = service(caller).share(record_id, body.principal_type, body.principal_id, body.rights)
                return ShareOut(principal_type=body.principal_type, principal_id=body.principal_id, rights=rights)

            return await respond(ctx, credentials, work, TypeAdapter(ShareOut))

    if spec.states is not None:
        @router.post("/{record_id}/set-state", response_model=Out, summary=f"Set the state of a {spec.name}")
        async def set_state(ctx: ContextDep, credentials: BearerDep, record_id: uuid.UUID,
                            body: SetStateIn) -> Response:
            def work(caller: Caller) -> Any:
                return res.render(service(caller).set_state(record_id, body.statecode, body.statuscode))

            return await respond(ctx, credentials, work, one)

    for verb in res.verbs:
        _add_verb(router, res, verb, one)

    @router.get("/{record_id}/audit", response_model=list[AuditOut], summary=f"Audit trail of a {spec.name}")
    async def audit(ctx: ContextDep, credentials: BearerDep, record_id: uuid.UUID) -> Response:
        return await respond(ctx, credentials, lambda c: audit_trail.trail(service(c), record_id), _AUDIT)

    return router


_AUDIT = TypeAdapter(list[AuditOut])


def _add_verb(router: APIRouter, res: Resource, verb: Verb, one: TypeAdapter[Any]) -> None:
    async def run(ctx: ContextDep, credentials: BearerDep, record_id: uuid.UUID) -> Response:
        def work(caller: Caller) -> Any:
            svc = res.service(caller.uow, caller.principal)
            return res.render(svc.set_state(record_id, verb.statecode, verb.statuscode, action=verb.name))

        return await respond(ctx, credentials, work, one)

    router.add_api_route(f"/{{record_id}}/{verb.name}", run, methods=["POST"], response_model=res.out,
                         summary=verb.summary, name=f"{res.entity}_{verb.name}")
