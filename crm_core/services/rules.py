"""Business rules (administrators and customizers: the `business_rule` privileges): the definition checked at
save (crm_core.automation.definitions), a new version at each change of it, activation, and the run history.

A rule runs as its owner, so its owner is a user (a team cannot be the principal of a run)."""

import uuid
from collections.abc import Collection
from typing import Any, ClassVar

from sqlalchemy import select

from crm_core.automation import definitions
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import BusinessRule, BusinessRuleRun, BusinessRuleVersion
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.records import OwnerRef, RecordService

DEFINITION = ("name", "description", "entity", "trigger", "conditions", "actions")


class RuleService(RecordService[BusinessRule]):
    entity_name = "business_rule"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def __init__(self, uow: UnitOfWork, principal: Principal, watchable: Collection[str]) -> None:
        super().__init__(uow, principal)
        self.watchable = watchable  # the entities whose records a rule may read and change (their services)

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> BusinessRule:
        self._user_only(owner)
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = BusinessRule(id=uuid.uuid4(), version=1, is_active=False)
        self._set_owner(record, owner or OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        self.apply(record, values, creating=True)
        self.session.add(record)
        self.session.flush()
        self._save_version(record)
        self.uow.commit()
        return record

    def update(self, record_id: uuid.UUID, values: dict[str, Any]) -> BusinessRule:
        record = self.get(record_id, Privilege.WRITE)
        before = _definition(record)
        self.apply(record, values, creating=False)
        if _definition(record) != before:
            record.version += 1
            self._save_version(record)
        self.session.flush()
        self.uow.commit()
        return record

    def assign(self, record_id: uuid.UUID, owner: OwnerRef) -> BusinessRule:
        self._user_only(owner)
        return super().assign(record_id, owner)

    def validate(self, record: BusinessRule, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a rule needs a name")
        spec = entity(record.entity or "")
        if spec.name in definitions.NOT_WATCHED or spec.name not in self.watchable:
            raise ValidationFailed.field("entity", f"rules cannot watch {spec.name} records")
        checked = definitions.check(self.session, spec, record.trigger, record.conditions, record.actions)
        record.trigger, record.conditions, record.actions = checked.trigger, checked.conditions, checked.actions

    def set_active(self, record_id: uuid.UUID, active: bool) -> BusinessRule:
        record = self.get(record_id, Privilege.WRITE)
        if record.is_active == active:
            raise Conflict(f"this rule is already {'active' if active else 'inactive'}")
        self.uow.set_action("activate" if active else "deactivate")
        record.is_active = active
        if active:  # time-driven triggers count from now: no firing for every date already past
            record.activated_on = utcnow()
        self.session.flush()
        self.uow.commit()
        return record

    def versions(self, record_id: uuid.UUID) -> list[BusinessRuleVersion]:
        self.get(record_id)
        return list(
            self.session.scalars(
                select(BusinessRuleVersion)
                .where(BusinessRuleVersion.rule_id == record_id)
                .order_by(BusinessRuleVersion.version.desc())
            )
        )

    def runs(
        self, record_id: uuid.UUID, outcome: str | None, record: uuid.UUID | None, limit: int
    ) -> list[BusinessRuleRun]:
        """The rule's runs, newest first."""
        self.get(record_id)
        stmt = select(BusinessRuleRun).where(BusinessRuleRun.rule_id == record_id)
        if outcome is not None:
            stmt = stmt.where(BusinessRuleRun.outcome == outcome)
        if record is not None:
            stmt = stmt.where(BusinessRuleRun.record_id == record)
        stmt = stmt.order_by(BusinessRuleRun.started_on.desc(), BusinessRuleRun.id).limit(limit)
        return list(self.session.scalars(stmt))

    def _save_version(self, record: BusinessRule) -> None:
        self.session.add(
            BusinessRuleVersion(
                id=uuid.uuid4(),
                rule_id=record.id,
                version=record.version,
                definition=_definition(record),
                saved_on=utcnow(),
                saved_by_id=self.principal.user_id,
            )
        )

    @staticmethod
    def _user_only(owner: OwnerRef | None) -> None:
        if owner is not None and owner.type != "user":
            raise ValidationFailed.field("owner_type", "a rule runs as a user: its owner is a user")


def _definition(record: BusinessRule) -> dict[str, Any]:
    return {name: getattr(record, name) for name in DEFINITION}
