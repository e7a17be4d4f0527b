"""Opportunities, their close records and competitors, and the sales processes an admin defines (DOMAIN.md §3).

The opportunity's customer is Dynamics' Customer lookup (account or contact): two real foreign keys, exactly
one set, so that the database keeps them honest; `customer_type` and `customer_id` are read from them."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, ForeignKey, SmallInteger, String, Table, Text, case, func
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from crm_core.db.base import Base, OwnedMixin, RecordMixin, StateMixin, owner_check, prefix_index


class SalesProcess(RecordMixin, Base):
    """An organisation-wide sales process (Dynamics' business process flow for opportunities): ordered stages,
    each with the close probability an opportunity takes when it reaches it."""

    __tablename__ = "sales_processes"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)

    stages: Mapped[list["SalesProcessStage"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SalesProcessStage.position",
        back_populates="sales_process",
    )


class SalesProcessStage(Base):
    __tablename__ = "sales_process_stages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sales_process_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sales_processes.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)  # 1..n, the order of the stages
    name: Mapped[str] = mapped_column(String(100))
    probability: Mapped[int] = mapped_column(SmallInteger)  # 0..100, copied to the opportunity's close_probability
    # Dynamics' salesstage option set, when the admin maps the stage to it: 0 Qualify, 1 Develop, 2 Propose, 3 Close.
    sales_stage_code: Mapped[int | None] = mapped_column(SmallInteger)

    sales_process: Mapped[SalesProcess] = relationship(back_populates="stages")

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        process_id = self.sales_process_id or (self.sales_process.id if self.sales_process is not None else None)
        return ("sales_process", process_id, f"stage.{self.id}") if process_id else None


class Competitor(RecordMixin, Base):
    """An organisation-owned competitor, as in Dynamics (no state)."""

    __tablename__ = "competitors"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(100), index=True)
    website_url: Mapped[str | None] = mapped_column(String(200))
    strengths: Mapped[str | None] = mapped_column(Text)
    weaknesses: Mapped[str | None] = mapped_column(Text)
    overview: Mapped[str | None] = mapped_column(Text)


# Dynamics' N:N opportunitycompetitors. Link changes are audited on the opportunity (the audit records
# many-to-many collections of the record that changed).
opportunity_competitors = Table(
    "opportunity_competitors",
    Base.metadata,
    Column("opportunity_id", ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
    Column("competitor_id", ForeignKey("competitors.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Opportunity(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "opportunities"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(300), index=True)
    customer_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    customer_contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    originating_lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), index=True
    )
    currency_code: Mapped[str] = mapped_column(String(3))
    estimated_value: Mapped[Decimal | None]
    estimated_close_date: Mapped[date | None]
    close_probability: Mapped[int | None] = mapped_column(SmallInteger)
    opportunity_rating_code: Mapped[int | None] = mapped_column(SmallInteger)  # 1 Hot, 2 Warm, 3 Cold
    sales_process_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_processes.id"), index=True)
    stage_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_process_stages.id"), index=True)
    actual_value: Mapped[Decimal | None]
    actual_close_date: Mapped[date | None]
    description: Mapped[str | None] = mapped_column(Text)

    # Read-only views of the Customer lookup, filterable like columns.
    customer_type: Mapped[str | None] = column_property(
        case((customer_account_id.isnot(None), "account"), (customer_contact_id.isnot(None), "contact"))
    )
    customer_id: Mapped[uuid.UUID | None] = column_property(func.coalesce(customer_account_id, customer_contact_id))

    stage: Mapped["SalesProcessStage | None"] = relationship(lazy="selectin")
    competitors: Mapped[list[Competitor]] = relationship(secondary=opportunity_competitors, order_by=Competitor.name)
    closes: Mapped[list["OpportunityClose"]] = relationship(
        cascade="all, delete-orphan", order_by="OpportunityClose.created_on", back_populates="opportunity",
    )

    __table_args__ = (
        owner_check(),
        CheckConstraint("(customer_account_id IS NULL) <> (customer_contact_id IS NULL)", name="one_customer"),
        prefix_index("opportunities", "name", name),  # the add-in's record picker (addin_manifest/search.py)
    )

    @property
    def stage_name(self) -> str | None:
        return self.stage.name if self.stage is not None else None


class OpportunityClose(RecordMixin, StateMixin, Base):
    """Dynamics' opportunityclose, kept as a record of its own rather than an activity: it is written by win
    and lose only, born Completed, and canceled when the opportunity is reopened. Its changes are audited on
    the opportunity."""

    __tablename__ = "opportunity_closes"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    opportunity_statuscode: Mapped[int] = mapped_column(SmallInteger)  # 3 Won, 4 Canceled, 5 Out-Sold
    actual_revenue: Mapped[Decimal | None]
    currency_code: Mapped[str] = mapped_column(String(3))
    actual_end: Mapped[date]
    competitor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("competitors.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text)

    opportunity: Mapped[Opportunity] = relationship(back_populates="closes")

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        opportunity_id = self.opportunity_id or (self.opportunity.id if self.opportunity is not None else None)
        return ("opportunity", opportunity_id, f"close.{self.id}") if opportunity_id else None
