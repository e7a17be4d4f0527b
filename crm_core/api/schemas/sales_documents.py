"""Bodies of quotes, orders, invoices, their lines and their lifecycle actions."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas.common import OwnerIn, StatefulOut, Strict

_MONEY = {"max_digits": 19, "decimal_places": 4}


# --- lines -----------------------------------------------------------------------------------------
class _LineFields(Strict):
    unit_id: uuid.UUID | None = Field(default=None, description="Defaults to the product's default unit")
    product_description: str | None = Field(default=None, max_length=500,
                                            description="The name of a write-in product (no product_id)")
    description: str | None = None
    price_per_unit: Decimal | None = Field(
        default=None, ge=0, **_MONEY,  # type: ignore[arg-type]
        description="A write-in's price; on a product line it overrides the price list")
    is_price_overridden: bool | None = Field(
        default=None, description="false to go back to the price list's price")
    manual_discount_amount: Decimal | None = Field(default=None, ge=0, **_MONEY)  # type: ignore[arg-type]
    tax: Decimal | None = Field(default=None, ge=0, **_MONEY)  # type: ignore[arg-type]


class LineCreate(_LineFields):
    product_id: uuid.UUID | None = Field(default=None, description="A catalogue product; omit for a write-in")
    quantity: Decimal = Field(gt=0, **_MONEY)  # type: ignore[arg-type]


class LineUpdate(_LineFields):
    product_id: uuid.UUID | None = None
    quantity: Decimal | None = Field(default=None, gt=0, **_MONEY)  # type: ignore[arg-type]


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_number: int
    product_id: uuid.UUID | None
    unit_id: uuid.UUID | None
    is_product_overridden: bool
    product_description: str | None
    description: str | None
    currency_code: str
    quantity: Decimal
    price_per_unit: Decimal
    is_price_overridden: bool
    base_amount: Decimal
    manual_discount_amount: Decimal
    tax: Decimal
    extended_amount: Decimal


# --- headers ---------------------------------------------------------------------------------------
class _HeaderFields(Strict):
    description: str | None = None
    opportunity_id: uuid.UUID | None = None
    price_list_id: uuid.UUID | None = None
    discount_percentage: Decimal | None = Field(default=None, ge=0, le=100, **_MONEY)  # type: ignore[arg-type]
    discount_amount: Decimal | None = Field(default=None, ge=0, **_MONEY)  # type: ignore[arg-type]
    freight_amount: Decimal | None = Field(default=None, ge=0, **_MONEY)  # type: ignore[arg-type]
    payment_terms_code: int | None = Field(default=None, ge=1, le=4,
                                           description="1 Net 30, 2 2% 10 Net 30, 3 Net 45, 4 Net 60")


class _HeaderCreate(_HeaderFields, OwnerIn):
    name: str = Field(min_length=1, max_length=300)
    customer_type: Literal["account", "contact"] | None = Field(
        default=None, description="Required unless opportunity_id gives the customer")
    customer_id: uuid.UUID | None = None
    currency_code: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                      description="ISO 4217; defaults to the price list's")
    lines: list[LineCreate] | None = None


class _HeaderUpdate(_HeaderFields):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    customer_type: Literal["account", "contact"] | None = None
    customer_id: uuid.UUID | None = None
    currency_code: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class _HeaderOut(StatefulOut):
    name: str
    description: str | None
    customer_type: str
    customer_id: uuid.UUID
    opportunity_id: uuid.UUID | None
    price_list_id: uuid.UUID | None
    currency_code: str
    discount_percentage: Decimal
    discount_amount: Decimal
    freight_amount: Decimal
    payment_terms_code: int | None
    total_line_item_amount: Decimal
    total_line_item_discount_amount: Decimal
    total_discount_amount: Decimal
    total_amount_less_freight: Decimal
    total_tax: Decimal
    total_amount: Decimal
    lines: list[LineOut]


class _QuoteFields(Strict):
    effective_from: date | None = None
    effective_to: date | None = None
    expires_on: date | None = None


class QuoteCreate(_QuoteFields, _HeaderCreate):
    pass


class QuoteUpdate(_QuoteFields, _HeaderUpdate):
    pass


class QuoteOut(_HeaderOut):
    quote_number: str
    revision_number: int
    effective_from: date | None
    effective_to: date | None
    expires_on: date | None
    closed_on: date | None


class OrderCreate(_HeaderCreate):
    requested_delivery_by: date | None = None


class OrderUpdate(_HeaderUpdate):
    requested_delivery_by: date | None = None


class OrderOut(_HeaderOut):
    order_number: str
    quote_id: uuid.UUID | None
    is_price_locked: bool
    requested_delivery_by: date | None
    date_fulfilled: date | None


class InvoiceCreate(_HeaderCreate):
    due_date: date | None = None


class InvoiceUpdate(_HeaderUpdate):
    due_date: date | None = None


class InvoiceOut(_HeaderOut):
    invoice_number: str
    order_id: uuid.UUID | None
    is_price_locked: bool
    due_date: date | None
    date_paid: date | None


# --- actions ---------------------------------------------------------------------------------------
class WinQuoteIn(Strict):
    closed_on: date | None = Field(default=None, description="Defaults to today")


class CloseQuoteIn(Strict):
    statuscode: Literal[5, 6] = Field(description="5 Lost, 6 Canceled")
    closed_on: date | None = Field(default=None, description="Defaults to today")


class QuoteWon(BaseModel):
    quote: QuoteOut
    order: OrderOut


class FulfillOrderIn(Strict):
    statuscode: Literal[100001, 100002] = Field(default=100001, description="100001 Complete, 100002 Partial")
    date_fulfilled: date | None = Field(default=None, description="Defaults to today")


class OrderInvoiced(BaseModel):
    order: OrderOut
    invoice: InvoiceOut


class PaidInvoiceIn(Strict):
    statuscode: Literal[100001, 100002] = Field(default=100001, description="100001 Complete, 100002 Partial")
    date_paid: date | None = Field(default=None, description="Defaults to today")
