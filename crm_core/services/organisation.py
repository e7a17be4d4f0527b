"""The organisation itself: its root business unit and default roles, made once and kept up to date."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.models import BusinessUnit, RolePrivilege, SecurityRole
from crm_core.security import epoch
from crm_core.security.default_roles import DEFAULT_ROLES
from crm_core.services.activity_types import seed_builtin_types


def root_unit(session: Session) -> BusinessUnit | None:
    return session.execute(select(BusinessUnit).where(BusinessUnit.parent_id.is_(None))).scalar_one_or_none()


def ensure_organisation(session: Session, name: str = "Organisation") -> BusinessUnit:
    """Creates the root unit, default roles and built-in activity types if missing; adds privileges that newer
    code defines to the default roles (never removes what an admin set). Idempotent; the caller commits."""
    root = root_unit(session)
    if root is None:
        root = BusinessUnit(id=uuid.uuid4(), name=name)
        session.add(root)
    roles = {r.name: r for r in session.scalars(select(SecurityRole))}
    for role_name, (description, privileges) in DEFAULT_ROLES.items():
        role = roles.get(role_name)
        if role is None:
            role = SecurityRole(id=uuid.uuid4(), name=role_name, description=description)
            session.add(role)
        have = {(p.entity, p.privilege) for p in role.privileges}
        for (entity, privilege), depth in privileges.items():
            if (entity, privilege) not in have:
                role.privileges.append(RolePrivilege(entity=entity, privilege=privilege, depth=int(depth)))
    seed_builtin_types(session)
    epoch.ensure(session)
    session.flush()
    return root
