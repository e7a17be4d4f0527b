"""/contract-templates and /contracts: the generated routes (list, create, read, update, delete, assign,
share, set-state, audit; templates' activate and deactivate), a contract's lines (`/contracts/{id}/lines`),
its lifecycle (invoice, hold, release, cancel, renew), and `GET /contracts/available`, the contracts a
customer may open a case under. `early_router` is included before the collections, for paths such as
/contracts/available that /contracts/{record_id} would otherwise take."""

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from crm_core import contract_states as ks
from crm_core.api.deps import CallerDep
from crm_core.api.resource import FilterField, Resource, Verb, render_record
from crm_core.api.schemas.contracts import (
    AvailableContractOut,
    CancelContractIn,
    ContractCreate,
    ContractLineCreate,
    ContractLineOut,
    ContractLineUpdate,
    ContractOut,
    ContractUpdate,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
)
from crm_core.models import Contract, ContractLine
from crm_core.services import contract_usage
from crm_core.services.contract_lines import counts_allotments, today
from crm_core.services.contract_templates import ContractTemplateService
from crm_core.services.contracts import ContractService
from crm_core.services.listing import Op


def line_out(line: ContractLine) -> ContractLineOut:
    out = ContractLineOut.model_validate(line)
    out.state, out.status = ks.LINE.label(line.statecode, line.statuscode)
    return out


def contract_out(record: Contract) -> ContractOut:
    out: ContractOut = render_record(ContractOut, record)  # type: ignore[assignment]
    out.lines = [line_out(x) for x in record.lines]
    return out


_DATES = (Op.EQ, Op.GTE, Op.LTE)

RESOURCES = [
    Resource(
        "contract_template", ContractTemplateService, TemplateCreate, TemplateUpdate, TemplateOut,
        tag="contract-templates",
        verbs=[Verb("activate", 0, "Activate a template: it makes new contracts again"),
               Verb("deactivate", 1, "Deactivate a template: no new contracts from it; it becomes read-only")],
        filters=[FilterField("statecode", int), FilterField("name", str, (Op.EQ, Op.CONTAINS)),
                 FilterField("abbreviation", str), FilterField("allotment_type", int)],
    ),
    Resource(
        "contract", ContractService, ContractCreate, ContractUpdate, ContractOut, tag="contracts",
        to_out=contract_out,
        filters=[FilterField("statecode", int), FilterField("statuscode", int),
                 FilterField("owning_user_id", uuid.UUID), FilterField("owning_team_id", uuid.UUID),
                 FilterField("owning_business_unit_id", uuid.UUID),
                 FilterField("created_on", datetime, (Op.GTE, Op.LTE)),
                 FilterField("modified_on", datetime, (Op.GTE, Op.LTE)),
                 FilterField("contract_number", str), FilterField("title", str, (Op.EQ, Op.CONTAINS)),
                 FilterField("customer_id", uuid.UUID), FilterField("template_id", uuid.UUID),
                 FilterField("originating_contract_id", uuid.UUID), FilterField("allotment_type", int),
                 FilterField("active_on", date, _DATES), FilterField("expires_on", date, _DATES)],
    ),
]

early_router = APIRouter()
router = APIRouter()
_TAGS: list[str | Enum] = ["contracts"]


# --- what a case may be opened under ---------------------------------------------------------------
@early_router.get("/contracts/available", response_model=list[AvailableContractOut], tags=_TAGS,
                  summary="The Active contracts covering a customer on a day, with the lines a case can use")
def available_contracts(
    caller: CallerDep,
    customer_type: Literal["account", "contact"],
    customer_id: uuid.UUID,
    on: Annotated[date | None, Query(description="Defaults to today")] = None,
) -> Any:
    offered = contract_usage.available(caller.uow.session, caller.principal, customer_type, customer_id,
                                       on or today())
    return [AvailableContractOut(
        contract_id=a.contract.id, contract_number=a.contract.contract_number, title=a.contract.title,
        customer_type=a.contract.customer_type, customer_id=a.contract.customer_id,  # type: ignore[arg-type]
        allotment_type=a.contract.allotment_type, service_level=a.contract.service_level,
        sla_id=a.contract.sla_id, active_on=a.contract.active_on, expires_on=a.contract.expires_on,
        line_required=counts_allotments(a.contract), lines=[line_out(x) for x in a.lines],
    ) for a in offered]


