"""Named leases with an expiry (crm_core.models.Lease): at most one holder at a time across every worker on every
machine, through the database they share, and none held past its expiry by a holder that died.

Each call is one short statement in its own transaction: taking a lease is an INSERT, or an UPDATE of an expired
one (or one the same owner holds), whose row count says who won; the database's own atomicity decides a race,
on SQLite as on PostgreSQL."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.types import utcnow
from crm_core.models import Lease


@dataclass(frozen=True)
class Holder:
    owner: str
    expires_on: datetime


def acquire(factory: sessionmaker[Session], key: str, owner: str, seconds: float) -> bool:
    """Takes the lease for `seconds` if it is free, expired or already ours; whether we hold it now."""
    now = utcnow()
    expires = now + timedelta(seconds=seconds)
    with factory() as session:
        taken = session.execute(
            update(Lease).where(Lease.key == key, (Lease.expires_on < now) | (Lease.owner == owner))
            .values(owner=owner, expires_on=expires, taken_on=now)).rowcount
        if taken:
            session.commit()
            return True
        if session.get(Lease, key) is not None:
            session.rollback()
            return False
        session.add(Lease(key=key, owner=owner, expires_on=expires, taken_on=now))
        try:
            session.commit()
        except IntegrityError:  # another worker inserted it between our look and our insert
            session.rollback()
            return False
        return True


def renew(factory: sessionmaker[Session], key: str, owner: str, seconds: float) -> bool:
    """Extends our lease; False when it is not ours any more (it expired and another worker took it)."""
    with factory() as session:
        renewed = session.execute(update(Lease).where(Lease.key == key, Lease.owner == owner)
                                  .values(expires_on=utcnow() + timedelta(seconds=seconds))).rowcount
        session.commit()
        return bool(renewed)


def release(factory: sessionmaker[Session], key: str, owner: str) -> None:
    with factory() as session:
        session.execute(delete(Lease).where(Lease.key == key, Lease.owner == owner))
        session.commit()


def holder(session: Session, key: str) -> Holder | None:
    """Who holds the lease now (None: free, or expired)."""
    row = session.scalar(select(Lease).where(Lease.key == key, Lease.expires_on >= utcnow()))
    return None if row is None else Holder(row.owner, row.expires_on)
