"""The unit of work: one session, one transaction, committed explicitly by the domain service."""

import uuid
from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """`with uow:` opens a session acting for `actor_id`; leaving without `commit()` rolls back."""

    def __init__(self, session_factory: sessionmaker[Session], actor_id: uuid.UUID | None = None) -> None:
        self._factory = session_factory
        self.actor_id = actor_id
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its `with` block")
        return self._session

    def __enter__(self) -> "UnitOfWork":
        self._session = self._factory()
        self._session.info["actor_id"] = self.actor_id
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self.session
        try:
            session.rollback()
        finally:
            session.close()
            self._session = None

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def set_action(self, action: str) -> None:
        """Names the business action (qualify, assign, ...) that the audit rows of this flush record."""
        self.session.info["audit_action"] = action


class SharedWork(UnitOfWork):
    """An outer unit of work lent to the services one operation calls (qualify a lead, distribute a campaign
    activity): their commit only flushes, so that the whole operation commits, or rolls back, as one."""

    def __init__(self, outer: UnitOfWork) -> None:  # no session of its own: the outer one's
        self._outer = outer
        self.actor_id = outer.actor_id

    @property
    def session(self) -> Any:
        return self._outer.session

    def commit(self) -> None:
        self.session.flush()

    def rollback(self) -> None:
        raise RuntimeError("the outer unit of work decides")

    def set_action(self, action: str) -> None:
        self._outer.set_action(action)
