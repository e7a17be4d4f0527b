"""Crafted records for the analytics tests, written straight to the database (dates in the past and totals to
the cent, which the API would not let a test choose): customers, invoices, orders, opportunities, cases and
their work, campaigns and their responses."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import (
    Account,
    ActivityParty,
    Campaign,
    CampaignResponse,
    Case,
    Contact,
    Invoice,
    Lead,
    Opportunity,
    Order,
    Queue,
    QueueItem,
    Resource,
    SalesProcess,
    SalesProcessStage,
    ServiceActivity,
    Sla,
    SlaKpiInstance,
    Task,
)
from tests.org import TestUser

NOW = datetime.now(UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


class Seed:
    """Records owned by one user (by default), each call in its own committed unit of work."""

    def __init__(self, factory: sessionmaker[Session], owner: TestUser) -> None:
        self.factory, self.owner = factory, owner
        self.counter = 0

    def _add(self, record: Any, owner: TestUser | None = None, owned: bool = True) -> uuid.UUID:
        owner = owner or self.owner
        if owned:
            record.owning_user_id, record.owning_business_unit_id = owner.id, owner.business_unit_id
        with UnitOfWork(self.factory, actor_id=owner.id) as uow:
            uow.session.add(record)
            uow.commit()
            return record.id  # type: ignore[no-any-return]

    def number(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{uuid.uuid4().hex[:6]}-{self.counter}"

    # --- customers ---------------------------------------------------------------------------------
    def account(self, name: str, owner: TestUser | None = None) -> uuid.UUID:
        return self._add(Account(id=uuid.uuid4(), name=name, statecode=0, statuscode=1), owner)

    def contact(self, name: str, owner: TestUser | None = None) -> uuid.UUID:
        first, _, last = name.partition(" ")
        return self._add(
            Contact(
                id=uuid.uuid4(), first_name=first, last_name=last or first, full_name=name, statecode=0, statuscode=1
            ),
            owner,
        )

    @staticmethod
    def _customer(customer: tuple[str, uuid.UUID]) -> dict[str, Any]:
        kind, cid = customer
        return {"customer_account_id": cid} if kind == "account" else {"customer_contact_id": cid}

    # --- sales documents ----------------------------------------------------------------------------
    def invoice(
        self,
        customer: tuple[str, uuid.UUID],
        amount: str,
        days_ago: float,
        statecode: int = 0,
        tax: str = "0",
        owner: TestUser | None = None,
    ) -> uuid.UUID:
        total = Decimal(amount) + Decimal(tax)
        statuscode = {0: 1, 2: 100001, 3: 100003}[statecode]
        return self._add(
            Invoice(
                id=uuid.uuid4(),
                name="Invoice",
                invoice_number=self.number("INV"),
                currency_code="EUR",
                total_amount=total,
                total_tax=Decimal(tax),
                created_on=ago(days_ago),
                statecode=statecode,
                statuscode=statuscode,
                **self._customer(customer),
            ),
            owner,
        )

    def order(self, customer: tuple[str, uuid.UUID], amount: str, days_ago: float, statecode: int) -> uuid.UUID:
        statuscode = {0: 1, 1: 3, 2: 4, 3: 100001, 4: 100003}[statecode]
        return self._add(
            Order(
                id=uuid.uuid4(),
                name="Order",
                order_number=self.number("ORD"),
                currency_code="EUR",
                total_amount=Decimal(amount),
                created_on=ago(days_ago),
                statecode=statecode,
                statuscode=statuscode,
                **self._customer(customer),
            )
        )

    # --- sales --------------------------------------------------------------------------------------
    def process(self, name: str, stages: list[tuple[str, int]]) -> list[uuid.UUID]:
        process = SalesProcess(id=uuid.uuid4(), name=name)
        process.stages = [
            SalesProcessStage(id=uuid.uuid4(), position=i + 1, name=s, probability=p) for i, (s, p) in enumerate(stages)
        ]
        self._add(process, owned=False)
        return [s.id for s in process.stages]

    def opportunity(
        self,
        customer: tuple[str, uuid.UUID],
        value: str | None,
        *,
        owner: TestUser | None = None,
        stage_id: uuid.UUID | None = None,
        probability: int | None = None,
        closes: date | None = None,
        statecode: int = 0,
        actual_value: str | None = None,
        closed: date | None = None,
        name: str = "Deal",
    ) -> uuid.UUID:
        statuscode = {0: 1, 1: 3, 2: 4}[statecode]
        return self._add(
            Opportunity(
                id=uuid.uuid4(),
                name=name,
                currency_code="EUR",
                estimated_value=Decimal(value) if value else None,
                stage_id=stage_id,
                close_probability=probability,
                estimated_close_date=closes,
                statecode=statecode,
                statuscode=statuscode,
                actual_value=Decimal(actual_value) if actual_value else None,
                actual_close_date=closed,
                **self._customer(customer),
            ),
            owner,
        )

    # --- service ------------------------------------------------------------------------------------
    def case(
        self,
        customer: tuple[str, uuid.UUID],
        *,
        priority: int = 2,
        statecode: int = 0,
        queue_id: uuid.UUID | None = None,
        sla_id: uuid.UUID | None = None,
        owner: TestUser | None = None,
    ) -> uuid.UUID:
        case_id = self._add(
            Case(
                id=uuid.uuid4(),
                title="Case",
                case_number=self.number("CAS"),
                priority_code=priority,
                statecode=statecode,
                statuscode=1 if statecode == 0 else 5,
                sla_id=sla_id,
                **self._customer(customer),
            ),
            owner,
        )
        if queue_id is not None:
            self._add(QueueItem(id=uuid.uuid4(), queue_id=queue_id, case_id=case_id, title="Case"), owned=False)
        return case_id

    def queue(self, name: str) -> uuid.UUID:
        return self._add(Queue(id=uuid.uuid4(), name=name, statecode=0, statuscode=1))

    def sla(self, name: str) -> uuid.UUID:
        return self._add(Sla(id=uuid.uuid4(), name=name, statecode=0, statuscode=1), owned=False)

    def kpi(
        self,
        case_id: uuid.UUID,
        sla_id: uuid.UUID,
        kpi: str,
        status: int,
        warning_in_h: float,
        failure_in_h: float,
        created_days_ago: float = 1,
    ) -> None:
        self._add(
            SlaKpiInstance(
                id=uuid.uuid4(),
                case_id=case_id,
                sla_id=sla_id,
                kpi=kpi,
                name=kpi,
                status=status,
                started_on=ago(2),
                warning_time=NOW + timedelta(hours=warning_in_h),
                failure_time=NOW + timedelta(hours=failure_in_h),
                created_on=ago(created_days_ago),
            ),
            owned=False,
        )

    def work(
        self,
        regarding: tuple[str, uuid.UUID],
        minutes: int,
        days_ago: float,
        *,
        owner: TestUser | None = None,
        service_activity: bool = False,
        statecode: int = 1,
    ) -> uuid.UUID:
        kind, model = ("service_activity", ServiceActivity) if service_activity else ("task", Task)
        return self._add(
            model(
                id=uuid.uuid4(),
                activity_type=kind,
                subject="Work",
                regarding_type=regarding[0],
                regarding_id=regarding[1],
                actual_duration_minutes=minutes,
                occurred_on=ago(days_ago),
                statecode=statecode,
                statuscode=2,
            ),
            owner,
        )

    def resource(self, user: TestUser, rate: str) -> uuid.UUID:
        return self._add(
            Resource(
                id=uuid.uuid4(),
                kind="user",
                name=user.email,
                user_id=user.id,
                business_unit_id=user.business_unit_id,
                hourly_cost_rate=Decimal(rate),
            ),
            owned=False,
        )

    # --- marketing ----------------------------------------------------------------------------------
    def campaign(self, name: str, cost: str | None, ended: date | None = None) -> uuid.UUID:
        return self._add(
            Campaign(
                id=uuid.uuid4(),
                name=name,
                actual_cost=Decimal(cost) if cost else None,
                actual_end=ended,
                statecode=0,
                statuscode=1,
            )
        )

    def response(self, campaign_id: uuid.UUID, customer: tuple[str, uuid.UUID] | None, statecode: int = 1) -> uuid.UUID:
        response = CampaignResponse(
            id=uuid.uuid4(),
            activity_type="campaign_response",
            subject="Replied",
            regarding_type="campaign",
            regarding_id=campaign_id,
            occurred_on=ago(3),
            statecode=statecode,
            statuscode=2 if statecode == 1 else 3,
        )
        if customer is not None:
            response.parties = [
                ActivityParty(id=uuid.uuid4(), participation=11, party_type=customer[0], party_id=customer[1])
            ]
        return self._add(response)

    def lead_won(self, campaign_id: uuid.UUID, customer: tuple[str, uuid.UUID], value: str) -> uuid.UUID:
        """A lead of the campaign qualified into an opportunity that was won."""
        opportunity_id = self.opportunity(customer, value, statecode=1, actual_value=value, closed=NOW.date())
        self._add(
            Lead(
                id=uuid.uuid4(),
                subject="Interested",
                last_name="Lead",
                campaign_id=campaign_id,
                qualifying_opportunity_id=opportunity_id,
                statecode=1,
                statuscode=3,
            )
        )
        return opportunity_id
