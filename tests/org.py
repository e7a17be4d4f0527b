"""Builds an organisation for a test: business units, users with roles and tokens, teams."""

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import BusinessUnit, Team
from crm_core.services import directory
from crm_core.services.organisation import ensure_organisation


@dataclass
class TestUser:
    __test__ = False
    id: uuid.UUID
    email: str
    business_unit_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class OrgBuilder:
    __test__ = False

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        with UnitOfWork(factory) as uow:
            self.root_id = ensure_organisation(uow.session, "Test Org").id
            uow.commit()

    def unit(self, name: str, parent_id: uuid.UUID | None = None) -> uuid.UUID:
        with UnitOfWork(self.factory) as uow:
            unit = BusinessUnit(id=uuid.uuid4(), name=name, parent_id=parent_id or self.root_id)
            uow.session.add(unit)
            uow.commit()
            return unit.id

    def user(self, email: str, roles: list[str], unit_id: uuid.UUID | None = None) -> TestUser:
        with UnitOfWork(self.factory) as uow:
            role_rows = directory.find_roles(uow.session, roles)
            user = directory.create_user(uow.session, email, email.split("@")[0].title(),
                                         unit_id or self.root_id, role_rows)
            _, token = directory.create_token(uow.session, user, "test", 30)
            uow.commit()
            return TestUser(user.id, user.email, user.business_unit_id, token)

    def admin(self, email: str = "admin@example.com") -> TestUser:
        return self.user(email, ["System Administrator"])

    def team(self, name: str, unit_id: uuid.UUID, members: list[uuid.UUID], roles: list[str] = ()) -> uuid.UUID:
        from crm_core.models import User

        with UnitOfWork(self.factory) as uow:
            team = Team(id=uuid.uuid4(), name=name, business_unit_id=unit_id)
            uow.session.add(team)
            team.members = [uow.session.get(User, m) for m in members]
            team.roles = directory.find_roles(uow.session, list(roles)) if roles else []
            uow.commit()
            return team.id
