"""/opportunities, /competitors and /sales-processes, and the sales lifecycle: lead qualify, disqualify,
reactivate and duplicate check; opportunity win, lose, reopen, set-stage, close records and competitors.

The collections come from Resource declarations; `router` adds the verbs that take a body or return
something other than the record. (Leads' own collection is declared in routes/customers.py.)"""

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Response, status

from crm_core.api.deps import CallerDep
from crm_core.api.resource import OWNED_FILTERS, FilterField, Resource, Verb, render_record
from crm_core.api.schemas.customers import LeadOut
from crm_core.api.schemas.sales import (
    CompetitorCreate,
    CompetitorOut,
    CompetitorUpdate,
    DisqualifyIn,
    DuplicatesOut,
    LeadCreate,
    LoseIn,
    OpportunityCloseOut,
    OpportunityCreate,
    OpportunityOut,
    OpportunityUpdate,
    QualifyIn,
    QualifyOut,
    SalesProcessCreate,
    SalesProcessOut,
    SalesProcessUpdate,
    SetStageIn,
    WinIn,
)
from crm_core.services.competitors import CompetitorService
from crm_core.services.leads import LeadService, QualifyOptions
from crm_core.services.listing import Op
from crm_core.services.opportunities import OpportunityService
from crm_core.services.sales_processes import SalesProcessService

RESOURCES = [
    Resource(
        "opportunity", OpportunityService, OpportunityCreate, OpportunityUpdate, OpportunityOut,
        tag="opportunities",
        verbs=[Verb("reopen", 0, "Reopen a won or lost opportunity (Open, In Progress; its close record is "
                                 "canceled)")],
        filters=[
            *OWNED_FILTERS,
            FilterField("name", str, (Op.EQ, Op.CONTAINS)),
            FilterField("customer_type", str), FilterField("customer_id", uuid.UUID),
            FilterField("originating_lead_id", uuid.UUID),
            FilterField("sales_process_id", uuid.UUID), FilterField("stage_id", uuid.UUID),
            FilterField("opportunity_rating_code", int),
            FilterField("estimated_close_date", date, (Op.GTE, Op.LTE)),
            FilterField("close_probability", int, (Op.GTE, Op.LTE)),
        ],
    ),
    Resource(
        "competitor", CompetitorService, CompetitorCreate, CompetitorUpdate, CompetitorOut, tag="competitors",
        filters=[FilterField("name", str, (Op.EQ, Op.CONTAINS))],
    ),
    Resource(
        "sales_process", SalesProcessService, SalesProcessCreate, SalesProcessUpdate, SalesProcessOut,
        tag="sales-processes", filters=[FilterField("name", str, (Op.EQ, Op.CONTAINS))],
    ),
]

router = APIRouter()


def _opportunity(record: Any) -> OpportunityOut:
    return render_record(OpportunityOut, record)  # type: ignore[return-value]


# --- leads -----------------------------------------------------------------------------------------
@router.post("/leads/duplicates", response_model=DuplicatesOut, tags=["leads"],
             summary="The records a new lead would duplicate (nothing is created)")
def lead_duplicates(caller: CallerDep, body: LeadCreate) -> Any:
    """Send the body you would create: the answer lists the leads, contacts and accounts you can read that
    have its email address, and the leads with its company name and last name."""
    found = LeadService(caller.uow, caller.principal).duplicates(body.model_dump(exclude_unset=True))
    return {"duplicates": [c.as_json() for c in found]}


@router.post("/leads/{record_id}/qualify", response_model=QualifyOut, tags=["leads"],
             summary="Qualify a lead: create its account, contact and opportunity, in one transaction")
def qualify_lead(caller: CallerDep, record_id: uuid.UUID, body: QualifyIn | None = None) -> Any:
    """The lead becomes Qualified (1, status 3) and points at the new account and contact; the new records
    name it as their originating lead. A qualified lead answers 409; a disqualified one is reactivated first."""
    options = QualifyOptions(**(body or QualifyIn()).model_dump())
    result = LeadService(caller.uow, caller.principal).qualify(record_id, options)
    return QualifyOut(lead=render_record(LeadOut, result.lead), account_id=result.account_id,
                      contact_id=result.contact_id, opportunity_id=result.opportunity_id, created=result.created)


