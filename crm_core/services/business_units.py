"""Business units: the organisation tree (exactly one root, no cycles), disabling and enabling, and deleting
only an empty unit.

Also the ownership chores that users and teams share with units: whether a unit is within the caller's
reach for a privilege, moving what a user or team owns to its new owning business unit (Dynamics cascades
it when the owner changes unit), and counting what a unit or team still owns."""

import uuid
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_core.db import column_limits
from crm_core.entities import EntitySpec, all_entities
from crm_core.errors import Conflict, Forbidden, ValidationFailed
from crm_core.models import BusinessUnit, Team, User
from crm_core.security import access
from crm_core.security.principal import Principal, unit_tree
from crm_core.security.privileges import Privilege
from crm_core.services.organisation import root_unit
from crm_core.services.records import OwnerRef, RecordService

_BATCH = 500


def owned_entities() -> list[EntitySpec]:
    """Every registered entity whose records a user or team owns (accounts, contacts, leads, activities...)."""
    return [spec for spec in all_entities() if spec.ownership == "user"]


def require_unit_in_reach(principal: Principal, entity_name: str, privilege: Privilege, unit_id: uuid.UUID,
                          field: str) -> None:
    """403 unless the caller's `privilege` on `entity_name` is deep enough to reach `unit_id`."""
    depth = principal.require(entity_name, privilege)
    if not access.owner_in_reach(principal, depth, None, None, unit_id):
        raise Forbidden(f"{field}: your {privilege.value} privilege on {entity_name} does not reach that "
                        "business unit", field=field)


def existing_unit(session: Session, unit_id: uuid.UUID, field: str) -> BusinessUnit:
    unit = session.get(BusinessUnit, unit_id)
    if unit is None:
        raise ValidationFailed.field(field, f"no business unit with id {unit_id}")
    return unit


def move_owned_records(session: Session, owner_column: str, owner_id: uuid.UUID, unit_id: uuid.UUID) -> int:
    """Gives every record owned by this user or team (`owner_column` owning_user_id / owning_team_id) the
    owning business unit `unit_id`, in the caller's transaction.

    Through the ORM, so that each record's change is audited like any other write, in batches flushed one
    by one: flushed rows are clean, and the session lets go of them, so a big owner does not fill memory."""
    moved = 0
    for spec in owned_entities():
        model = spec.model
        ids = list(session.scalars(select(model.id).where(getattr(model, owner_column) == owner_id,
                                                          model.owning_business_unit_id != unit_id)))
        for start in range(0, len(ids), _BATCH):
            for row in session.scalars(select(model).where(model.id.in_(ids[start:start + _BATCH]))):
                row.owning_business_unit_id = unit_id
            session.flush()
        moved += len(ids)
    return moved


def owned_record_counts(session: Session, column: str, value: uuid.UUID) -> dict[str, int]:
    """{collection: count} of the user-owned records whose `column` is `value`, leaving out the zeros."""
    counts = {}
    for spec in owned_entities():
        n = session.scalar(select(func.count()).select_from(spec.model).where(getattr(spec.model, column) == value))
        if n:
            counts[spec.collection] = n
    return counts


def describe_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('-', ' ')} ({n})" for name, n in counts.items())


class BusinessUnitService(RecordService[BusinessUnit]):
    entity_name = "business_unit"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> BusinessUnit:
        column_limits.check_values(BusinessUnit, values)
        parent_id = values.get("parent_id")
        if parent_id is None:
            root = root_unit(self.session)
            if root is None:
                raise Conflict("the organisation has no root unit yet; run `crm db upgrade`")
            parent_id = root.id
        existing_unit(self.session, parent_id, "parent_id")
        require_unit_in_reach(self.principal, self.entity_name, Privilege.CREATE, parent_id, "parent_id")
        unit = BusinessUnit(id=uuid.uuid4(), name="", parent_id=parent_id, is_disabled=False)
        self._set_name(unit, values.get("name"))
        self.session.add(unit)
        self.session.flush()
        self.uow.commit()
        return unit

    def apply(self, record: BusinessUnit, values: dict[str, Any], creating: bool) -> None:
        column_limits.check_values(BusinessUnit, values)
        if "name" in values:
            self._set_name(record, values["name"])
        if "parent_id" in values and values["parent_id"] != record.parent_id:
            self._reparent(record, values["parent_id"])

    def set_disabled(self, unit_id: uuid.UUID, disabled: bool) -> BusinessUnit:
        unit = self.get(unit_id, Privilege.WRITE)
        if unit.is_disabled == disabled:
            raise Conflict(f"business unit {unit.name!r} is already {'disabled' if disabled else 'enabled'}")
        if disabled:
            if unit.parent_id is None:
                raise Conflict("the root business unit is the organisation itself and cannot be disabled")
            if unit.id in self._caller_unit_and_above():
                raise Conflict(f"disabling {unit.name!r} would lock you out: your own business unit is "
                               "in it or below it")
        self.uow.set_action("disable" if disabled else "enable")
        unit.is_disabled = disabled
        self.session.flush()
        self.uow.commit()
        return unit

    def before_delete(self, record: BusinessUnit) -> None:
        if record.parent_id is None:
            raise Conflict("the root business unit is the organisation itself and cannot be deleted")
        remaining = {
            "child business units": self._count(BusinessUnit, BusinessUnit.parent_id == record.id),
            "users": self._count(User, User.business_unit_id == record.id),
            "teams": self._count(Team, Team.business_unit_id == record.id),
        }
        remaining = {k: n for k, n in remaining.items() if n}
        remaining.update(owned_record_counts(self.session, "owning_business_unit_id", record.id))
        if remaining:
            raise Conflict(f"business unit {record.name!r} still holds {describe_counts(remaining)}; "
                           "move or delete them first", remaining=remaining)

    # --- internals ---------------------------------------------------------------------------------
    def _count(self, model: type[Any], condition: Any) -> int:
        return self.session.scalar(select(func.count()).select_from(model).where(condition)) or 0

    def _set_name(self, unit: BusinessUnit, name: str | None) -> None:
        name = (name or "").strip()
        if not name:
            raise ValidationFailed.field("name", "a business unit needs a name")
        if name == unit.name:
            return
        if self.session.scalar(select(BusinessUnit.id).where(BusinessUnit.name == name)) is not None:
            raise Conflict(f"a business unit named {name!r} exists already", field="name")
        unit.name = name

    def _reparent(self, unit: BusinessUnit, parent_id: uuid.UUID | None) -> None:
        if unit.parent_id is None:
            raise ValidationFailed.field("parent_id", "the root business unit (the organisation) has no parent")
        if parent_id is None:
            raise ValidationFailed.field("parent_id", "only the root business unit has no parent; "
                                         "name the unit this one belongs under")
        existing_unit(self.session, parent_id, "parent_id")
        tree = unit_tree(self.session)
        ancestor: uuid.UUID | None = parent_id
        while ancestor is not None:
            if ancestor == unit.id:
                raise ValidationFailed.field("parent_id", "a business unit cannot be moved under itself or "
                                             "one of its own child units")
            ancestor = tree.get(ancestor, (None, False))[0]
        require_unit_in_reach(self.principal, self.entity_name, Privilege.WRITE, parent_id, "parent_id")
        unit.parent_id = parent_id

    def _caller_unit_and_above(self) -> set[uuid.UUID]:
        tree = unit_tree(self.session)
        found: set[uuid.UUID] = set()
        current: uuid.UUID | None = self.principal.business_unit_id
        while current is not None and current in tree and current not in found:
            found.add(current)
            current = tree[current][0]
        return found
