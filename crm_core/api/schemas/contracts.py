"""Bodies of contract templates, contracts, their lines and lifecycle actions, and the contracts a customer
may open cases under."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas.common import OwnerIn, RecordOut, StatefulOut, Strict

_MONEY = {"max_digits": 19, "decimal_places": 4}
_INT32 = 2**31 - 1
_ALLOTMENT = "1 Number of Cases, 2 Time (minutes), 3 Coverage Dates"
_BILLING = "1 Monthly, 2 Bimonthly, 3 Quarterly, 4 Semiannually, 5 Annually"
_LEVEL = "1 Gold, 2 Silver, 3 Bronze"


# --- templates -------------------------------------------------------------------------------------
class _TemplateFields(Strict):
    description: str | None = None
    billing_frequency: int | None = Field(default=None, description=f"{_BILLING} (default 1)")
    service_level: int | None = Field(default=None, description=_LEVEL)


class TemplateCreate(_TemplateFields):
    name: str = Field(min_length=1, max_length=100)
    abbreviation: str = Field(min_length=1, max_length=20, description="Unique (any case)")
    allotment_type: int = Field(description=_ALLOTMENT)


class TemplateUpdate(_TemplateFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    abbreviation: str | None = Field(default=None, min_length=1, max_length=20)
    allotment_type: int | None = Field(default=None, description=f"{_ALLOTMENT}; contracts made already keep "
                                       "theirs")


class TemplateOut(RecordOut):
    name: str
    abbreviation: str
    allotment_type: int
    billing_frequency: int
    service_level: int | None
    description: str | None
    statecode: int
    statuscode: int
    state: str = ""
    status: str = ""


# --- lines -----------------------------------------------------------------------------------------
class _LineFields(Strict):
    product_id: uuid.UUID | None = Field(default=None, description="A catalogue product the line covers")
    active_on: date | None = Field(default=None, description="Defaults to the contract's; within its dates")
    expires_on: date | None = Field(default=None, description="Defaults to the contract's; within its dates")
    total_allotments: int | None = Field(
        default=None, gt=0, le=_INT32,
        description="Cases (Number of Cases) or minutes (Time) the line allows; none for Coverage Dates")
    price: Decimal | None = Field(default=None, ge=0, **_MONEY)  # type: ignore[arg-type]
    discount: Decimal | None = Field(default=None, ge=0, description="At most the price",
                                     **_MONEY)  # type: ignore[arg-type]


class ContractLineCreate(_LineFields):
    title: str = Field(min_length=1, max_length=200)


class ContractLineUpdate(_LineFields):
    title: str | None = Field(default=None, min_length=1, max_length=200)


class ContractLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contract_id: uuid.UUID
    line_number: int
    title: str
    product_id: uuid.UUID | None
    active_on: date
    expires_on: date
    total_allotments: int | None
    allotments_used: int
    allotments_remaining: int | None
    allotments_overage: int
    price: Decimal
    discount: Decimal
    net: Decimal
    statecode: int = Field(description="0 Existing, 1 Renewed, 2 Canceled, 3 Expired")
    statuscode: int
    state: str = ""
    status: str = ""


# --- contracts -------------------------------------------------------------------------------------
class _ContractFields(Strict):
    description: str | None = None
    sla_id: uuid.UUID | None = Field(default=None, description="The SLA that cases under this contract follow")


class ContractCreate(_ContractFields, OwnerIn):
    template_id: uuid.UUID = Field(description="An Active contract template; the contract copies its allotment "
                                   "type, billing frequency and service level")
    title: str = Field(min_length=1, max_length=200)
    customer_type: Literal["account", "contact"]
    customer_id: uuid.UUID
    active_on: date
    expires_on: date = Field(description="On or after active_on")
    currency_code: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")


class ContractUpdate(_ContractFields):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    customer_type: Literal["account", "contact"] | None = None
    customer_id: uuid.UUID | None = None
    active_on: date | None = None
    expires_on: date | None = None
    currency_code: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class ContractOut(StatefulOut):
    title: str
    contract_number: str
    template_id: uuid.UUID
    customer_type: Literal["account", "contact"]
    customer_id: uuid.UUID
    active_on: date
    expires_on: date
    allotment_type: int = Field(description=_ALLOTMENT)
    billing_frequency: int = Field(description=_BILLING)
    service_level: int | None = Field(description=_LEVEL)
    sla_id: uuid.UUID | None
    currency_code: str
    total_price: Decimal
    total_discount: Decimal
    net_price: Decimal
    originating_contract_id: uuid.UUID | None = Field(description="The contract this one renews")
    canceled_on: date | None
    description: str | None
    lines: list[ContractLineOut]


class CancelContractIn(Strict):
    canceled_on: date | None = Field(default=None, description="Defaults to today")


class AvailableContractOut(BaseModel):
    """A contract a case can be opened under, and the lines that can carry the case."""

    contract_id: uuid.UUID
    contract_number: str
    title: str
    customer_type: Literal["account", "contact"]
    customer_id: uuid.UUID
    allotment_type: int = Field(description=_ALLOTMENT)
    service_level: int | None
    sla_id: uuid.UUID | None
    active_on: date
    expires_on: date
    line_required: bool = Field(description="true: a case under this contract needs one of these lines")
    lines: list[ContractLineOut]