# --- lines -----------------------------------------------------------------------------------------
_LINES = "/contracts/{record_id}/lines"


@router.get(_LINES, response_model=list[ContractLineOut], tags=_TAGS, summary="The lines of a contract")
def list_lines(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return [line_out(x) for x in ContractService(caller.uow, caller.principal).lines(record_id)]


@router.post(_LINES, response_model=ContractLineOut, status_code=status.HTTP_201_CREATED, tags=_TAGS,
             summary="Add a line to a Draft contract (its totals follow)")
def add_line(caller: CallerDep, record_id: uuid.UUID, body: ContractLineCreate) -> Any:
    svc = ContractService(caller.uow, caller.principal)
    return line_out(svc.add_line(record_id, body.model_dump(exclude_unset=True)))


@router.get(_LINES + "/{line_id}", response_model=ContractLineOut, tags=_TAGS, summary="Read a contract line")
def read_line(caller: CallerDep, record_id: uuid.UUID, line_id: uuid.UUID) -> Any:
    return line_out(ContractService(caller.uow, caller.principal).line(record_id, line_id))


@router.patch(_LINES + "/{line_id}", response_model=ContractLineOut, tags=_TAGS,
              summary="Change a line of a Draft contract (its totals follow)")
def update_line(caller: CallerDep, record_id: uuid.UUID, line_id: uuid.UUID, body: ContractLineUpdate) -> Any:
    svc = ContractService(caller.uow, caller.principal)
    return line_out(svc.update_line(record_id, line_id, body.model_dump(exclude_unset=True)))


@router.delete(_LINES + "/{line_id}", status_code=status.HTTP_204_NO_CONTENT, tags=_TAGS,
               summary="Remove a line from a Draft contract")
def delete_line(caller: CallerDep, record_id: uuid.UUID, line_id: uuid.UUID) -> Response:
    ContractService(caller.uow, caller.principal).delete_line(record_id, line_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- lifecycle -------------------------------------------------------------------------------------
@router.post("/contracts/{record_id}/invoice", response_model=ContractOut, tags=_TAGS,
             summary="Invoice a Draft contract with lines: Invoiced, or Active at once if active_on has come")
def invoice_contract(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return contract_out(ContractService(caller.uow, caller.principal).invoice(record_id))


@router.post("/contracts/{record_id}/hold", response_model=ContractOut, tags=_TAGS,
             summary="Put an Active contract On Hold: no new cases under it")
def hold_contract(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return contract_out(ContractService(caller.uow, caller.principal).hold(record_id))


@router.post("/contracts/{record_id}/release", response_model=ContractOut, tags=_TAGS,
             summary="Release an On Hold contract: Active again (Expired if it ran out meanwhile)")
def release_contract(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return contract_out(ContractService(caller.uow, caller.principal).release(record_id))


@router.post("/contracts/{record_id}/cancel", response_model=ContractOut, tags=_TAGS,
             summary="Cancel an Invoiced, Active or On Hold contract, and its lines in force")
def cancel_contract(caller: CallerDep, record_id: uuid.UUID, body: CancelContractIn | None = None) -> Any:
    canceled_on = body.canceled_on if body else None
    return contract_out(ContractService(caller.uow, caller.principal).cancel(record_id, canceled_on))


@router.post("/contracts/{record_id}/renew", response_model=ContractOut, status_code=status.HTTP_201_CREATED,
             tags=_TAGS, summary="Renew an Active, On Hold or Expired contract: returns the new Draft contract, "
             "starting the day after this one expires")
def renew_contract(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return contract_out(ContractService(caller.uow, caller.principal).renew(record_id))