@router.post("/leads/{record_id}/disqualify", response_model=LeadOut, tags=["leads"],
             summary="Disqualify a lead with a reason")
def disqualify_lead(caller: CallerDep, record_id: uuid.UUID, body: DisqualifyIn) -> Any:
    return render_record(LeadOut, LeadService(caller.uow, caller.principal).disqualify(record_id, body.statuscode))


@router.post("/leads/{record_id}/reactivate", response_model=LeadOut, tags=["leads"],
             summary="Reactivate a qualified or disqualified lead (Open, New)")
def reactivate_lead(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return render_record(LeadOut, LeadService(caller.uow, caller.principal).reactivate(record_id))


# --- opportunities ---------------------------------------------------------------------------------
@router.post("/opportunities/{record_id}/win", response_model=OpportunityOut, tags=["opportunities"],
             summary="Win an opportunity (Won, with a close record)")
def win_opportunity(caller: CallerDep, record_id: uuid.UUID, body: WinIn | None = None) -> Any:
    body = body or WinIn()
    svc = OpportunityService(caller.uow, caller.principal)
    return _opportunity(svc.win(record_id, body.actual_revenue, body.actual_close_date, body.description,
                                body.subject))


@router.post("/opportunities/{record_id}/lose", response_model=OpportunityOut, tags=["opportunities"],
             summary="Lose an opportunity: Canceled (4) or Out-Sold (5), with a close record")
def lose_opportunity(caller: CallerDep, record_id: uuid.UUID, body: LoseIn | None = None) -> Any:
    body = body or LoseIn()
    svc = OpportunityService(caller.uow, caller.principal)
    return _opportunity(svc.lose(record_id, body.statuscode, body.competitor_id, body.actual_revenue,
                                 body.actual_close_date, body.description, body.subject))


@router.post("/opportunities/{record_id}/set-stage", response_model=OpportunityOut, tags=["opportunities"],
             summary="Move an opportunity to another stage of its sales process")
def set_opportunity_stage(caller: CallerDep, record_id: uuid.UUID, body: SetStageIn) -> Any:
    """Forward or back; the close probability becomes the stage's. Audited as `set_stage`."""
    return _opportunity(OpportunityService(caller.uow, caller.principal).set_stage(record_id, body.stage_id))


@router.get("/opportunities/{record_id}/closes", response_model=list[OpportunityCloseOut], tags=["opportunities"],
            summary="An opportunity's close records (win and lose), oldest first")
def opportunity_closes(caller: CallerDep, record_id: uuid.UUID) -> Any:
    closes = OpportunityService(caller.uow, caller.principal).closes(record_id)
    return [OpportunityCloseOut.model_validate(c) for c in closes]


@router.get("/opportunities/{record_id}/competitors", response_model=list[CompetitorOut], tags=["opportunities"],
            summary="The competitors linked to an opportunity")
def opportunity_competitors(caller: CallerDep, record_id: uuid.UUID) -> Any:
    competitors = OpportunityService(caller.uow, caller.principal).competitors(record_id)
    return [CompetitorOut.model_validate(c, from_attributes=True) for c in competitors]


@router.post("/opportunities/{record_id}/competitors/{competitor_id}", status_code=status.HTTP_204_NO_CONTENT,
             tags=["opportunities"], summary="Link a competitor to an opportunity")
def link_competitor(caller: CallerDep, record_id: uuid.UUID, competitor_id: uuid.UUID) -> Response:
    OpportunityService(caller.uow, caller.principal).link_competitor(record_id, competitor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/opportunities/{record_id}/competitors/{competitor_id}", status_code=status.HTTP_204_NO_CONTENT,
               tags=["opportunities"], summary="Unlink a competitor from an opportunity")
def unlink_competitor(caller: CallerDep, record_id: uuid.UUID, competitor_id: uuid.UUID) -> Response:
    OpportunityService(caller.uow, caller.principal).unlink_competitor(record_id, competitor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
