"""/api/v1: every collection of crm_core, plus /me."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from crm_core.api.deps import CallerDep
from crm_core.api.resource import Resource, build_router
from crm_core.api.routes import (
    activities,
    analytics,
    calendars,
    case_creation_rules,
    catalog,
    contracts,
    customers,
    dashboards,
    email_templates,
    lead_scoring,
    mail_tracking,
    mailbox_tracking_folders,
    mailboxes,
    marketing,
    rules,
    sales,
    sales_documents,
    security,
    service,
    service_catalog,
    service_levels,
    transfer,
    webhooks,
)
from crm_core.api.schemas.common import PROBLEM_RESPONSES


class MeOut(BaseModel):
    user_id: str
    business_unit_id: str
    roles: list[str]
    team_ids: list[str]


def resources() -> list[Resource]:
    return [*customers.RESOURCES, *security.RESOURCES, *activities.RESOURCES, *sales.RESOURCES, *service.RESOURCES,
            *catalog.RESOURCES, *sales_documents.RESOURCES, *marketing.RESOURCES,
            *service_catalog.RESOURCES, *service_levels.RESOURCES, *contracts.RESOURCES,
            *mailboxes.RESOURCES, *calendars.RESOURCES]


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

    @router.get("/me", response_model=MeOut, tags=["security"], summary="Who the token belongs to")
    def me(caller: CallerDep) -> Any:
        p = caller.principal
        return MeOut(user_id=str(p.user_id), business_unit_id=str(p.business_unit_id),
                     roles=list(p.role_names), team_ids=sorted(str(t) for t in p.team_ids))

    router.include_router(service_catalog.search_router)  # before /knowledge-articles/{id} takes it
    router.include_router(contracts.early_router)  # before /contracts/{id} takes /contracts/available
    for res in resources():
        router.include_router(build_router(res))
    router.include_router(security.router)
    router.include_router(activities.router)  # lifecycle verbs and every collection's timeline
    router.include_router(sales.router)  # lead and opportunity lifecycles
    router.include_router(service.router)  # case verbs, queue items, queue members
    router.include_router(catalog.router)  # units of unit groups, price list items
    router.include_router(sales_documents.router)  # quote, order and invoice lines and lifecycles
    router.include_router(marketing.router)  # list members, campaign lists and distribution, responses
    router.include_router(service_catalog.router)  # knowledge: publish, versions, case links, as-email
    router.include_router(service_levels.router)  # business calendars and SLAs: hours, closures, items
    router.include_router(contracts.router)  # contracts: lines, lifecycle, what a customer may open cases under
    router.include_router(mailboxes.router)  # mailboxes: approval (the connection test is mailbridge's)
    router.include_router(mailbox_tracking_folders.router)  # mailboxes: folder-level tracking rules
    router.include_router(mail_tracking.router)  # quarantine, link review, privacy of tracked mail
    router.include_router(case_creation_rules.router)  # email-to-case rules and their decisions
    router.include_router(transfer.router)  # import and export of any collection as CSV or Excel
    router.include_router(email_templates.router)  # automation: templates, rendered or inserted into a draft
    router.include_router(webhooks.router)  # automation: outbound webhooks and their deliveries
    router.include_router(rules.router)  # automation: business rules, their versions and runs
    router.include_router(lead_scoring.router)  # lead scoring: rule models, predictive models, scores
    router.include_router(analytics.router)  # analytics: RFM segments, profitability per customer
    router.include_router(dashboards.router)  # dashboards: sales, service, marketing figures (mail: mailbridge)
    return router
