"""Campaign responses (DOMAIN.md §7): a thin collection over the activity model. A response is an activity
of type campaign_response regarding a campaign; everything else about it (its parties, closing, cancelling,
reopening, deleting, its audit trail) is the activity's, through /activities, under the activity privileges.

Conversion, as Dynamics' "Convert Campaign Response", closes the response (Closed 2) and creates, in the
same transaction, one of:
- a lead, from the response: its subject, company name and email address, and the names of its customer
  party when that is a contact or lead (the body may give or override each); the lead names the campaign
  (lead.campaign_id) when the lead model has that column;
- an opportunity for an existing customer (account or contact), in the body's currency or the campaign's;
- a case for an existing customer (its origin from the response's channel: email or phone).
What it was converted into is kept (CampaignResponseConversion) and shown with the response. A response
that is closed or canceled is not converted again (409)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.entities import entity
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.marketing_states import RESPONSE_CLOSED
from crm_core.models import Campaign, CampaignResponse, CampaignResponseConversion
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services import listing
from crm_core.services.activities import ActivityService
from crm_core.services.activity_display import describe
from crm_core.services.campaigns import CampaignService
from crm_core.services.cases import CaseService
from crm_core.services.customers import LeadService
from crm_core.services.opportunities import OpportunityService
from crm_core.services.records import OwnerRef

TARGETS = ("lead", "opportunity", "case")


@dataclass(frozen=True)
class ResponseQuery:
    campaign_id: uuid.UUID | None = None
    response_code: int | None = None
    channel_type_code: int | None = None
    statecode: int | None = None
    sort: str = "-created_on"
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class Conversion:
    response: CampaignResponse
    target_type: str
    target_id: uuid.UUID


class CampaignResponseService:
    sortable = frozenset({"created_on", "modified_on", "occurred_on", "received_on"})

    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal
        self.activities = ActivityService(uow, principal)

    @property
    def session(self) -> Any:
        return self.uow.session

    # --- reads -------------------------------------------------------------------------------------
    def list(self, query: ResponseQuery) -> listing.Page[CampaignResponse]:
        stmt = select(CampaignResponse).where(
            CampaignResponse.regarding_type == "campaign",
            access.scope(self.principal, self.activities.spec, Privilege.READ),
        )
        filters = [listing.Filter(column, listing.Op.EQ, value) for column, value in (
            ("regarding_id", query.campaign_id), ("response_code", query.response_code),
            ("channel_type_code", query.channel_type_code), ("statecode", query.statecode)) if value is not None]
        lq = listing.ListQuery(filters=filters, sort=query.sort, cursor=query.cursor, limit=query.limit)
        rows = list(self.session.scalars(listing.apply(stmt, CampaignResponse, lq, set(self.sortable))))
        page = listing.page(rows, lq)
        self._attach_conversions(page.items)
        describe(self.session, self.principal, page.items)
        return page

    def get(self, response_id: uuid.UUID, privilege: Privilege = Privilege.READ) -> CampaignResponse:
        record = self.activities.get(response_id, privilege)
        if not isinstance(record, CampaignResponse) or record.regarding_type != "campaign":
            raise NotFound(f"no campaign response with id {response_id}")
        if privilege is not Privilege.READ:
            describe(self.session, self.principal, [record])
        self._attach_conversions([record])
        return record

    def _attach_conversions(self, records: Sequence[CampaignResponse]) -> None:
        ids = [r.id for r in records]
        found = {c.response_id: c for c in self.session.scalars(
            select(CampaignResponseConversion).where(CampaignResponseConversion.response_id.in_(ids)))} if ids else {}
        for record in records:
            record.conversion = found.get(record.id)  # type: ignore[attr-defined]

    # --- writes ------------------------------------------------------------------------------------
    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> CampaignResponse:
        values = dict(values)
        campaign_id = values.pop("campaign_id", None)
        if campaign_id is None:
            raise ValidationFailed.field("campaign_id", "a campaign response needs its campaign")
        self._campaign(campaign_id, "campaign_id")
        values.update(activity_type="campaign_response", regarding_type="campaign", regarding_id=campaign_id)
        record = self.activities.create(values, owner)
        return self.get(record.id)

    def update(self, response_id: uuid.UUID, values: dict[str, Any]) -> CampaignResponse:
        self.get(response_id, Privilege.WRITE)
        values = dict(values)
        if "campaign_id" in values:
            campaign_id = values.pop("campaign_id")
            if campaign_id is None:
                raise ValidationFailed.field("campaign_id", "a campaign response needs its campaign")
            self._campaign(campaign_id, "campaign_id")
            values.update(regarding_type="campaign", regarding_id=campaign_id)
        self.activities.update(response_id, values)
        return self.get(response_id)

    def _campaign(self, campaign_id: uuid.UUID, field: str) -> Campaign:
        try:
            return CampaignService(self.uow, self.principal).get(campaign_id)
        except NotFound:
            raise ValidationFailed.field(field, f"no campaign with id {campaign_id}") from None

    # --- conversion --------------------------------------------------------------------------------
    def convert(self, response_id: uuid.UUID, to: str, options: dict[str, Any]) -> Conversion:
        if to not in TARGETS:
            raise ValidationFailed.field("to", f"one of {', '.join(TARGETS)}")
        response = self.get(response_id, Privilege.WRITE)
        if response.statecode != 0:
            raise Conflict("this campaign response is closed or canceled; reopen it to convert it")
        shared = SharedWork(self.uow)
        self.uow.set_action("convert")
        if to == "lead":
            target_id = self._to_lead(shared, response, options)
        elif to == "opportunity":
            target_id = self._to_opportunity(shared, response, options)
        else:
            target_id = self._to_case(shared, response, options)
        self.session.add(CampaignResponseConversion(response_id=response.id, target_type=to, target_id=target_id))
        ActivityService(shared, self.principal).set_state(response.id, *RESPONSE_CLOSED, action="convert")
        self.session.flush()
        self.uow.commit()
        return Conversion(self.get(response.id), to, target_id)

    def _customer_party(self, response: CampaignResponse) -> tuple[str, Any] | None:
        """The record of the response's customer party, if it is a contact, lead or account he can read."""
        for party in response.parties:
            if party.participation == 11 and party.party_type in ("contact", "lead", "account") and party.party_id:
                spec = entity(party.party_type)
                record = self.session.get(spec.model, party.party_id)
                if record is not None and access.reaches(self.session, self.principal, spec, Privilege.READ,
                                                         record):
                    return party.party_type, record
        return None

    def _to_lead(self, shared: SharedWork, response: CampaignResponse, options: dict[str, Any]) -> uuid.UUID:
        values: dict[str, Any] = {"subject": response.subject, "company_name": response.company_name,
                                  "email_address1": response.email_address,
                                  "description": response.description}
        customer = self._customer_party(response)
        if customer is not None:
            kind, record = customer
            if kind in ("contact", "lead"):
                values.update(first_name=record.first_name, last_name=record.last_name)
                values["email_address1"] = values["email_address1"] or record.email_address1
            if kind == "account":
                values["company_name"] = values["company_name"] or record.name
            if kind == "lead":
                values["company_name"] = values["company_name"] or record.company_name
        values.update({k: v for k, v in options.items() if k in _LEAD_OPTIONS and v is not None})
        values["campaign_id"], values["campaign_response_id"] = response.regarding_id, response.id
        lead = LeadService(shared, self.principal).create(values)
        return lead.id

    def _to_opportunity(self, shared: SharedWork, response: CampaignResponse, options: dict[str, Any]) -> uuid.UUID:
        customer_type, customer_id = options.get("customer_type"), options.get("customer_id")
        if customer_type is None or customer_id is None:
            raise ValidationFailed.field("customer_id", "an opportunity is for an existing customer: give "
                                         "customer_type (account or contact) and customer_id")
        campaign = self.session.get(Campaign, response.regarding_id)
        currency = options.get("currency_code") or (campaign.currency_code if campaign else None)
        if currency is None:
            raise ValidationFailed.field("currency_code", "the opportunity's currency (ISO 4217, such as EUR); "
                                         "the campaign has none")
        values = {"name": options.get("name") or response.subject, "customer_type": customer_type,
                  "customer_id": customer_id, "currency_code": currency, "description": response.description}
        opportunity = OpportunityService(shared, self.principal).create(values)
        return opportunity.id  # type: ignore[no-any-return]

    def _to_case(self, shared: SharedWork, response: CampaignResponse, options: dict[str, Any]) -> uuid.UUID:
        customer_type, customer_id = options.get("customer_type"), options.get("customer_id")
        if customer_type is None or customer_id is None:
            raise ValidationFailed.field("customer_id", "a case is for an existing customer: give customer_type "
                                         "(account or contact) and customer_id")
        values = {"title": options.get("name") or response.subject, "customer_type": customer_type,
                  "customer_id": customer_id, "description": response.description,
                  "origin_code": _CASE_ORIGIN.get(response.channel_type_code or 0)}
        case = CaseService(shared, self.principal).create(values)
        return case.id


# A response's channel (1 Email, 2 Phone...) as the case's origin (1 Phone, 2 Email); others leave it empty.
_CASE_ORIGIN = {1: 2, 2: 1}
_LEAD_OPTIONS = ("subject", "first_name", "last_name", "company_name", "email_address1")
