"""Bodies of the lead lifecycle, opportunities, competitors and sales processes."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas import customers
from crm_core.api.schemas.common import OwnerIn, RecordOut, StatefulOut, Strict

CURRENCY = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, such as EUR", examples=["EUR"])
_MONEY = {"max_digits": 19, "decimal_places": 4, "ge": 0}


# --- leads -----------------------------------------------------------------------------------------
class LeadCreate(customers.LeadCreate):
    ignore_duplicates: bool = Field(
        default=False, description="Create the lead even if records with the same email, or leads with the same "
        "company and last name, exist (otherwise such a create answers 409 listing them).")


class DuplicateOut(BaseModel):
    entity: Literal["lead", "contact", "account"]
    id: uuid.UUID
    name: str
    statecode: int
    state: str
    matched_on: list[str] = Field(description="email, or company_name and last_name")


class DuplicatesOut(BaseModel):
    duplicates: list[DuplicateOut]


class QualifyIn(Strict):
    create_account: bool = Field(default=False, description="An account from the lead's company.")
    create_contact: bool = Field(default=False, description="A contact from the lead's person, linked to the new "
                                 "account (or the lead's parent account).")
    create_opportunity: bool = True
    customer_type: Literal["account", "contact"] | None = Field(
        default=None, description="An existing customer for the opportunity (with customer_id); by default the "
        "new account, else the new contact, else the lead's parent account or contact.")
    customer_id: uuid.UUID | None = None
    currency_code: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                      description="The opportunity's currency (ISO 4217); required with it.")
    opportunity_name: str | None = Field(default=None, min_length=1, max_length=300,
                                         description="Defaults to the lead's topic.")


class QualifyOut(BaseModel):
    lead: customers.LeadOut
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    created: list[str] = Field(description="What was created: account, contact, opportunity.")


class DisqualifyIn(Strict):
    statuscode: int = Field(description="4 Lost, 5 Cannot Contact, 6 No Longer Interested, 7 Canceled")


# --- opportunities ---------------------------------------------------------------------------------
class _OpportunityFields(Strict):
    customer_type: Literal["account", "contact"] | None = None
    customer_id: uuid.UUID | None = None
    estimated_value: Decimal | None = Field(default=None, **_MONEY)
    estimated_close_date: date | None = None
    close_probability: int | None = Field(default=None, ge=0, le=100)
    opportunity_rating_code: int | None = Field(default=None, ge=1, le=3, description="1 Hot, 2 Warm, 3 Cold")
    originating_lead_id: uuid.UUID | None = None
    sales_process_id: uuid.UUID | None = Field(
        default=None, description="Following a process puts the opportunity on its first stage, with that "
        "stage's probability; move it with POST /opportunities/{id}/set-stage.")
    description: str | None = None


class OpportunityCreate(_OpportunityFields, OwnerIn):
    name: str = Field(min_length=1, max_length=300)
    customer_type: Literal["account", "contact"]
    customer_id: uuid.UUID
    currency_code: str = CURRENCY


class OpportunityUpdate(_OpportunityFields):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    currency_code: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class OpportunityOut(StatefulOut):
    name: str
    customer_type: str
    customer_id: uuid.UUID
    currency_code: str
    estimated_value: Decimal | None
    estimated_close_date: date | None
    close_probability: int | None
    opportunity_rating_code: int | None
    originating_lead_id: uuid.UUID | None
    sales_process_id: uuid.UUID | None
    stage_id: uuid.UUID | None
    stage_name: str | None
    actual_value: Decimal | None
    actual_close_date: date | None
    description: str | None


class WinIn(Strict):
    actual_revenue: Decimal | None = Field(default=None, **_MONEY, description="Defaults to the estimated value.")
    actual_close_date: date | None = Field(default=None, description="Defaults to today (UTC).")
    subject: str | None = Field(default=None, max_length=300)
    description: str | None = None


class LoseIn(Strict):
    statuscode: Literal[4, 5] = Field(default=4, description="4 Canceled, 5 Out-Sold")
    competitor_id: uuid.UUID | None = Field(default=None, description="The competitor it was lost to.")
    actual_revenue: Decimal | None = Field(default=None, **_MONEY)
    actual_close_date: date | None = Field(default=None, description="Defaults to today (UTC).")
    subject: str | None = Field(default=None, max_length=300)
    description: str | None = None


class SetStageIn(Strict):
    stage_id: uuid.UUID


class OpportunityCloseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_on: datetime
    created_by_id: uuid.UUID | None
    subject: str
    statecode: int
    statuscode: int
    opportunity_statuscode: int = Field(description="How it closed: 3 Won, 4 Canceled, 5 Out-Sold")
    actual_revenue: Decimal | None
    currency_code: str
    actual_end: date
    competitor_id: uuid.UUID | None
    description: str | None


# --- competitors -----------------------------------------------------------------------------------
class _CompetitorFields(Strict):
    website_url: str | None = Field(default=None, max_length=200)
    strengths: str | None = None
    weaknesses: str | None = None
    overview: str | None = None


class CompetitorCreate(_CompetitorFields):
    name: str = Field(min_length=1, max_length=100)


class CompetitorUpdate(_CompetitorFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)


class CompetitorOut(RecordOut):
    name: str
    website_url: str | None
    strengths: str | None
    weaknesses: str | None
    overview: str | None


# --- sales processes -------------------------------------------------------------------------------
class StageIn(Strict):
    id: uuid.UUID | None = Field(default=None, description="An existing stage to keep; omit for a new one.")
    name: str = Field(min_length=1, max_length=100)
    probability: int = Field(ge=0, le=100, description="The close probability of an opportunity at this stage.")
    sales_stage_code: int | None = Field(default=None, ge=0, le=3,
                                         description="0 Qualify, 1 Develop, 2 Propose, 3 Close")


class StageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    name: str
    probability: int
    sales_stage_code: int | None


class SalesProcessCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    stages: list[StageIn] = Field(min_length=1, description="In order; at least one.")


class SalesProcessUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = None
    stages: list[StageIn] | None = Field(default=None, description="Replaces the stages, in order; list a "
                                         "stage's id to keep it (and the opportunities standing on it).")


class SalesProcessOut(RecordOut):
    name: str
    description: str | None
    stages: list[StageOut]
