"""Profitability per customer over a period: revenue against the cost of serving him and of the campaigns
that reached him.

- Revenue: invoices Active or Paid created in the period, before tax (as RFM counts them).
- Cost of service: the actual duration of completed activities on the customer's cases, and of completed
  service activities regarding the customer himself, times the hourly cost rate of the resource of the
  activity's owner (resources.hourly_cost_rate; an owner without a costed resource costs nothing), for the
  activities that occurred in the period.
- Campaign cost: a campaign's actual cost, counted in the period its actual end (else actual start) falls in,
  is shared equally among the customers it reached: those named as the customer of one of its responses (not
  canceled), and those who bought from it (a won opportunity qualified from a lead of the campaign, or
  converted from one of its responses). A customer reached twice takes one share.
- Margin = revenue - cost of service - campaign cost.

Everything is summed by the database, within the caller's read scope (invoices; cases and activities;
campaigns); only customers he may read are listed."""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, and_, case, cast, func, literal, literal_column, select, union, union_all
from sqlalchemy.orm import Session

from crm_core.analytics.customers import customer_of, named
from crm_core.analytics.periods import Period
from crm_core.entities import entity
from crm_core.models import (
    Activity,
    ActivityParty,
    Campaign,
    CampaignResponseConversion,
    Case,
    Invoice,
    Lead,
    Opportunity,
    Resource,
)
from crm_core.sales_document_states import INVOICE_ACTIVE, INVOICE_PAID
from crm_core.sales_states import WON
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

COMPLETED, CANCELED = 1, 2  # activity states
CUSTOMER_PARTY = 11  # participationtypemask: the customer of an activity
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class CustomerProfit:
    customer_type: str
    customer_id: uuid.UUID
    customer_name: str
    revenue: Decimal
    service_cost: Decimal
    campaign_cost: Decimal
    margin: Decimal


def _zero() -> Any:
    return cast(literal(0), Numeric(19, 4))


def _revenue(principal: Principal, period: Period) -> Any:
    return select(
        Invoice.customer_account_id.label("account_id"),
        Invoice.customer_contact_id.label("contact_id"),
        (Invoice.total_amount - Invoice.total_tax).label("revenue"),
        _zero().label("service_cost"),
        _zero().label("campaign_cost"),
    ).where(
        Invoice.statecode.in_((INVOICE_ACTIVE, INVOICE_PAID)),
        Invoice.created_on >= period.start_at,
        Invoice.created_on < period.end_before,
        access.scope(principal, entity("invoice"), Privilege.READ),
    )


def _service(principal: Principal, period: Period) -> list[Any]:
    # 60.0, not 60: SQLite keeps a whole rate as an integer and would divide without the fraction.
    cost = (
        func.coalesce(Activity.actual_duration_minutes, 0)
        * func.coalesce(Resource.hourly_cost_rate, 0)
        / literal_column("60.0")
    )
    done = and_(
        Activity.statecode == COMPLETED,
        Activity.occurred_on >= period.start_at,
        Activity.occurred_on < period.end_before,
        access.scope(principal, entity("activity"), Privilege.READ),
    )
    on_cases = (
        select(Case.customer_account_id, Case.customer_contact_id, _zero(), cost, _zero())
        .select_from(Activity)
        .join(Case, and_(Activity.regarding_type == "case", Activity.regarding_id == Case.id))
        .outerjoin(Resource, Resource.user_id == Activity.owning_user_id)
        .where(done, access.scope(principal, entity("case"), Privilege.READ))
    )
    direct = (
        select(
            case((Activity.regarding_type == "account", Activity.regarding_id)),
            case((Activity.regarding_type == "contact", Activity.regarding_id)),
            _zero(),
            cost,
            _zero(),
        )
        .select_from(Activity)
        .outerjoin(Resource, Resource.user_id == Activity.owning_user_id)
        .where(done, Activity.activity_type == "service_activity", Activity.regarding_type.in_(("account", "contact")))
    )
    return [on_cases, direct]


def reached_customers() -> Any:
    """(campaign_id, account_id, contact_id): each customer a campaign reached, once."""
    responders = (
        select(
            Activity.regarding_id.label("campaign_id"),
            case((ActivityParty.party_type == "account", ActivityParty.party_id)).label("account_id"),
            case((ActivityParty.party_type == "contact", ActivityParty.party_id)).label("contact_id"),
        )
        .join(ActivityParty, ActivityParty.activity_id == Activity.id)
        .where(
            Activity.activity_type == "campaign_response",
            Activity.regarding_type == "campaign",
            Activity.statecode != CANCELED,
            ActivityParty.participation == CUSTOMER_PARTY,
            ActivityParty.party_type.in_(("account", "contact")),
        )
    )
    from_leads = (
        select(Lead.campaign_id, Opportunity.customer_account_id, Opportunity.customer_contact_id)
        .join(Opportunity, Opportunity.id == Lead.qualifying_opportunity_id)
        .where(Lead.campaign_id.isnot(None), Opportunity.statecode == WON)
    )
    from_responses = (
        select(Activity.regarding_id, Opportunity.customer_account_id, Opportunity.customer_contact_id)
        .join(CampaignResponseConversion, CampaignResponseConversion.response_id == Activity.id)
        .join(
            Opportunity,
            and_(
                CampaignResponseConversion.target_type == "opportunity",
                Opportunity.id == CampaignResponseConversion.target_id,
            ),
        )
        .where(Activity.regarding_type == "campaign", Opportunity.statecode == WON)
    )
    return union(responders, from_leads, from_responses).subquery("reached")


def _campaigns(principal: Principal, period: Period) -> Any:
    reached = reached_customers()
    shares = select(reached.c.campaign_id, func.count().label("n")).group_by(reached.c.campaign_id).subquery()
    ended = func.coalesce(Campaign.actual_end, Campaign.actual_start)
    share = literal_column("1.0") * Campaign.actual_cost / shares.c.n
    return (
        select(reached.c.account_id, reached.c.contact_id, _zero(), _zero(), share)
        .join(Campaign, Campaign.id == reached.c.campaign_id)
        .join(shares, shares.c.campaign_id == reached.c.campaign_id)
        .where(
            Campaign.actual_cost.isnot(None),
            ended >= period.start,
            ended <= period.end,
            access.scope(principal, entity("campaign"), Privilege.READ),
        )
    )


def profitability(session: Session, principal: Principal, period: Period) -> list[CustomerProfit]:
    """Each readable customer with revenue or cost in the period, the most profitable first."""
    parts = union_all(
        _revenue(principal, period), *_service(principal, period), _campaigns(principal, period)
    ).subquery("parts")
    revenue, service = func.sum(parts.c.revenue), func.sum(parts.c.service_cost)
    campaign = func.sum(parts.c.campaign_cost)
    per_customer = (
        select(
            parts.c.account_id,
            parts.c.contact_id,
            revenue.label("revenue"),
            service.label("service_cost"),
            campaign.label("campaign_cost"),
            (revenue - service - campaign).label("margin"),
        )
        .group_by(parts.c.account_id, parts.c.contact_id)
        .subquery("per_customer")
    )
    rows = session.execute(named(principal, per_customer).order_by(per_customer.c.margin.desc())).all()
    out = []
    for row in rows:
        customer_type, customer_id = customer_of(row.account_id, row.contact_id)
        out.append(
            CustomerProfit(
                customer_type,
                customer_id,
                row.customer_name,
                _money(row.revenue),
                _money(row.service_cost),
                _money(row.campaign_cost),
                _money(row.margin),
            )
        )
    return out


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENTS)
