"""Security roles: their privileges (entity, privilege, depth), validated against the registry, and the rules
that keep administration safe: nobody grants a privilege he does not hold himself (Dynamics' rule), nor takes
away a role he could not have given (so a lesser administrator cannot strip a System Administrator), and the
System Administrator role can be neither changed nor deleted, so the organisation never locks itself out.

The grant guard lives here because users, teams and roles all use it: giving or taking a role from a user or
an owner team, changing an owner team's members, and raising a role's privileges are all ways of granting."""

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_core.db import column_limits
from crm_core.entities import all_entities
from crm_core.errors import Conflict, Forbidden, ValidationFailed
from crm_core.models import RolePrivilege, SecurityRole
from crm_core.models.security import team_roles, user_roles
from crm_core.security.principal import Principal
from crm_core.security.privileges import Depth, Privilege
from crm_core.services.records import OwnerRef, RecordService

SYSTEM_ADMINISTRATOR = "System Administrator"

PrivilegeSet = dict[tuple[str, str], Depth]

# Dynamics' SDK names of the depths (Basic, Local, Deep, Global), accepted beside ours.
_DEPTH_ALIASES = {"basic": Depth.USER, "local": Depth.BUSINESS_UNIT, "deep": Depth.PARENT_CHILD,
                  "global": Depth.ORGANIZATION, "organisation": Depth.ORGANIZATION}


def depth_name(depth: Depth | int) -> str:
    return Depth(depth).name.lower()


def parse_depth(value: Any, field: str) -> Depth:
    """A depth by name (user, business_unit, parent_child, organization) or by number (1, 2, 4, 8)."""
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        text = str(value).strip().lower()
        depth = Depth(int(text)) if text.isdigit() else _DEPTH_ALIASES.get(text) or Depth.parse(text)
    except (KeyError, ValueError, TypeError):
        raise ValidationFailed.field(
            field, f"unknown depth {value!r}; one of user (1), business_unit (2), parent_child (4), organization (8)"
        ) from None
    if depth is Depth.NONE:
        raise ValidationFailed.field(field, "depth none grants nothing: leave the privilege out instead")
    return depth


def parse_privileges(items: Iterable[Mapping[str, Any]]) -> PrivilegeSet:
    """Checks each {"entity", "privilege", "depth"} against the entity registry and the Privilege enum."""
    specs = {spec.name: spec for spec in all_entities()}
    out: PrivilegeSet = {}
    for i, item in enumerate(items):
        at = f"privileges[{i}]"
        spec = specs.get(str(item.get("entity", "")).strip())
        if spec is None:
            raise ValidationFailed.field(
                f"{at}.entity", f"unknown entity {item.get('entity')!r}; one of {', '.join(sorted(specs))}")
        try:
            privilege = Privilege(str(item.get("privilege", "")).strip().lower())
        except ValueError:
            raise ValidationFailed.field(
                f"{at}.privilege",
                f"unknown privilege {item.get('privilege')!r}; one of {', '.join(p.value for p in Privilege)}",
            ) from None
        depth = parse_depth(item.get("depth"), f"{at}.depth")
        if spec.ownership == "org" and depth is not Depth.ORGANIZATION:
            raise ValidationFailed.field(
                f"{at}.depth", f"{spec.name} is organisation-wide: its privileges have organization depth only")
        key = (spec.name, privilege.value)
        if key in out:
            raise ValidationFailed.field(at, f"{privilege.value} on {spec.name} is listed twice")
        out[key] = depth
    return out


def privileges_of(role: SecurityRole) -> PrivilegeSet:
    return {(p.entity, p.privilege): Depth(p.depth) for p in role.privileges}


def require_grantable(principal: Principal, privileges: Mapping[tuple[str, str], Depth], how: str) -> None:
    """403 unless the caller holds every one of `privileges` at least as deep (you give only what you have)."""
    if principal.is_system:
        return
    for (entity_name, privilege), depth in sorted(privileges.items()):
        held = principal.privileges.get((entity_name, privilege), Depth.NONE)
        if held < depth:
            raise Forbidden(
                f"{how} involves {privilege} on {entity_name} at {depth_name(depth)} depth, but your own roles "
                f"give you {depth_name(held)}: you can give or take away only privileges you hold",
                entity=entity_name, privilege=privilege, depth=depth_name(depth),
            )


