"""The generic record service: list, read, create, update, delete, set state, assign and share, each with
its access check, for any user-owned entity. Entity services subclass it and add their rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm_core.db import column_limits
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import EntitySpec, entity
from crm_core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from crm_core.models import RecordShare, Team, User
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege, mask_privileges, share_mask
from crm_core.services import activity_links, dependents, listing

M = TypeVar("M")


@dataclass(frozen=True)
class OwnerRef:
    type: str  # "user" or "team"
    id: uuid.UUID


class RecordService(Generic[M]):
    entity_name: ClassVar[str]
    # Lookup columns and the entity they point at: setting one needs Append here and AppendTo there.
    links: ClassVar[dict[str, str]] = {}
    sortable: ClassVar[set[str]] = {"created_on", "modified_on"}

    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal

    @property
    def spec(self) -> EntitySpec:
        return entity(self.entity_name)

    @property
    def session(self) -> Session:
        return self.uow.session

    @property
    def model(self) -> type[M]:
        return self.spec.model  # type: ignore[no-any-return]

    # --- reads -------------------------------------------------------------------------------------
    def list(self, query: listing.ListQuery) -> listing.Page[M]:
        stmt = select(self.model).where(access.scope(self.principal, self.spec, Privilege.READ))
        rows = list(self.session.scalars(listing.apply(stmt, self.model, query, self.sortable)))
        return listing.page(rows, query)

    def get(self, record_id: uuid.UUID, privilege: Privilege = Privilege.READ) -> M:
        record = self.session.get(self.model, record_id)
        if record is None or not access.reaches(self.session, self.principal, self.spec, Privilege.READ, record):
            raise NotFound(f"no {self.entity_name} with id {record_id}")
        if privilege is not Privilege.READ:
            access.require(self.session, self.principal, self.spec, privilege, record)
        return record

    # --- writes ------------------------------------------------------------------------------------
    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> M:
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = self.model(id=uuid.uuid4())
        self._set_owner(record, owner or OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        if self.spec.states is not None:
            record.statecode, record.statuscode = self.spec.states.resolve(0, None)  # type: ignore[attr-defined]
        self.apply(record, values, creating=True)
        self.session.add(record)
        self.session.flush()
        self.uow.commit()
        return record

    def update(self, record_id: uuid.UUID, values: dict[str, Any]) -> M:
        record = self.get(record_id, Privilege.WRITE)
        self.ensure_editable(record)
        self.apply(record, values, creating=False)
        self.session.flush()
        self.uow.commit()
        return record

    def delete(self, record_id: uuid.UUID) -> None:
        record = self.get(record_id, Privilege.DELETE)
        self.before_delete(record)
        dependents.refuse_if_used(self.session, record, self.entity_name.replace("_", " "))
        if self.spec.activity_enabled:
            activity_links.on_record_deleted(self.session, self.entity_name, record_id)
        self.session.execute(
            delete(RecordShare).where(RecordShare.entity == self.entity_name, RecordShare.record_id == record_id)
        )
        self.session.delete(record)
        self.session.flush()
        self.uow.commit()

    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> M:
        states = self.spec.states
        if states is None:
            raise ValidationFailed.field("statecode", f"{self.entity_name} has no states")
        record = self.get(record_id, Privilege.WRITE)
        current = record.statecode  # type: ignore[attr-defined]
        new_state, new_status = states.resolve(statecode, statuscode)
        if new_state == current and new_status == record.statuscode:  # type: ignore[attr-defined]
            raise Conflict(f"this {self.entity_name} is already {states.label(new_state, new_status)[1]}")
        states.check_transition(current, new_state)
        self.uow.set_action(action)
        record.statecode, record.statuscode = new_state, new_status  # type: ignore[attr-defined]
        self.session.flush()
        self.uow.commit()
        return record

    def assign(self, record_id: uuid.UUID, owner: OwnerRef) -> M:
        record = self.get(record_id, Privilege.ASSIGN)
        self.uow.set_action("assign")
        self._set_owner(record, owner, Privilege.ASSIGN)
        self.session.flush()
        self.uow.commit()
        return record

    def share(self, record_id: uuid.UUID, principal_type: str, principal_id: uuid.UUID,
              rights: list[Privilege]) -> list[Privilege]:
        """Grants exactly `rights` on the record to a user or team (none revokes). Returns what is granted."""
        record = self.get(record_id, Privilege.SHARE)
        for right in rights:  # one can share only what one has
            access.require(self.session, self.principal, self.spec, right, record)
        self._principal_exists(principal_type, principal_id)
        existing = self.session.execute(select(RecordShare).where(
            RecordShare.entity == self.entity_name, RecordShare.record_id == record_id,
            RecordShare.principal_type == principal_type, RecordShare.principal_id == principal_id,
        )).scalar_one_or_none()
        self.uow.set_action("share")
        if not rights:
            if existing is not None:
                self.session.delete(existing)
        elif existing is None:
            self.session.add(RecordShare(entity=self.entity_name, record_id=record_id,
                                         principal_type=principal_type, principal_id=principal_id,
                                         access_mask=share_mask(rights)))
        else:
            existing.access_mask = share_mask(rights)
        self.session.flush()
        self.uow.commit()
        return mask_privileges(share_mask(rights))

    # --- hooks for entity services -----------------------------------------------------------------
    def apply(self, record: M, values: dict[str, Any], creating: bool) -> None:
        """Sets the values, checks every lookup that changed, then the entity's own rules."""
        column_limits.check_values(type(record), values)
        for key, value in values.items():
            if key in self.links and value is not None and value != getattr(record, key, None):
                self.check_link(self.links[key], value, key)
            setattr(record, key, value)
        self.validate(record, values, creating)

    def validate(self, record: M, values: dict[str, Any], creating: bool) -> None:
        """Entity rules; raise ValidationFailed naming the field."""

    def before_delete(self, record: M) -> None:
        """Entity rules that may refuse a delete."""

    def ensure_editable(self, record: M) -> None:
        states = self.spec.states
        if states is not None and record.statecode in states.closed:  # type: ignore[attr-defined]
            name = states.state(record.statecode).name  # type: ignore[attr-defined]
            raise Conflict(f"this {self.entity_name} is {name} and read-only; reactivate it first")

    def check_link(self, target_entity: str, target_id: uuid.UUID, field: str) -> Any:
        """A lookup to another record: it must exist, be readable, and take an Append To from us."""
        self.principal.require(self.entity_name, Privilege.APPEND)
        spec = entity(target_entity)
        target = self.session.get(spec.model, target_id)
        if target is None or not access.reaches(self.session, self.principal, spec, Privilege.READ, target):
            raise ValidationFailed.field(field, f"no {target_entity} with id {target_id}")
        if not access.reaches(self.session, self.principal, spec, Privilege.APPEND_TO, target):
            raise Forbidden(f"{field}: your roles do not let you link records to this {target_entity}")
        return target

    # --- internals ---------------------------------------------------------------------------------
    def _set_owner(self, record: Any, owner: OwnerRef, privilege: Privilege) -> None:
        unit = self._principal_exists(owner.type, owner.id)
        is_self = owner.type == "user" and owner.id == self.principal.user_id
        if not (is_self and privilege is Privilege.CREATE):
            depth = self.principal.require(self.entity_name, Privilege.ASSIGN)
            user_id = owner.id if owner.type == "user" else None
            team_id = owner.id if owner.type == "team" else None
            if not access.owner_in_reach(self.principal, depth, user_id, team_id, unit):
                raise Forbidden(f"your roles do not let you give a {self.entity_name} to that {owner.type}")
        record.owning_user_id = owner.id if owner.type == "user" else None
        record.owning_team_id = owner.id if owner.type == "team" else None
        record.owning_business_unit_id = unit

    def _principal_exists(self, principal_type: str, principal_id: uuid.UUID) -> uuid.UUID:
        """The business unit of a user or team, which must exist (and a user be enabled)."""
        if principal_type == "user":
            user = self.session.get(User, principal_id)
            if user is None or user.is_disabled:
                raise ValidationFailed.field("owner_id", f"no enabled user with id {principal_id}")
            return user.business_unit_id
        if principal_type == "team":
            team = self.session.get(Team, principal_id)
            if team is None:
                raise ValidationFailed.field("owner_id", f"no team with id {principal_id}")
            return team.business_unit_id
        raise ValidationFailed.field("owner_type", "must be 'user' or 'team'")
