"""Bodies of unit groups and units, products, price lists and price list items."""

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas.common import RecordOut, Strict

CURRENCY = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")
_MONEY = {"max_digits": 19, "decimal_places": 4}


def money(description: str = "", **kwargs: object) -> Decimal | None:
    return Field(default=None, ge=0, description=description, **_MONEY, **kwargs)  # type: ignore[no-any-return]


class CatalogOut(RecordOut):
    """An organisation-wide record: no owner, a state."""

    statecode: int
    statuscode: int
    state: str = ""
    status: str = ""


# --- unit groups -----------------------------------------------------------------------------------
class UnitIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    quantity: Decimal = Field(gt=0, max_digits=19, decimal_places=4, description="How many base units it is")


class UnitUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    quantity: Decimal | None = Field(default=None, gt=0, max_digits=19, decimal_places=4)


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    unit_group_id: uuid.UUID
    name: str
    quantity: Decimal
    is_base: bool


class UnitGroupCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    base_unit_name: str = Field(min_length=1, max_length=100, description="The unit every other one counts in")


class UnitGroupUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None


class UnitGroupOut(CatalogOut):
    name: str
    description: str | None
    units: list[UnitOut]


# --- products --------------------------------------------------------------------------------------
class _ProductFields(Strict):
    description: str | None = None
    product_type_code: int | None = Field(
        default=None, ge=1, le=4, description="1 Sales Inventory, 2 Miscellaneous Charges, 3 Services, 4 Flat Fees")
    default_price_list_id: uuid.UUID | None = None
    list_price: Decimal | None = money("Price of one default unit, in currency_code")
    standard_cost: Decimal | None = money()
    current_cost: Decimal | None = money()
    quantity_decimal: int | None = Field(default=None, ge=0, le=4, description="Decimals a quantity may have")


class ProductCreate(_ProductFields):
    product_number: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    unit_group_id: uuid.UUID
    default_unit_id: uuid.UUID
    currency_code: str = CURRENCY


class ProductUpdate(_ProductFields):
    product_number: str | None = Field(default=None, min_length=1, max_length=100)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    unit_group_id: uuid.UUID | None = None
    default_unit_id: uuid.UUID | None = None
    currency_code: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class ProductOut(CatalogOut):
    product_number: str
    name: str
    description: str | None
    product_type_code: int
    unit_group_id: uuid.UUID
    default_unit_id: uuid.UUID
    default_price_list_id: uuid.UUID | None
    currency_code: str
    list_price: Decimal | None
    standard_cost: Decimal | None
    current_cost: Decimal | None
    quantity_decimal: int


# --- price lists -----------------------------------------------------------------------------------
class PriceListCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    currency_code: str = CURRENCY
    begin_date: date | None = None
    end_date: date | None = None


class PriceListUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = None
    currency_code: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    begin_date: date | None = None
    end_date: date | None = None


class PriceListOut(CatalogOut):
    name: str
    description: str | None
    currency_code: str
    begin_date: date | None
    end_date: date | None


class _ItemFields(Strict):
    pricing_method_code: int | None = Field(
        default=None, ge=1, le=6, description="1 Currency Amount, 2 % of List (3-6, cost based, are refused)")
    amount: Decimal | None = money("Price per unit, for method 1")
    percentage: Decimal | None = money("Percent of the product's list price, for method 2")
    rounding_policy_code: int | None = Field(default=None, ge=1, le=4, description="1 None, 2 Up, 3 Down, 4 To Nearest")
    rounding_option_code: int | None = Field(default=None, ge=1, le=2, description="1 Ends in, 2 Multiple of")
    rounding_option_amount: Decimal | None = Field(default=None, gt=0, **_MONEY)  # type: ignore[arg-type]
    quantity_selling_code: int | None = Field(
        default=None, ge=1, le=3, description="1 No Control, 2 Whole, 3 Whole and Fractional")


class PriceListItemCreate(_ItemFields):
    product_id: uuid.UUID
    unit_id: uuid.UUID | None = Field(default=None, description="Defaults to the product's default unit")


class PriceListItemUpdate(_ItemFields):
    unit_id: uuid.UUID | None = None


class PriceListItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    price_list_id: uuid.UUID
    product_id: uuid.UUID
    unit_id: uuid.UUID
    currency_code: str
    pricing_method_code: int
    amount: Decimal | None
    percentage: Decimal | None
    rounding_policy_code: int
    rounding_option_code: int | None
    rounding_option_amount: Decimal | None
    quantity_selling_code: int