def require_roles_grantable(principal: Principal, roles: Iterable[SecurityRole], how: str) -> None:
    for role in roles:
        require_grantable(principal, privileges_of(role), f"{how} (role {role.name!r})")


def roles_by_id(session: Session, role_ids: list[uuid.UUID], field: str = "role_ids") -> list[SecurityRole]:
    """The roles named by id, in the given order, without repeats; 422 naming the unknown one."""
    found = {r.id: r for r in session.scalars(select(SecurityRole).where(SecurityRole.id.in_(role_ids)))}
    out: list[SecurityRole] = []
    for i, role_id in enumerate(role_ids):
        role = found.get(role_id)
        if role is None:
            raise ValidationFailed.field(f"{field}[{i}]", f"no security role with id {role_id}")
        if role not in out:
            out.append(role)
    return out


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class SecurityRoleService(RecordService[SecurityRole]):
    entity_name = "security_role"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> SecurityRole:
        self.principal.require(self.entity_name, Privilege.CREATE)
        role = SecurityRole(id=uuid.uuid4(), name="", privileges=[])
        self.apply(role, {"privileges": [], **values}, creating=True)
        self.session.add(role)
        self.session.flush()
        self.uow.commit()
        return role

    def apply(self, record: SecurityRole, values: dict[str, Any], creating: bool) -> None:
        column_limits.check_values(SecurityRole, values)
        if "name" in values:
            self._set_name(record, values["name"])
        if "description" in values:
            record.description = (values["description"] or "").strip() or None
        if values.get("privileges") is not None:
            self._set_privileges(record, parse_privileges(values["privileges"]))

    def ensure_editable(self, record: SecurityRole) -> None:
        if record.name == SYSTEM_ADMINISTRATOR:
            raise Conflict(f"the {SYSTEM_ADMINISTRATOR} role cannot be changed: it keeps the organisation "
                           "administrable; copy it into a new role instead")

    def before_delete(self, record: SecurityRole) -> None:
        if record.name == SYSTEM_ADMINISTRATOR:
            raise Conflict(f"the {SYSTEM_ADMINISTRATOR} role cannot be deleted")
        users = self.session.scalar(select(func.count()).select_from(user_roles)
                                    .where(user_roles.c.role_id == record.id)) or 0
        teams = self.session.scalar(select(func.count()).select_from(team_roles)
                                    .where(team_roles.c.role_id == record.id)) or 0
        if users or teams:
            raise Conflict(f"the role {record.name!r} is held by {_plural(users, 'user')} and "
                           f"{_plural(teams, 'team')}; "
                           "take it away from them first", users=users, teams=teams)

    def _set_name(self, role: SecurityRole, name: str | None) -> None:
        name = (name or "").strip()
        if not name:
            raise ValidationFailed.field("name", "a security role needs a name")
        if name == role.name:
            return
        taken = self.session.scalar(select(SecurityRole.id).where(SecurityRole.name == name))
        if taken is not None:
            raise Conflict(f"a security role named {name!r} exists already", field="name")
        role.name = name

    def _set_privileges(self, role: SecurityRole, wanted: PrivilegeSet) -> None:
        current = privileges_of(role)
        raised = {k: d for k, d in wanted.items() if d > current.get(k, Depth.NONE)}
        require_grantable(self.principal, raised, "this role")
        # Rows are changed in place (primary key role, entity, privilege): delete-then-insert of the same
        # key in one flush would collide.
        for row in list(role.privileges):
            depth = wanted.get((row.entity, row.privilege))
            if depth is None:
                role.privileges.remove(row)
            elif row.depth != int(depth):
                row.depth = int(depth)
        for (entity_name, privilege), depth in wanted.items():
            if (entity_name, privilege) not in current:
                role.privileges.append(RolePrivilege(entity=entity_name, privilege=privilege, depth=int(depth)))
