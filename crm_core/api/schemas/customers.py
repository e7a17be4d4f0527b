"""Bodies of accounts, contacts and leads."""

import uuid
from datetime import date
from decimal import Decimal

from pydantic import ConfigDict, Field

from crm_core.api.schemas.common import OwnerIn, StatefulOut, Strict


class AddressIn(Strict):
    address_type_code: int | None = Field(default=None, description="1 Bill To, 2 Ship To, 3 Primary, 4 Other")
    name: str | None = Field(default=None, max_length=200)
    line1: str | None = Field(default=None, max_length=250)
    line2: str | None = Field(default=None, max_length=250)
    line3: str | None = Field(default=None, max_length=250)
    city: str | None = Field(default=None, max_length=80)
    state_or_province: str | None = Field(default=None, max_length=50)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=80)
    telephone: str | None = Field(default=None, max_length=50)


class AddressOut(AddressIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    address_number: int


class _AccountFields(Strict):
    account_number: str | None = Field(default=None, max_length=20)
    parent_account_id: uuid.UUID | None = None
    primary_contact_id: uuid.UUID | None = None
    email_address1: str | None = Field(default=None, max_length=320)
    email_address2: str | None = Field(default=None, max_length=320)
    email_address3: str | None = Field(default=None, max_length=320)
    telephone1: str | None = Field(default=None, max_length=50)
    website_url: str | None = Field(default=None, max_length=200)
    industry_code: int | None = None
    customer_type_code: int | None = None
    revenue: Decimal | None = Field(default=None, ge=0, max_digits=19, decimal_places=4)
    number_of_employees: int | None = Field(default=None, ge=0)
    description: str | None = None
    do_not_email: bool | None = None
    addresses: list[AddressIn] | None = Field(default=None, description="Replaces all the addresses.")


class AccountCreate(_AccountFields, OwnerIn):
    name: str = Field(min_length=1, max_length=160)


class AccountUpdate(_AccountFields):
    name: str | None = Field(default=None, min_length=1, max_length=160)


class AccountOut(StatefulOut):
    name: str
    account_number: str | None
    parent_account_id: uuid.UUID | None
    primary_contact_id: uuid.UUID | None
    email_address1: str | None
    email_address2: str | None
    email_address3: str | None
    telephone1: str | None
    website_url: str | None
    industry_code: int | None
    customer_type_code: int | None
    revenue: Decimal | None
    number_of_employees: int | None
    description: str | None
    do_not_email: bool
    addresses: list[AddressOut]
    originating_lead_id: uuid.UUID | None = Field(description="The lead whose qualification created it.")


class _ContactFields(Strict):
    first_name: str | None = Field(default=None, max_length=50)
    job_title: str | None = Field(default=None, max_length=100)
    parent_account_id: uuid.UUID | None = None
    email_address1: str | None = Field(default=None, max_length=320)
    email_address2: str | None = Field(default=None, max_length=320)
    email_address3: str | None = Field(default=None, max_length=320)
    telephone1: str | None = Field(default=None, max_length=50)
    mobile_phone: str | None = Field(default=None, max_length=50)
    birth_date: date | None = None
    preferred_contact_method_code: int | None = Field(
        default=None, ge=1, le=5, description="1 Any, 2 Email, 3 Phone, 4 Fax, 5 Mail")
    description: str | None = None
    do_not_email: bool | None = None
    addresses: list[AddressIn] | None = Field(default=None, description="Replaces all the addresses.")


class ContactCreate(_ContactFields, OwnerIn):
    last_name: str = Field(min_length=1, max_length=50)


class ContactUpdate(_ContactFields):
    last_name: str | None = Field(default=None, min_length=1, max_length=50)


class ContactOut(StatefulOut):
    first_name: str | None
    last_name: str
    full_name: str
    job_title: str | None
    parent_account_id: uuid.UUID | None
    email_address1: str | None
    email_address2: str | None
    email_address3: str | None
    telephone1: str | None
    mobile_phone: str | None
    birth_date: date | None
    preferred_contact_method_code: int
    description: str | None
    do_not_email: bool
    addresses: list[AddressOut]
    originating_lead_id: uuid.UUID | None = Field(description="The lead whose qualification created it.")


class _LeadFields(Strict):
    first_name: str | None = Field(default=None, max_length=50)
    last_name: str | None = Field(default=None, max_length=50)
    company_name: str | None = Field(default=None, max_length=100)
    job_title: str | None = Field(default=None, max_length=100)
    email_address1: str | None = Field(default=None, max_length=320)
    telephone1: str | None = Field(default=None, max_length=50)
    website_url: str | None = Field(default=None, max_length=200)
    lead_source_code: int | None = Field(default=None, ge=1, le=10)
    lead_quality_code: int | None = Field(default=None, ge=1, le=3, description="1 Hot, 2 Warm, 3 Cold")
    estimated_amount: Decimal | None = Field(default=None, max_digits=19, decimal_places=4)
    description: str | None = None
    parent_account_id: uuid.UUID | None = None
    parent_contact_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = Field(default=None, description="The campaign the lead came from.")


class LeadCreate(_LeadFields, OwnerIn):
    subject: str = Field(min_length=1, max_length=300)


class LeadUpdate(_LeadFields):
    subject: str | None = Field(default=None, min_length=1, max_length=300)


class LeadOut(StatefulOut):
    subject: str
    first_name: str | None
    last_name: str | None
    full_name: str | None
    company_name: str | None
    job_title: str | None
    email_address1: str | None
    telephone1: str | None
    website_url: str | None
    lead_source_code: int | None
    lead_quality_code: int | None
    estimated_amount: Decimal | None
    description: str | None
    parent_account_id: uuid.UUID | None
    parent_contact_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    campaign_response_id: uuid.UUID | None = Field(description="The campaign response it was converted from.")
    qualifying_opportunity_id: uuid.UUID | None = Field(description="The opportunity its qualification created.")
