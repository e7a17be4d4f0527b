"""Bodies of marketing lists, campaigns, campaign responses and quick campaigns."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crm_core.api.schemas.activities import ActivityOut, PartyIn, activity_out
from crm_core.api.schemas.common import OwnerIn, StatefulOut, Strict
from crm_core.marketing_states import CAMPAIGN_CHANNELS, QUICK_CAMPAIGN_TYPES
from crm_core.services.quick_campaigns import PLACEHOLDERS

MemberType = Literal["account", "contact", "lead"]
Money = Decimal | None
_MONEY = {"default": None, "ge": 0, "max_digits": 19, "decimal_places": 4}
_CURRENCY = Field(default=None, description="ISO 4217, e.g. EUR; needed when an amount is given.")
_CRITERIA = Field(default=None, description=(
    'A dynamic list\'s criteria: {"all": [...]}, {"any": [...]}, {"not": {...}} or {"field": ..., "op": ..., '
    '"value": ...}; ops eq, ne, contains, in, gte, lte, between, is_null; fields per member type '
    "(docs/marketing.md), including `age` and `addresses.city` for contacts."))


# --- marketing lists ---------------------------------------------------------------------------------
class _ListFields(Strict):
    criteria: dict[str, Any] | None = _CRITERIA
    locked: bool | None = Field(default=None, description="A locked list refuses every change but unlocking.")
    purpose: str | None = Field(default=None, max_length=500)
    source: str | None = Field(default=None, max_length=128)
    description: str | None = None
    cost: Money = Field(**_MONEY)
    currency_code: str | None = _CURRENCY


class MarketingListCreate(_ListFields, OwnerIn):
    name: str = Field(min_length=1, max_length=128)
    member_type: MemberType = Field(description="account, contact or lead; fixed once created.")
    is_dynamic: bool = Field(default=False, description="Dynamic: members are the criteria's result when used.")


class MarketingListUpdate(_ListFields):
    name: str | None = Field(default=None, min_length=1, max_length=128)


class MarketingListOut(StatefulOut):
    name: str
    member_type: str
    is_dynamic: bool
    criteria: dict[str, Any] | None
    locked: bool
    purpose: str | None
    source: str | None
    description: str | None
    cost: Decimal | None
    currency_code: str | None
    last_used_on: datetime | None


class MemberIdsIn(Strict):
    ids: list[uuid.UUID] = Field(min_length=1, max_length=1000, description="Records of the list's member type.")


class MembersAddedOut(BaseModel):
    added: list[uuid.UUID]
    already_members: list[uuid.UUID]


class MemberOut(BaseModel):
    id: uuid.UUID
    member_type: str
    name: str | None
    email_address: str | None
    do_not_email: bool
    statecode: int


class CountOut(BaseModel):
    count: int


class CopyToStaticIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=128,
                             description='Defaults to "<name> (copy)".')


# --- campaigns -----------------------------------------------------------------------------------
class _CampaignFields(Strict):
    code_name: str | None = Field(default=None, max_length=32)
    type_code: int | None = Field(default=None, description="1 Advertisement, 2 Direct Marketing, 3 Event, "
                                  "4 Co-branding, 5 Other")
    description: str | None = None
    objective: str | None = None
    channels: list[str] | None = Field(default=None, description=", ".join(CAMPAIGN_CHANNELS))
    proposed_start: date | None = None
    proposed_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    budgeted_cost: Money = Field(**_MONEY)
    actual_cost: Money = Field(**_MONEY)
    expected_revenue: Money = Field(**_MONEY)
    expected_response: int | None = Field(default=None, description="Percent of the targets, 0 to 100.")
    currency_code: str | None = _CURRENCY


class CampaignCreate(_CampaignFields, OwnerIn):
    name: str = Field(min_length=1, max_length=128)


class CampaignUpdate(_CampaignFields):
    name: str | None = Field(default=None, min_length=1, max_length=128)


class CampaignOut(StatefulOut):
    name: str
    code_name: str | None
    type_code: int | None
    description: str | None
    objective: str | None
    channels: list[str]
    proposed_start: date | None
    proposed_end: date | None
    actual_start: date | None
    actual_end: date | None
    budgeted_cost: Decimal | None
    actual_cost: Decimal | None
    expected_revenue: Decimal | None
    expected_response: int | None
    currency_code: str | None


class ListLinkIn(Strict):
    list_id: uuid.UUID


class DistributionOut(BaseModel):
    activity_type: str = Field(description="The type of the activities created (from the channel).")
    created: int
    skipped_unreadable: int = Field(description="Members of static lists you cannot read.")
    skipped_do_not_email: int
    skipped_no_email_address: int
    failed: int
    failures: list[dict[str, Any]]


# --- campaign responses ----------------------------------------------------------------------------
class _ResponseFields(Strict):
    description: str | None = None
    response_code: int | None = Field(default=None, description="1 Interested, 2 Not Interested, 3 Do Not Send "
                                      "Marketing Materials, 4 Error")
    channel_type_code: int | None = Field(default=None, description="1 Email, 2 Phone, 3 Fax, 4 Letter, "
                                          "5 Appointment, 6 Others")
    company_name: str | None = Field(default=None, max_length=100)
    email_address: str | None = Field(default=None, max_length=320)
    received_on: AwareDatetime | None = None
    priority_code: int | None = Field(default=None, ge=0, le=2)
    parties: list[PartyIn] | None = Field(default=None, description="customer (the respondent) and sender.")


class CampaignResponseCreate(_ResponseFields, OwnerIn):
    campaign_id: uuid.UUID
    subject: str = Field(min_length=1, max_length=400)


class CampaignResponseUpdate(_ResponseFields):
    campaign_id: uuid.UUID | None = None
    subject: str | None = Field(default=None, min_length=1, max_length=400)


class ConvertedTo(BaseModel):
    type: str
    id: uuid.UUID


class CampaignResponseOut(ActivityOut):
    """A campaign response: an activity (see /activities) with its campaign and what it was converted into."""

    campaign_id: uuid.UUID
    converted_to: ConvertedTo | None


class ConvertIn(Strict):
    to: Literal["lead", "opportunity", "case"]
    subject: str | None = Field(default=None, max_length=300, description="lead: its topic")
    first_name: str | None = Field(default=None, max_length=50, description="lead")
    last_name: str | None = Field(default=None, max_length=50, description="lead")
    company_name: str | None = Field(default=None, max_length=100, description="lead")
    email_address1: str | None = Field(default=None, max_length=320, description="lead")
    customer_type: Literal["account", "contact"] | None = Field(default=None, description="opportunity, case")
    customer_id: uuid.UUID | None = Field(default=None, description="opportunity, case: an existing customer")
    name: str | None = Field(default=None, max_length=200, description="opportunity's name, case's title")
    currency_code: str | None = Field(default=None, description="opportunity; defaults to the campaign's")


class ConversionOut(BaseModel):
    response: CampaignResponseOut
    created: ConvertedTo


def response_out(record: Any) -> dict[str, Any]:
    out = activity_out(record)
    out["campaign_id"] = record.regarding_id
    conversion = getattr(record, "conversion", None)
    out["converted_to"] = {"type": conversion.target_type, "id": conversion.target_id} if conversion else None
    return out


# --- quick campaigns -------------------------------------------------------------------------------
_TEMPLATE = f"A template: {', '.join('{' + p + '}' for p in PLACEHOLDERS)} take each member's value."


class QuickCampaignCreate(OwnerIn):
    name: str = Field(min_length=1, max_length=200)
    list_id: uuid.UUID
    activity_type: Literal[QUICK_CAMPAIGN_TYPES] = Field(  # type: ignore[valid-type]
        description=", ".join(QUICK_CAMPAIGN_TYPES))
    subject: str | None = Field(default=None, min_length=1, max_length=400,
                                description=f"{_TEMPLATE} Required unless email_template_id is given.")
    description: str | None = Field(default=None, description=_TEMPLATE)
    email_template_id: uuid.UUID | None = Field(default=None, description=(
        "Emails only, instead of subject and description: each member's email is this email template rendered "
        "for him (a template for the list's member type, or a global one)."))


class QuickCampaignUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class FailureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    member_id: uuid.UUID | None = Field(description="Empty for a member you cannot read.")
    reason: str


class QuickCampaignOut(StatefulOut):
    name: str
    list_id: uuid.UUID | None
    member_type: str
    activity_type: str
    subject: str
    description: str | None
    target_count: int
    success_count: int
    failure_count: int
    started_on: datetime | None
    completed_on: datetime | None
    failures: list[FailureOut]
