"""Teams: owner teams own records and hold security roles (their members gain them); access teams only
receive shares. Members and roles are set as whole lists; a team that still owns records is not deleted."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from crm_core.db import column_limits
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import RecordShare, Team, User
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services import listing
from crm_core.services.business_units import (
    describe_counts,
    existing_unit,
    move_owned_records,
    owned_record_counts,
    require_unit_in_reach,
)
from crm_core.services.organisation import root_unit
from crm_core.services.records import OwnerRef, RecordService
from crm_core.services.security_roles import require_roles_grantable, roles_by_id

TEAM_TYPES = ("owner", "access")


class TeamService(RecordService[Team]):
    entity_name = "team"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def list(self, query: listing.ListQuery) -> listing.Page[Team]:
        stmt = (select(Team).where(access.scope(self.principal, self.spec, Privilege.READ))
                .options(selectinload(Team.members)))
        rows = list(self.session.scalars(listing.apply(stmt, Team, query, self.sortable)))
        return listing.page(rows, query)

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> Team:
        column_limits.check_values(Team, values)
        unit_id = values.get("business_unit_id")
        if unit_id is None:
            # Dynamics puts a new team in its creator's business unit.
            unit_id = None if self.principal.is_system else self.principal.business_unit_id
            if unit_id is None:
                root = root_unit(self.session)
                unit_id = root.id if root is not None else None
            if unit_id is None:
                raise ValidationFailed.field("business_unit_id", "name the team's business unit")
        existing_unit(self.session, unit_id, "business_unit_id")
        require_unit_in_reach(self.principal, self.entity_name, Privilege.CREATE, unit_id, "business_unit_id")
        team_type = values.get("team_type") or "owner"
        if team_type not in TEAM_TYPES:
            raise ValidationFailed.field("team_type", "must be 'owner' or 'access'")
        team = Team(id=uuid.uuid4(), name="", business_unit_id=unit_id, team_type=team_type)
        self._set_name(team, values.get("name"), unit_id)
        self.session.add(team)
        self.session.flush()
        self.uow.commit()
        return team

    def apply(self, record: Team, values: dict[str, Any], creating: bool) -> None:
        column_limits.check_values(Team, values)
        unit_id = values.get("business_unit_id")
        if "business_unit_id" in values and unit_id is None:
            raise ValidationFailed.field("business_unit_id", "a team always belongs to a business unit")
        target_unit = unit_id or record.business_unit_id
        if "name" in values or target_unit != record.business_unit_id:
            self._set_name(record, values.get("name", record.name), target_unit)
        if target_unit != record.business_unit_id:
            existing_unit(self.session, target_unit, "business_unit_id")
            require_unit_in_reach(self.principal, self.entity_name, Privilege.WRITE, target_unit,
                                  "business_unit_id")
            self.uow.set_action("change_business_unit")
            record.business_unit_id = target_unit
            # The team's records follow it, as a moved user's do.
            move_owned_records(self.session, "owning_team_id", record.id, target_unit)

    def set_members(self, team_id: uuid.UUID, user_ids: list[uuid.UUID]) -> Team:
        team = self.get(team_id, Privilege.WRITE)
        found = {u.id: u for u in self.session.scalars(select(User).where(User.id.in_(user_ids)))}
        members: list[User] = []
        for i, user_id in enumerate(user_ids):
            user = found.get(user_id)
            if user is None:
                raise ValidationFailed.field(f"user_ids[{i}]", f"no user with id {user_id}")
            if user not in members:
                members.append(user)
        if team.team_type == "owner" and {m.id for m in members} != {m.id for m in team.members}:
            # Joining or leaving an owner team gives or takes its roles: the caller must hold what they give.
            require_roles_grantable(self.principal, team.roles, "changing the members of this team")
        self.uow.set_action("set_members")
        team.members = members
        self.session.flush()
        self.uow.commit()
        return team

    def set_roles(self, team_id: uuid.UUID, role_ids: list[uuid.UUID]) -> Team:
        team = self.get(team_id, Privilege.WRITE)
        if team.team_type != "owner":
            raise ValidationFailed.field("role_ids", "an access team cannot hold security roles; "
                                         "only owner teams do")
        roles = roles_by_id(self.session, role_ids)
        wanted, current = {r.id for r in roles}, {r.id for r in team.roles}
        changed = [r for r in roles if r.id not in current] + [r for r in team.roles if r.id not in wanted]
        require_roles_grantable(self.principal, changed, "this change")
        self.uow.set_action("set_roles")
        team.roles = roles
        self.session.flush()
        self.uow.commit()
        return team

    def before_delete(self, record: Team) -> None:
        owned = owned_record_counts(self.session, "owning_team_id", record.id)
        if owned:
            raise Conflict(f"team {record.name!r} still owns {describe_counts(owned)}; assign them to another "
                           "owner first", remaining=owned)
        # What was shared with the team goes with it.
        self.session.execute(delete(RecordShare).where(RecordShare.principal_type == "team",
                                                       RecordShare.principal_id == record.id))

    def _set_name(self, team: Team, name: str | None, unit_id: uuid.UUID) -> None:
        name = (name or "").strip()
        if not name:
            raise ValidationFailed.field("name", "a team needs a name")
        taken = self.session.scalar(select(Team.id).where(Team.business_unit_id == unit_id, Team.name == name))
        if taken is not None and taken != team.id:
            raise Conflict(f"the business unit has a team named {name!r} already", field="name")
        team.name = name
