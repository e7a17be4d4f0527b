"""Who is calling: a user with the union of his roles' and his teams' privileges, and his place in the tree."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from crm_core.errors import Forbidden, NotAuthenticated
from crm_core.models import BusinessUnit, RolePrivilege, SecurityRole, Team, User
from crm_core.models.security import team_members, team_roles, user_roles
from crm_core.security.privileges import Depth, Privilege

SYSTEM_USER_ID = uuid.UUID(int=0)


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    business_unit_id: uuid.UUID
    team_ids: frozenset[uuid.UUID]
    privileges: Mapping[tuple[str, str], Depth]
    # The caller's business unit and every unit below it.
    unit_and_below: frozenset[uuid.UUID]
    is_system: bool = False
    role_names: tuple[str, ...] = field(default=())

    @classmethod
    def system(cls) -> "Principal":
        """The organisation acting for itself (bootstrap, demo data, sync jobs): organisation depth on all."""
        return cls(SYSTEM_USER_ID, SYSTEM_USER_ID, frozenset(), {}, frozenset(), is_system=True)

    @property
    def actor_id(self) -> uuid.UUID | None:
        return None if self.is_system else self.user_id

    @property
    def principal_ids(self) -> list[uuid.UUID]:
        return [self.user_id, *self.team_ids]

    def depth(self, entity: str, privilege: Privilege) -> Depth:
        if self.is_system:
            return Depth.ORGANIZATION
        return self.privileges.get((entity, privilege.value), Depth.NONE)

    def require(self, entity: str, privilege: Privilege) -> Depth:
        depth = self.depth(entity, privilege)
        if depth == Depth.NONE:
            raise Forbidden(
                f"your security roles give no {privilege.value} privilege on {entity}",
                entity=entity, privilege=privilege.value,
            )
        return depth


def load_principal(session: Session, user_id: uuid.UUID) -> Principal:
    """The caller's rights, in a few plain queries: no ORM objects, the privileges already reduced to the
    deepest depth per (entity, privilege) over his own roles and those of his owner teams."""
    user = session.execute(
        select(User.business_unit_id, User.is_disabled).where(User.id == user_id)
    ).one_or_none()
    if user is None or user.is_disabled:
        raise NotAuthenticated("the user of this token does not exist or is disabled")
    tree = unit_tree(session)
    if unit_disabled(tree, user.business_unit_id):
        # Dynamics: the users of a disabled business unit (or of a unit below a disabled one) cannot sign in.
        raise NotAuthenticated("the business unit of this user is disabled")
    team_ids = frozenset(session.scalars(select(team_members.c.team_id).where(team_members.c.user_id == user_id)))
    role_ids = union(
        select(user_roles.c.role_id).where(user_roles.c.user_id == user_id),
        select(team_roles.c.role_id)
        .join(Team, Team.id == team_roles.c.team_id)
        .where(team_roles.c.team_id.in_(team_ids), Team.team_type == "owner"),
    ).subquery()
    privileges = {
        (entity, privilege): Depth(depth)
        for entity, privilege, depth in session.execute(
            select(RolePrivilege.entity, RolePrivilege.privilege, func.max(RolePrivilege.depth))
            .where(RolePrivilege.role_id.in_(select(role_ids.c.role_id)))
            .group_by(RolePrivilege.entity, RolePrivilege.privilege)
        )
    }
    names = session.scalars(select(SecurityRole.name).where(SecurityRole.id.in_(select(role_ids.c.role_id))))
    return Principal(
        user_id=user_id,
        business_unit_id=user.business_unit_id,
        team_ids=team_ids,
        privileges=privileges,
        unit_and_below=frozenset(_below(tree, user.business_unit_id)),
        role_names=tuple(sorted(names)),
    )


# unit id -> (parent id, is_disabled), the whole tree in one query (a few hundred rows at most).
UnitTree = dict[uuid.UUID, tuple[uuid.UUID | None, bool]]


def unit_tree(session: Session) -> UnitTree:
    rows = session.execute(select(BusinessUnit.id, BusinessUnit.parent_id, BusinessUnit.is_disabled))
    return {unit_id: (parent_id, bool(disabled)) for unit_id, parent_id, disabled in rows}


def unit_disabled(tree: UnitTree, unit_id: uuid.UUID) -> bool:
    """Whether this unit or one of its ancestors is disabled."""
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = unit_id
    while current is not None and current not in seen and current in tree:
        seen.add(current)
        parent_id, disabled = tree[current]
        if disabled:
            return True
        current = parent_id
    return False


def units_below(session: Session, root: uuid.UUID) -> set[uuid.UUID]:
    """`root` and every business unit under it."""
    return _below(unit_tree(session), root)


def _below(tree: UnitTree, root: uuid.UUID) -> set[uuid.UUID]:
    children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    for unit_id, (parent_id, _disabled) in tree.items():
        children.setdefault(parent_id, []).append(unit_id)
    found, todo = set(), [root]
    while todo:
        unit = todo.pop()
        if unit not in found:
            found.add(unit)
            todo.extend(children.get(unit, []))
    return found
