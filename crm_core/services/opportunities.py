"""Opportunities (DOMAIN.md §3): the customer, the estimate, the sales process and its stage, win, lose and
reopen, and the competitors linked to them.

Choices where Dynamics leaves room:
- Win and lose write an opportunity close record of its own (`OpportunityClose`), not an activity: it is
  born Completed, carries the actual revenue, close date, competitor and description, and is canceled when
  the opportunity is reopened (as Dynamics cancels its opportunityclose activity). The opportunity takes
  actual_value and actual_close_date from it; reopening clears them.
- Won and Lost are reached only through win and lose, so that every close has its record; set-state moves
  an open opportunity between In Progress and On Hold, and back to Open from Won or Lost (= reopen).
- Competitors and sales processes are organisation-wide: naming one needs the read privilege on it, and
  linking a competitor to an opportunity needs the append privilege on the opportunity."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from crm_core.db import column_limits
from crm_core.db.types import utcnow
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import Competitor, Opportunity, OpportunityClose, SalesProcessStage
from crm_core.sales_states import (
    CLOSE_CANCELED,
    CLOSE_COMPLETED,
    LOST,
    OPEN,
    OPPORTUNITY,
    OUT_SOLD,
    WON,
    WON_STATUS,
)
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services.competitors import CompetitorService
from crm_core.services.pricing import check_currency
from crm_core.services.records import RecordService
from crm_core.services.sales_processes import SalesProcessService

CUSTOMER_TYPES = ("account", "contact")
_CUSTOMER_COLUMNS = {"account": "customer_account_id", "contact": "customer_contact_id"}


class OpportunityService(RecordService[Opportunity]):
    entity_name = "opportunity"
    links: ClassVar[dict[str, str]] = {"originating_lead_id": "lead"}
    # Only columns that are never null: the keyset cursor cannot walk past nulls.
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    # --- writes ------------------------------------------------------------------------------------
    def apply(self, record: Opportunity, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        customer = {k: values.pop(k) for k in ("customer_type", "customer_id") if k in values}
        process_given = "sales_process_id" in values
        process_id = values.pop("sales_process_id", None)
        with self.session.no_autoflush:  # the lookups below query; nothing half-checked is written
            super().apply(record, values, creating)
            if customer or creating:
                self._set_customer(record, customer)
            if process_given and process_id != record.sales_process_id:
                self._set_process(record, process_id, keep_probability="close_probability" in values)

    def validate(self, record: Opportunity, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "an opportunity needs a name (topic)")
        if creating or "currency_code" in values:
            record.currency_code = check_currency(record.currency_code)
        if record.estimated_value is not None and record.estimated_value < 0:
            raise ValidationFailed.field("estimated_value", "cannot be negative")
        if record.close_probability is not None and not 0 <= record.close_probability <= 100:
            raise ValidationFailed.field("close_probability", "a whole percentage from 0 to 100")
        if record.opportunity_rating_code is not None and record.opportunity_rating_code not in (1, 2, 3):
            raise ValidationFailed.field("opportunity_rating_code", "1 Hot, 2 Warm or 3 Cold")

    def _set_customer(self, record: Opportunity, given: dict[str, Any]) -> None:
        """Dynamics' Customer lookup: an account or a contact the caller can read and append to."""
        kind, customer_id = given.get("customer_type"), given.get("customer_id")
        if kind is None or customer_id is None:
            missing = "customer_type" if kind is None else "customer_id"
            raise ValidationFailed.field(missing, "an opportunity needs a customer: customer_type (account or "
                                                  "contact) and customer_id")
        if kind not in CUSTOMER_TYPES:
            raise ValidationFailed.field("customer_type", "account or contact")
        if (kind, customer_id) == (record.customer_type, record.customer_id):
            return
        self.check_link(kind, customer_id, "customer_id")
        for column in _CUSTOMER_COLUMNS.values():
            setattr(record, column, None)
        setattr(record, _CUSTOMER_COLUMNS[kind], customer_id)

    def _set_process(self, record: Opportunity, process_id: uuid.UUID | None, keep_probability: bool) -> None:
        """Following a process starts at its first stage, whose probability the opportunity takes (unless the
        same request sets close_probability); leaving it clears the stage."""
        if process_id is None:
            record.sales_process_id = record.stage_id = None
            record.stage = None
            return
        process = SalesProcessService(self.uow, self.principal).readable(process_id, "sales_process_id")
        first = process.stages[0]
        record.sales_process_id = process.id
        record.stage_id, record.stage = first.id, first
        if not keep_probability:
            record.close_probability = first.probability

    # --- stage -------------------------------------------------------------------------------------
    def set_stage(self, record_id: uuid.UUID, stage_id: uuid.UUID) -> Opportunity:
        """Moves an open opportunity to another stage of its process, forward or back; its close probability
        becomes the stage's. Audited as `set_stage`."""
        record = self.get(record_id, Privilege.WRITE)
        self.ensure_editable(record)
        if record.sales_process_id is None:
            raise Conflict("this opportunity follows no sales process; set sales_process_id first")
        stage = self.session.get(SalesProcessStage, stage_id)
        if stage is None or stage.sales_process_id != record.sales_process_id:
            raise ValidationFailed.field("stage_id", "not a stage of this opportunity's sales process")
        if stage.id == record.stage_id:
            raise Conflict(f"this opportunity is at stage {stage.name!r} already")
        self.uow.set_action("set_stage")
        record.stage_id, record.stage = stage.id, stage
        record.close_probability = stage.probability
        self.session.flush()
        self.uow.commit()
        return record

    # --- lifecycle ---------------------------------------------------------------------------------
    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> Opportunity:
        if statecode in (WON, LOST) and action not in ("win", "lose"):
            verb = "win" if statecode == WON else "lose"
            raise ValidationFailed.field("statecode", f"an opportunity is closed with POST /opportunities/{{id}}/"
                                                      f"{verb}, which records the close")
        record = self.get(record_id, Privilege.WRITE)
        if statecode == OPEN and record.statecode == OPEN and action == "reopen":
            raise Conflict("this opportunity is open")
        if statecode == OPEN and record.statecode != OPEN:
            action = "reopen"
            self.uow.set_action(action)
            self._cancel_closes(record)
            record.actual_value = record.actual_close_date = None
        return super().set_state(record_id, statecode, statuscode, action)

    def win(self, record_id: uuid.UUID, actual_revenue: Decimal | None, actual_close_date: date | None,
            description: str | None, subject: str | None = None) -> Opportunity:
        """Won (1) / Won (3) with a completed close record. The actual revenue defaults to the estimate."""
        record = self._closable(record_id, WON)
        revenue = record.estimated_value if actual_revenue is None else actual_revenue
        return self._close(record, WON_STATUS, "win", revenue, actual_close_date, description,
                           subject or f"Won: {record.name}", competitor_id=None)

    def lose(self, record_id: uuid.UUID, statuscode: int | None, competitor_id: uuid.UUID | None,
             actual_revenue: Decimal | None, actual_close_date: date | None, description: str | None,
             subject: str | None = None) -> Opportunity:
        """Lost (2) as Canceled (4, the default) or Out-Sold (5), naming the competitor it went to if known."""
        _, status = OPPORTUNITY.resolve(LOST, statuscode)
        record = self._closable(record_id, LOST)
        if competitor_id is not None:
            CompetitorService(self.uow, self.principal).readable(competitor_id, "competitor_id")
        label = "Out-sold" if status == OUT_SOLD else "Canceled"
        return self._close(record, status, "lose", actual_revenue, actual_close_date, description,
                           subject or f"{label}: {record.name}", competitor_id)

    def closes(self, record_id: uuid.UUID) -> list[OpportunityClose]:
        """The close records of an opportunity, oldest first (the last is the current one if it is closed)."""
        return list(self.get(record_id).closes)

    def _closable(self, record_id: uuid.UUID, target: int) -> Opportunity:
        record = self.get(record_id, Privilege.WRITE)
        # One close at a time: a concurrent win or lose of the same opportunity waits here, then sees it closed.
        self.session.refresh(record, with_for_update=True)
        if record.statecode != OPEN:
            state = OPPORTUNITY.state(record.statecode).name
            raise Conflict(f"this opportunity is {state} already; reopen it first")
        OPPORTUNITY.check_transition(record.statecode, target)
        return record

    def _close(self, record: Opportunity, status: int, action: str, revenue: Decimal | None,
               close_date: date | None, description: str | None, subject: str,
               competitor_id: uuid.UUID | None) -> Opportunity:
        if revenue is not None and revenue < 0:
            raise ValidationFailed.field("actual_revenue", "cannot be negative")
        close_date = close_date or utcnow().date()
        values = {"subject": subject[:300], "description": description, "actual_revenue": revenue}
        column_limits.check_values(OpportunityClose, values)
        self.uow.set_action(action)
        record.closes.append(OpportunityClose(
            id=uuid.uuid4(), opportunity_statuscode=status, currency_code=record.currency_code,
            actual_end=close_date, competitor_id=competitor_id, statecode=CLOSE_COMPLETED[0],
            statuscode=CLOSE_COMPLETED[1], **values,
        ))
        record.actual_value, record.actual_close_date = revenue, close_date
        record.statecode, record.statuscode = OPPORTUNITY.resolve(WON if status == WON_STATUS else LOST, status)
        self.session.flush()
        self.uow.commit()
        return record

    def _cancel_closes(self, record: Opportunity) -> None:
        for close in record.closes:
            if (close.statecode, close.statuscode) == CLOSE_COMPLETED:
                close.statecode, close.statuscode = CLOSE_CANCELED

    # --- competitors -------------------------------------------------------------------------------
    def competitors(self, record_id: uuid.UUID) -> list[Competitor]:
        record = self.get(record_id)
        self.principal.require("competitor", Privilege.READ)
        return list(record.competitors)

    def link_competitor(self, record_id: uuid.UUID, competitor_id: uuid.UUID) -> None:
        record, competitor = self._competitor_link(record_id, competitor_id)
        if competitor in record.competitors:
            raise Conflict(f"{competitor.name} is linked to this opportunity already")
        self.uow.set_action("link_competitor")
        record.competitors.append(competitor)
        self.session.flush()
        self.uow.commit()

    def unlink_competitor(self, record_id: uuid.UUID, competitor_id: uuid.UUID) -> None:
        record, competitor = self._competitor_link(record_id, competitor_id)
        if competitor not in record.competitors:
            raise NotFound(f"{competitor.name} is not linked to this opportunity")
        self.uow.set_action("unlink_competitor")
        record.competitors.remove(competitor)
        self.session.flush()
        self.uow.commit()

    def _competitor_link(self, record_id: uuid.UUID, competitor_id: uuid.UUID) -> tuple[Opportunity, Competitor]:
        record = self.get(record_id)
        access.require(self.session, self.principal, self.spec, Privilege.APPEND, record)
        self.ensure_editable(record)
        competitor = CompetitorService(self.uow, self.principal).get(competitor_id)
        return record, competitor

