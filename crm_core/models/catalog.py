"""The product catalogue (DOMAIN.md §4): unit groups and their units, products, price lists and their items.

Organisation-wide reference data: no owner, administrators change it, every user reads it. Money is a
Decimal (Numeric(19,4)) with the ISO 4217 `currency_code` of the record carrying it."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, RecordMixin, StateMixin


class UnitGroup(RecordMixin, StateMixin, Base):
    """Dynamics' uomschedule: a family of units (Each, Dozen, Case) measured in one base unit."""

    __tablename__ = "unit_groups"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)

    units: Mapped[list["Unit"]] = relationship(
        back_populates="unit_group", cascade="all, delete-orphan", lazy="selectin",
        order_by=lambda: (Unit.is_base.desc(), Unit.quantity, Unit.name),
    )


class Unit(RecordMixin, Base):
    """Dynamics' uom. Each unit is `quantity` base units of its group (the base unit itself is 1)."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("unit_group_id", "name", name="uq_units_group_name"),)

    unit_group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unit_groups.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[Decimal]
    is_base: Mapped[bool] = mapped_column(Boolean, default=False)

    unit_group: Mapped[UnitGroup] = relationship(back_populates="units", lazy="joined")

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return "unit_group", self.unit_group_id, f"units.{self.id}"


class Product(RecordMixin, StateMixin, Base):
    __tablename__ = "products"
    __audited__ = True

    product_number: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    # 1 Sales Inventory, 2 Miscellaneous Charges, 3 Services, 4 Flat Fees
    product_type_code: Mapped[int] = mapped_column(SmallInteger, default=1)
    unit_group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unit_groups.id"), index=True)
    default_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    default_price_list_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("price_lists.id", ondelete="SET NULL"))
    currency_code: Mapped[str] = mapped_column(String(3))
    list_price: Mapped[Decimal | None]
    standard_cost: Mapped[Decimal | None]
    current_cost: Mapped[Decimal | None]
    # How many decimals a quantity of this product may have ("Decimals Supported").
    quantity_decimal: Mapped[int] = mapped_column(SmallInteger, default=0)


class PriceList(RecordMixin, StateMixin, Base):
    """Dynamics' pricelevel. Its items are deleted with it (by the database: they are not loaded)."""

    __tablename__ = "price_lists"
    __audited__ = True

    statuscode: Mapped[int] = mapped_column(Integer, default=100001)  # Active 100001: beyond a SmallInteger

    name: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    currency_code: Mapped[str] = mapped_column(String(3))
    begin_date: Mapped[date | None]
    end_date: Mapped[date | None]


class PriceListItem(RecordMixin, Base):
    """Dynamics' productpricelevel: the price of one product in one unit on one price list."""

    __tablename__ = "price_list_items"
    __table_args__ = (
        UniqueConstraint("price_list_id", "product_id", "unit_id", name="uq_price_list_items_product_unit"),
    )

    price_list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("price_lists.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    currency_code: Mapped[str] = mapped_column(String(3))
    pricing_method_code: Mapped[int] = mapped_column(SmallInteger, default=1)  # 1 Currency Amount, 2 % of List
    amount: Mapped[Decimal | None]
    percentage: Mapped[Decimal | None]
    rounding_policy_code: Mapped[int] = mapped_column(SmallInteger, default=1)  # 1 None, 2 Up, 3 Down, 4 Nearest
    rounding_option_code: Mapped[int | None] = mapped_column(SmallInteger)  # 1 Ends in, 2 Multiple of
    rounding_option_amount: Mapped[Decimal | None]
    quantity_selling_code: Mapped[int] = mapped_column(SmallInteger, default=1)  # 1 No Control, 2 Whole, 3 Both

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return "price_list", self.price_list_id, f"items.{self.id}"
