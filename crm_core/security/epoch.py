"""The security epoch: bumped by any flush that changes users, teams, units, roles or tokens.

A hook on the session factory, like the audit, so that no service can forget it. Readers take the epoch first
and then load the caller; a cache entry made under an older epoch is never served (crm_core.api.auth)."""

from itertools import chain
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from crm_core.models import ApiToken, BusinessUnit, RolePrivilege, SecurityEpoch, SecurityRole, Team, User

_WATCHED = (User, Team, BusinessUnit, SecurityRole, RolePrivilege, ApiToken)
ROW = 1


def install(factory: sessionmaker[Session]) -> None:
    from sqlalchemy import event

    event.listen(factory, "before_flush", _bump)


def _bump(session: Session, _ctx: Any, _instances: Any) -> None:
    if any(isinstance(o, _WATCHED) for o in chain(session.new, session.dirty, session.deleted)):
        session.execute(update(SecurityEpoch).where(SecurityEpoch.id == ROW).values(value=SecurityEpoch.value + 1))


def current(session: Session) -> int | None:
    """The epoch, or None where the organisation has none yet (then nothing may be cached)."""
    return session.scalar(select(SecurityEpoch.value).where(SecurityEpoch.id == ROW))


def ensure(session: Session) -> None:
    if session.get(SecurityEpoch, ROW) is None:
        session.add(SecurityEpoch(id=ROW, value=0))
