"""Business units, users, teams, security roles with privilege depths, API tokens and record shares."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, SmallInteger, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, RecordMixin

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)
user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("security_roles.id", ondelete="CASCADE"), primary_key=True),
)
team_roles = Table(
    "team_roles",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("security_roles.id", ondelete="CASCADE"), primary_key=True),
)


class BusinessUnit(RecordMixin, Base):
    """A node of the organisation tree; the root (no parent) is the organisation itself."""

    __tablename__ = "business_units"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160), unique=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("business_units.id"), index=True)
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class User(RecordMixin, Base):
    __tablename__ = "users"
    __audited__ = True

    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    business_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_units.id"), index=True)
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who he is in Microsoft Entra ID, for the Outlook add-in's sign-in: tenant id and object id (the `tid` and
    # `oid` claims), never his email, which a tenant admin can reassign to someone else.
    entra_tenant_id: Mapped[str | None] = mapped_column(String(36))
    entra_object_id: Mapped[str | None] = mapped_column(String(36))

    roles: Mapped[list["SecurityRole"]] = relationship(secondary=user_roles, lazy="selectin")
    teams: Mapped[list["Team"]] = relationship(secondary=team_members, back_populates="members")

    __table_args__ = (UniqueConstraint("entra_tenant_id", "entra_object_id"),)


class Team(RecordMixin, Base):
    """An owner team owns records and holds roles; an access team only receives shares."""

    __tablename__ = "teams"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160))
    business_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_units.id"), index=True)
    team_type: Mapped[str] = mapped_column(String(10), default="owner")

    members: Mapped[list[User]] = relationship(secondary=team_members, back_populates="teams")
    roles: Mapped[list["SecurityRole"]] = relationship(secondary=team_roles, lazy="selectin")

    __table_args__ = (UniqueConstraint("business_unit_id", "name"),)


class SecurityRole(RecordMixin, Base):
    __tablename__ = "security_roles"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160), unique=True)
    description: Mapped[str | None] = mapped_column(String(2000))

    privileges: Mapped[list["RolePrivilege"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="role"
    )


class RolePrivilege(Base):
    """One privilege of a role on one entity, at a depth (crm_core.security.privileges.Depth)."""

    __tablename__ = "role_privileges"

    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("security_roles.id", ondelete="CASCADE"), primary_key=True
    )
    entity: Mapped[str] = mapped_column(String(64), primary_key=True)
    privilege: Mapped[str] = mapped_column(String(16), primary_key=True)
    depth: Mapped[int] = mapped_column(SmallInteger)

    role: Mapped[SecurityRole] = relationship(back_populates="privileges")

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        role_id = self.role_id or (self.role.id if self.role is not None else None)
        return ("security_role", role_id, f"privileges.{self.entity}.{self.privilege}") if role_id else None


class SecurityEpoch(Base):
    """A counter of changes to who may do what (users, teams, units, roles, tokens), bumped in the same
    transaction as the change. Caches of callers compare against it, so no process serves stale rights."""

    __tablename__ = "security_epoch"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ApiToken(Base):
    """A personal API token. Only a SHA-256 of the token is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_on: Mapped[datetime]
    expires_on: Mapped[datetime]
    revoked_on: Mapped[datetime | None]


class RecordShare(Base):
    """Dynamics' principalobjectaccess: rights on one record granted to a user or team beyond their roles."""

    __tablename__ = "record_shares"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entity: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID] = mapped_column(index=True)
    principal_type: Mapped[str] = mapped_column(String(8))
    principal_id: Mapped[uuid.UUID] = mapped_column(index=True)
    access_mask: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("entity", "record_id", "principal_type", "principal_id"),)
