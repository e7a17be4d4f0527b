"""Quotes, orders and invoices with their lines (DOMAIN.md §5, §6): Dynamics' quote, salesorder, invoice and
quotedetail, salesorderdetail, invoicedetail.

The three share one header (customer, price list, currency, discounts, freight and the totals computed by
crm_core.services.pricing) and one line shape. Lines are child rows: their changes are audited on the
document (`lines.<n>.<field>`)."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    case,
    func,
)
from sqlalchemy.orm import Mapped, column_property, declared_attr, mapped_column, relationship

from crm_core.db.base import Base, OwnedMixin, RecordMixin, StateMixin, owner_check

ZERO = Decimal(0)


class SalesHeader:
    """The header every sales document shares. Totals are written by the service, never by the caller."""

    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    currency_code: Mapped[str] = mapped_column(String(3))
    discount_percentage: Mapped[Decimal] = mapped_column(default=ZERO)
    discount_amount: Mapped[Decimal] = mapped_column(default=ZERO)
    freight_amount: Mapped[Decimal] = mapped_column(default=ZERO)
    total_line_item_amount: Mapped[Decimal] = mapped_column(default=ZERO)
    total_line_item_discount_amount: Mapped[Decimal] = mapped_column(default=ZERO)
    total_discount_amount: Mapped[Decimal] = mapped_column(default=ZERO)
    total_amount_less_freight: Mapped[Decimal] = mapped_column(default=ZERO)
    total_tax: Mapped[Decimal] = mapped_column(default=ZERO)
    total_amount: Mapped[Decimal] = mapped_column(default=ZERO)
    payment_terms_code: Mapped[int | None] = mapped_column(SmallInteger)  # 1 Net 30, 2 2% 10 Net 30, 3 Net 45...

    @declared_attr
    def price_list_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("price_lists.id"), index=True)

    @declared_attr
    def opportunity_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("opportunities.id"), index=True)

    # Dynamics' customerid, an account or a contact, as on opportunities: two real foreign keys, exactly one
    # set (a check constraint), so that a customer cannot be deleted from under its documents; the API
    # reads and writes them as customer_type + customer_id.
    @declared_attr
    def customer_account_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("accounts.id"), index=True)

    @declared_attr
    def customer_contact_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("contacts.id"), index=True)

    @declared_attr
    def customer_type(cls) -> Mapped[str | None]:
        return column_property(case((cls.customer_account_id.isnot(None), "account"),
                                    (cls.customer_contact_id.isnot(None), "contact")))

    @declared_attr
    def customer_id(cls) -> Mapped[uuid.UUID | None]:
        return column_property(func.coalesce(cls.customer_account_id, cls.customer_contact_id))


def header_checks() -> tuple[Any, ...]:
    """The table arguments of every document: one owner, one customer."""
    return (owner_check(),
            CheckConstraint("(customer_account_id IS NULL) <> (customer_contact_id IS NULL)", name="one_customer"))


class SalesLine:
    """A line: an existing product in one of its units, priced from the document's price list (unless its
    price is overridden), or a write-in product with a typed description and price."""

    line_number: Mapped[int] = mapped_column(Integer)
    product_description: Mapped[str | None] = mapped_column(String(500))  # the write-in product's name
    description: Mapped[str | None] = mapped_column(Text)
    currency_code: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[Decimal]
    price_per_unit: Mapped[Decimal]
    is_price_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    base_amount: Mapped[Decimal]
    manual_discount_amount: Mapped[Decimal] = mapped_column(default=ZERO)
    tax: Mapped[Decimal] = mapped_column(default=ZERO)
    extended_amount: Mapped[Decimal]

    @declared_attr
    def product_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("products.id"), index=True)

    @declared_attr
    def unit_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("units.id"))

    @property
    def is_product_overridden(self) -> bool:
        """A write-in line (Dynamics' isproductoverridden): no catalogue product."""
        return self.product_id is None


class Quote(RecordMixin, OwnedMixin, StateMixin, SalesHeader, Base):
    __tablename__ = "quotes"
    __audited__ = True
    __table_args__ = (*header_checks(), UniqueConstraint("quote_number", "revision_number", name="uq_quotes_revision"))

    quote_number: Mapped[str] = mapped_column(String(100), index=True)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    effective_from: Mapped[date | None]
    effective_to: Mapped[date | None]
    expires_on: Mapped[date | None]
    closed_on: Mapped[date | None]

    lines: Mapped[list["QuoteLine"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="QuoteLine.line_number")


class QuoteLine(RecordMixin, SalesLine, Base):
    __tablename__ = "quote_lines"

    quote_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return "quote", self.quote_id, f"lines.{self.line_number}"


class Order(RecordMixin, OwnedMixin, StateMixin, SalesHeader, Base):
    """Dynamics' salesorder."""

    __tablename__ = "orders"
    __audited__ = True
    __table_args__ = header_checks()

    statuscode: Mapped[int] = mapped_column(Integer, default=1)  # Fulfilled/Paid 100001...: beyond a SmallInteger

    order_number: Mapped[str] = mapped_column(String(100), unique=True)
    quote_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("quotes.id"), index=True)
    # Locked prices stay as they are when the price list changes (Lock/UnlockSalesOrderPricing).
    is_price_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_delivery_by: Mapped[date | None]
    date_fulfilled: Mapped[date | None]

    lines: Mapped[list["OrderLine"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OrderLine.line_number")


class OrderLine(RecordMixin, SalesLine, Base):
    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return "order", self.order_id, f"lines.{self.line_number}"


class Invoice(RecordMixin, OwnedMixin, StateMixin, SalesHeader, Base):
    __tablename__ = "invoices"
    __audited__ = True
    __table_args__ = header_checks()

    statuscode: Mapped[int] = mapped_column(Integer, default=1)  # Fulfilled/Paid 100001...: beyond a SmallInteger

    invoice_number: Mapped[str] = mapped_column(String(100), unique=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), index=True)
    is_price_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    due_date: Mapped[date | None]
    date_paid: Mapped[date | None]

    lines: Mapped[list["InvoiceLine"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InvoiceLine.line_number")


class InvoiceLine(RecordMixin, SalesLine, Base):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return "invoice", self.invoice_id, f"lines.{self.line_number}"


LINE_MODELS: dict[type[Any], type[Any]] = {Quote: QuoteLine, Order: OrderLine, Invoice: InvoiceLine}
