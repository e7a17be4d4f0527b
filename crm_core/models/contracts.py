"""Service contracts (DOMAIN.md §10): templates, contracts and their lines with allotments.

A template (contracttemplate) gives a contract its allotment type (1 Number of Cases, 2 Time in minutes,
3 Coverage Dates), billing frequency and service level. A contract (Draft(0)[1], Invoiced(1)[2],
Active(2)[3], On Hold(3)[4], Canceled(4)[5], Expired(5)[6]) covers a customer from active_on to expires_on
with lines (contractdetail): each line its own dates within the contract's, a price, and for cases or time
an allotment that resolving a case on it consumes. What a resolution consumed is kept on the resolution
(crm_core.models.cases.CaseResolution) so that reactivating the case gives it back."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, OwnedMixin, RecordMixin, StateMixin, owner_check

ZERO = Decimal(0)


class ContractTemplate(RecordMixin, StateMixin, Base):
    """Organisation-wide; Active(0)[1] / Inactive(1)[2]: only active templates make new contracts."""

    __tablename__ = "contract_templates"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(100))
    abbreviation: Mapped[str] = mapped_column(String(20), unique=True)
    allotment_type: Mapped[int] = mapped_column(SmallInteger)
    billing_frequency: Mapped[int] = mapped_column(SmallInteger, default=1)
    service_level: Mapped[int | None] = mapped_column(SmallInteger)  # 1 Gold, 2 Silver, 3 Bronze
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("allotment_type IN (1, 2, 3)", name="allotment_type"),)


class Contract(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "contracts"
    __audited__ = True

    title: Mapped[str] = mapped_column(String(200))
    contract_number: Mapped[str] = mapped_column(String(100), unique=True)
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract_templates.id"), index=True)
    customer_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    customer_contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    active_on: Mapped[date]
    expires_on: Mapped[date]
    allotment_type: Mapped[int] = mapped_column(SmallInteger)
    billing_frequency: Mapped[int] = mapped_column(SmallInteger)
    service_level: Mapped[int | None] = mapped_column(SmallInteger)
    # The SLA that cases opened under this contract follow (Dynamics' entitlement.slaid).
    sla_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("slas.id"), index=True)
    currency_code: Mapped[str] = mapped_column(String(3))
    total_price: Mapped[Decimal] = mapped_column(default=ZERO)
    total_discount: Mapped[Decimal] = mapped_column(default=ZERO)
    net_price: Mapped[Decimal] = mapped_column(default=ZERO)
    originating_contract_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contracts.id", ondelete="SET NULL"), index=True)
    canceled_on: Mapped[date | None]
    description: Mapped[str | None] = mapped_column(Text)

    lines: Mapped[list["ContractLine"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ContractLine.line_number",
    )

    __table_args__ = (
        owner_check(),
        CheckConstraint("(customer_account_id IS NULL) <> (customer_contact_id IS NULL)", name="one_customer"),
        CheckConstraint("active_on <= expires_on", name="dates"),
        CheckConstraint("allotment_type IN (1, 2, 3)", name="allotment_type"),
    )

    @property
    def customer_type(self) -> str:
        return "account" if self.customer_account_id is not None else "contact"

    @property
    def customer_id(self) -> uuid.UUID | None:
        return self.customer_account_id or self.customer_contact_id


class ContractLine(RecordMixin, StateMixin, Base):
    """contractdetail: Existing(0)[New 1], Renewed(1)[2], Canceled(2)[3], Expired(3)[4].
    total_allotments is None for coverage-dates contracts, which count nothing."""

    __tablename__ = "contract_lines"

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"), index=True)
    active_on: Mapped[date]
    expires_on: Mapped[date]
    total_allotments: Mapped[int | None]
    allotments_used: Mapped[int] = mapped_column(default=0)
    allotments_overage: Mapped[int] = mapped_column(default=0)
    price: Mapped[Decimal] = mapped_column(default=ZERO)
    discount: Mapped[Decimal] = mapped_column(default=ZERO)
    net: Mapped[Decimal] = mapped_column(default=ZERO)

    __table_args__ = (
        UniqueConstraint("contract_id", "line_number"),
        CheckConstraint("active_on <= expires_on", name="dates"),
        CheckConstraint("total_allotments IS NULL OR total_allotments > 0", name="allotments"),
        CheckConstraint("allotments_used >= 0 AND allotments_overage >= 0", name="usage"),
    )

    @property
    def allotments_remaining(self) -> int | None:
        if self.total_allotments is None:
            return None
        return max(self.total_allotments - self.allotments_used, 0)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("contract", self.contract_id, f"line.{self.id}") if self.contract_id else None
