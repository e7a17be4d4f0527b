"""Users and their tokens, as the CLI and bootstrap need them (the admin API builds on the same functions)."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.email_addresses import normalize_field
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import ApiToken, BusinessUnit, SecurityRole, User
from crm_core.security import tokens
from crm_core.services.organisation import root_unit


def find_unit(session: Session, name: str | None) -> BusinessUnit:
    """A business unit by name; None means the root (the organisation)."""
    unit = root_unit(session) if name is None else session.execute(
        select(BusinessUnit).where(BusinessUnit.name == name)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"no business unit named {name!r}" if name else "the organisation has no root unit yet")
    return unit


def find_roles(session: Session, names: list[str]) -> list[SecurityRole]:
    roles = list(session.scalars(select(SecurityRole).where(SecurityRole.name.in_(names))))
    missing = set(names) - {r.name for r in roles}
    if missing:
        known = ", ".join(session.scalars(select(SecurityRole.name).order_by(SecurityRole.name)))
        raise ValidationFailed.field("roles", f"unknown roles {sorted(missing)}; known: {known}")
    return roles


def find_user(session: Session, email: str) -> User:
    address = normalize_field("email", email)
    user = session.execute(select(User).where(User.email == address)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user with email {address}")
    return user


def free_email(session: Session, email: str | None, user_id: uuid.UUID | None = None) -> str:
    """The normalised sign-in address, which no other user may have (409 if one does)."""
    address = normalize_field("email", email)
    if address is None:
        raise ValidationFailed.field("email", "a user needs a sign-in email address")
    taken = session.scalar(select(User.id).where(User.email == address))
    if taken is not None and taken != user_id:
        raise Conflict(f"a user with email {address} exists already", field="email")
    return address


def create_user(session: Session, email: str, full_name: str, business_unit_id: uuid.UUID,
                roles: list[SecurityRole]) -> User:
    address = free_email(session, email)
    if not full_name.strip():
        raise ValidationFailed.field("full_name", "a user needs a name")
    user = User(id=uuid.uuid4(), email=address, full_name=full_name.strip(), business_unit_id=business_unit_id)
    user.roles = roles
    session.add(user)
    session.flush()
    return user


def create_token(session: Session, user: User, name: str, days: int) -> tuple[ApiToken, str]:
    if user.is_disabled:
        raise Conflict(f"user {user.email} is disabled")
    return tokens.issue(session, user.id, name, days)
