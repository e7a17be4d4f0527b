"""Cases (Dynamics' incident) and their resolutions (incidentresolution).

The customer is an account or a contact. It is stored as one foreign key per kind, not as a polymorphic
pair, so that the database refuses to delete a customer who still has cases instead of leaving them
pointing nowhere; the API shows it as customer_type + customer_id.

A resolution is a table of its own rather than an activity of a custom type: it is written in the same
transaction as the resolve, cannot be edited, reopened or deleted through /activities behind the case's back,
does not depend on an activity type an admin could change, and keeps time spent as a number that contracts
can sum. The case's audit trail records it (and the timeline of the case carries the case's activities)."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.case_states import KPI_STATUS
from crm_core.db.base import Base, OwnedMixin, RecordMixin, StateMixin, owner_check, prefix_index
from crm_core.db.types import utcnow
from crm_core.models.queues import QueueItem
from crm_core.models.service_levels import SlaKpiInstance


class Case(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "cases"
    __audited__ = True

    title: Mapped[str] = mapped_column(String(200))
    case_number: Mapped[str] = mapped_column(String(100), unique=True)
    customer_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    customer_contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    primary_contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    origin_code: Mapped[int | None] = mapped_column(SmallInteger)  # 1 Phone, 2 Email, 3 Web, ...
    case_type_code: Mapped[int | None] = mapped_column(SmallInteger)  # 1 Question, 2 Problem, 3 Request
    priority_code: Mapped[int] = mapped_column(SmallInteger, default=2)  # 1 High, 2 Normal, 3 Low
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"), index=True)
    parent_case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    master_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(Text)
    # Service levels: the SLA whose KPIs the case carries, and the first response (firstresponsesent).
    sla_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("slas.id"), index=True)
    first_response_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_on: Mapped[datetime | None]
    # The contract line the case is worked under, whose allotment its resolution consumes.
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    contract_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contract_lines.id"), index=True)

    # The queue it waits in, if any (read-only here: queue items are changed by the queue service).
    queue_item: Mapped[QueueItem | None] = relationship(viewonly=True, lazy="selectin", uselist=False)
    # Its SLA clocks, newest first (read-only here: crm_core.services.case_slas starts and stops them).
    sla_kpis: Mapped[list[SlaKpiInstance]] = relationship(
        viewonly=True, lazy="selectin",
        order_by=(SlaKpiInstance.created_on.desc(), SlaKpiInstance.started_on.desc()),
    )

    __table_args__ = (
        owner_check(),
        CheckConstraint("(customer_account_id IS NULL) <> (customer_contact_id IS NULL)", name="one_customer"),
        # The add-in's record picker finds cases by the start of their title or number (addin_manifest/search.py).
        prefix_index("cases", "title", title),
        prefix_index("cases", "case_number", case_number),
    )

    @property
    def customer_type(self) -> str:
        return "account" if self.customer_account_id is not None else "contact"

    @property
    def customer_id(self) -> uuid.UUID | None:
        return self.customer_account_id or self.customer_contact_id

    @property
    def queue_id(self) -> uuid.UUID | None:
        return self.queue_item.queue_id if self.queue_item is not None else None

    # Dynamics' responseby / resolveby and their SLA statuses: from the latest clock of each KPI under the
    # case's SLA (the clocks of an SLA it no longer follows are history).
    def _latest_kpi(self, kpi: str) -> SlaKpiInstance | None:
        return next((k for k in self.sla_kpis if k.kpi == kpi and k.sla_id == self.sla_id), None)

    def _kpi_status(self, kpi: str) -> str | None:
        latest = self._latest_kpi(kpi)
        return KPI_STATUS[latest.status_at(utcnow())] if latest is not None else None

    @property
    def response_by(self) -> datetime | None:
        latest = self._latest_kpi("first_response")
        return latest.failure_time if latest is not None else None

    @property
    def resolve_by(self) -> datetime | None:
        latest = self._latest_kpi("resolve")
        return latest.failure_time if latest is not None else None

    @property
    def first_response_sla_status(self) -> str | None:
        return self._kpi_status("first_response")

    @property
    def resolve_by_sla_status(self) -> str | None:
        return self._kpi_status("resolve")


class CaseResolution(RecordMixin, StateMixin, Base):
    """What solved a case, how long it took, and by whom (created_by_id): Completed(1)[2], or Canceled(2)[3]
    once the case is reactivated."""

    __tablename__ = "case_resolutions"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    time_spent_minutes: Mapped[int] = mapped_column(default=0)
    case_statuscode: Mapped[int] = mapped_column(SmallInteger)  # the case's Resolved reason: 5 or 1000
    resolved_on: Mapped[datetime] = mapped_column(default=utcnow)
    # What this resolution took from a contract line (cases: 1, time: the minutes), given back if the case
    # is reactivated and its resolution canceled.
    contract_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contract_lines.id", ondelete="SET NULL"))
    allotments_consumed: Mapped[int] = mapped_column(default=0)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("case", self.case_id, f"resolution.{self.id}") if self.case_id else None
