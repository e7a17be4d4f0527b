"""The marketing dashboard's figures: per campaign, its cost, its responses and the deals won from it, and so
the cost per response and per won deal.

A campaign's cost is its actual cost (else its budgeted cost). Its responses are the campaign responses
regarding it that are not canceled. A deal won from it is a won opportunity qualified from a lead of the
campaign, or converted from one of its responses (counted once). Counted within the caller's read scope of
campaigns, activities and opportunities, by GROUP BY."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select, union
from sqlalchemy.orm import Session

from crm_core.analytics.dashboards_sales import money
from crm_core.entities import entity
from crm_core.models import Activity, Campaign, CampaignResponseConversion, Lead, Opportunity
from crm_core.sales_states import WON
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

CANCELED = 2  # an activity's Canceled state


@dataclass(frozen=True)
class CampaignFigures:
    campaign_id: uuid.UUID
    name: str
    cost: Decimal
    responses: int
    won_deals: int
    won_value: Decimal
    cost_per_response: Decimal | None
    cost_per_won_deal: Decimal | None


def marketing_dashboard(session: Session, principal: Principal) -> list[CampaignFigures]:
    readable_opportunity = access.scope(principal, entity("opportunity"), Privilege.READ)
    responses = (
        select(Activity.regarding_id.label("campaign_id"), func.count(Activity.id).label("n"))
        .where(
            Activity.activity_type == "campaign_response",
            Activity.regarding_type == "campaign",
            Activity.statecode != CANCELED,
            access.scope(principal, entity("activity"), Privilege.READ),
        )
        .group_by(Activity.regarding_id)
        .subquery("responses")
    )
    from_leads = (
        select(Lead.campaign_id.label("campaign_id"), Opportunity.id.label("opportunity_id"))
        .join(Opportunity, Opportunity.id == Lead.qualifying_opportunity_id)
        .where(Lead.campaign_id.isnot(None), Opportunity.statecode == WON, readable_opportunity)
    )
    from_responses = (
        select(Activity.regarding_id, Opportunity.id)
        .join(CampaignResponseConversion, CampaignResponseConversion.response_id == Activity.id)
        .join(
            Opportunity,
            and_(
                CampaignResponseConversion.target_type == "opportunity",
                Opportunity.id == CampaignResponseConversion.target_id,
            ),
        )
        .where(Activity.regarding_type == "campaign", Opportunity.statecode == WON, readable_opportunity)
    )
    won_pairs = union(from_leads, from_responses).subquery("won_pairs")
    won = (
        select(
            won_pairs.c.campaign_id,
            func.count().label("n"),
            func.sum(func.coalesce(Opportunity.actual_value, 0)).label("value"),
        )
        .join(Opportunity, Opportunity.id == won_pairs.c.opportunity_id)
        .group_by(won_pairs.c.campaign_id)
        .subquery("won")
    )
    cost = func.coalesce(Campaign.actual_cost, Campaign.budgeted_cost, 0)
    rows = session.execute(
        select(
            Campaign.id,
            Campaign.name,
            cost,
            func.coalesce(responses.c.n, 0),
            func.coalesce(won.c.n, 0),
            func.coalesce(won.c.value, 0),
        )
        .outerjoin(responses, responses.c.campaign_id == Campaign.id)
        .outerjoin(won, won.c.campaign_id == Campaign.id)
        .where(access.scope(principal, entity("campaign"), Privilege.READ))
        .order_by(Campaign.name)
    ).all()
    out = []
    for campaign_id, name, spent, n_responses, n_won, won_value in rows:
        spent = money(spent)
        out.append(
            CampaignFigures(
                campaign_id,
                name,
                spent,
                n_responses,
                n_won,
                money(won_value),
                money(spent / n_responses) if n_responses else None,
                money(spent / n_won) if n_won else None,
            )
        )
    return out
