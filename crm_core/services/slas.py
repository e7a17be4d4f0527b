"""SLAs (DOMAIN.md §9, Dynamics' sla and slaitem): the calendar an SLA counts in, whether and on which case
status reasons its clocks pause, and its items: for a KPI (first response, resolve), the conditions on the case
under which the item applies, and after how many business minutes the KPI warns and fails.

Draft(0)[1] / Active(1)[2]. A draft is edited freely; activating needs an item and a calendar with working
time (none: around the clock); an active SLA is read-only until deactivated, so that the clocks of its cases
keep meaning what they meant when they started. Cases are given active SLAs only. One SLA of the organisation
is the default: setting is_default on one takes it from the other in the same transaction (a partial unique
index backs this against two admins at once)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy import func, or_, select

from crm_core import case_states as cs
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import BusinessCalendar, Case, Contract, Sla, SlaItem, SlaKpiInstance
from crm_core.security.privileges import Privilege
from crm_core.services.business_calendars import CUSTOMER_SERVICE
from crm_core.services.business_hours import DAY_MINUTES
from crm_core.services.records import RecordService
from crm_core.services.routing import check_conditions

MAX_MINUTES = 10 * 365 * DAY_MINUTES  # ten years around the clock
PAUSABLE = {2: "On Hold", 3: "Waiting for Details", 4: "Researching"}  # Active case status reasons but In Progress


class SlaService(RecordService[Sla]):
    """Organisation-wide SLAs that everyone reads and the roles with the sla privileges (admins) change."""

    entity_name = "sla"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def apply(self, record: Sla, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        items, is_default = values.pop("items", None), values.pop("is_default", None)
        with self.session.no_autoflush:
            super().apply(record, values, creating)
            checked = [self._check_item(i, data) for i, data in enumerate(items)] if items is not None else None
        if checked is not None:
            record.items.clear()
            for number, data in enumerate(checked, start=1):
                record.items.append(SlaItem(id=uuid.uuid4(), sla_id=record.id, sequence_number=number, **data))
        if is_default and not record.is_default:
            # The old default first, so that the one-default index never sees two.
            for other in self.session.scalars(select(Sla).where(Sla.is_default.is_(True), Sla.id != record.id)):
                other.is_default = False
            self.session.flush()
        if is_default is not None:
            record.is_default = is_default
        elif creating:
            record.is_default = False

    def validate(self, record: Sla, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "an SLA needs a name")
        if record.business_calendar_id is not None and (creating or "business_calendar_id" in values):
            self._check_calendar(record.business_calendar_id)
        if creating or "pause_statuscodes" in values:
            codes = record.pause_statuscodes if record.pause_statuscodes is not None else [2, 3]
            wrong = [c for c in codes if c not in PAUSABLE]
            if wrong:
                allowed = ", ".join(f"{k} {v}" for k, v in PAUSABLE.items())
                raise ValidationFailed.field("pause_statuscodes", f"{wrong} are not among {allowed}")
            record.pause_statuscodes = sorted(set(codes))
        if record.allow_pause is None:
            record.allow_pause = True

    def ensure_editable(self, record: Sla) -> None:
        if record.statecode == cs.RULE_ACTIVE:
            raise Conflict("this SLA is active and read-only; deactivate it first")

    def before_delete(self, record: Sla) -> None:
        self.ensure_editable(record)
        clocked = select(SlaKpiInstance.case_id).where(SlaKpiInstance.sla_id == record.id)
        cases = self.session.scalar(select(func.count()).select_from(Case).where(
            or_(Case.sla_id == record.id, Case.id.in_(clocked))))
        contracts = self.session.scalar(select(func.count()).select_from(Contract).where(Contract.sla_id == record.id))
        if cases or contracts:
            used = " and ".join(t for t in (f"{cases} cases" if cases else "",
                                            f"{contracts} contracts" if contracts else "") if t)
            raise Conflict(f"this SLA is used by {used}; deactivate it instead", cases=cases, contracts=contracts)

    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> Sla:
        """Activation checks that the SLA can run a clock: an item, and working time in its calendar."""
        record = self.get(record_id, Privilege.WRITE)
        new_state, _ = cs.SLA.resolve(statecode, statuscode)
        if new_state == cs.RULE_ACTIVE and record.statecode != cs.RULE_ACTIVE:
            if not record.items:
                raise ValidationFailed.field("items", "an SLA needs at least one item to be activated")
            if record.business_calendar_id is not None:
                self._check_calendar(record.business_calendar_id)
        return super().set_state(record_id, statecode, statuscode, action)

    # --- internals ---------------------------------------------------------------------------------
    def _check_calendar(self, calendar_id: uuid.UUID) -> None:
        calendar = self.session.get(BusinessCalendar, calendar_id)
        if calendar is None:
            raise ValidationFailed.field("business_calendar_id", f"no business calendar with id {calendar_id}")
        if calendar.kind != CUSTOMER_SERVICE:
            raise ValidationFailed.field("business_calendar_id", f"{calendar.name!r} is a holiday schedule; "
                                         "name a customer-service calendar")
        if not calendar.hours:
            raise ValidationFailed.field("business_calendar_id", f"{calendar.name!r} has no working hours")

    def _check_item(self, i: int, data: dict[str, Any]) -> dict[str, Any]:
        prefix = f"items[{i}]"
        name = (data.get("name") or "").strip()
        if not name:
            raise ValidationFailed.field(f"{prefix}.name", "an item needs a name")
        if data.get("kpi") not in ("first_response", "resolve"):
            raise ValidationFailed.field(f"{prefix}.kpi", "first_response or resolve")
        conditions = data.get("conditions")
        conditions = check_conditions({"all": []} if conditions is None else conditions,
                                      f"{prefix}.conditions", self.session)
        warn, failure = int(data["warn_after_minutes"]), int(data["failure_after_minutes"])  # bounded by the schema
        if failure < 1:
            raise ValidationFailed.field(f"{prefix}.failure_after_minutes", "at least 1 minute")
        if warn > failure:
            raise ValidationFailed.field(f"{prefix}.warn_after_minutes", "not after failure_after_minutes")
        return {"name": name, "kpi": data["kpi"], "conditions": conditions, "warn_after_minutes": warn,
                "failure_after_minutes": failure}
