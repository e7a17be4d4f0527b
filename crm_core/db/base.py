"""Declarative base and the mixins every CRM record shares: UUID key, timestamps, actors, owner, state."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, MetaData, Numeric, SmallInteger, Uuid, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from crm_core.db.types import UtcDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        uuid.UUID: Uuid(),
        datetime: UtcDateTime(),
        date: Date(),
        Decimal: Numeric(19, 4),
    }
    # Records flagged here get an audit row for every insert, update and delete (see crm_core.audit).
    __audited__: ClassVar[bool] = False


class RecordMixin:
    """UUID primary key, created/modified timestamps and the users who made them."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_on: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @declared_attr
    def created_by_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL", use_alter=True))

    @declared_attr
    def modified_by_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL", use_alter=True))


class OwnedMixin:
    """A user- or team-owned record: exactly one owner, and the business unit that owns it through the owner."""

    @declared_attr
    def owning_user_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("users.id", use_alter=True), index=True)

    @declared_attr
    def owning_team_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("teams.id", use_alter=True), index=True)

    @declared_attr
    def owning_business_unit_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("business_units.id"), index=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (owner_check(),)

    @property
    def owner_type(self) -> str:
        return "user" if self.owning_user_id is not None else "team"

    @property
    def owner_id(self) -> uuid.UUID:
        owner = self.owning_user_id or self.owning_team_id
        assert owner is not None
        return owner


def owner_check() -> CheckConstraint:
    """Exactly one owner. Models that declare their own __table_args__ must include it."""
    return CheckConstraint("(owning_user_id IS NULL) <> (owning_team_id IS NULL)", name="one_owner")


def prefix_index(table: str, name: str, column: Any) -> Index:
    """An index on lower(column), for the prefix searches `lower(column) LIKE 'abc%'` of the add-in's record
    picker (addin_manifest/search.py). PostgreSQL uses it for a LIKE only with the text_pattern_ops operator
    class (the database's collation need not be C); SQLite ignores the option. `column` is the mapped_column."""
    label = f"lower_{name}"
    return Index(f"ix_{table}_{label}", func.lower(column.column).label(label),
                 postgresql_ops={label: "text_pattern_ops"})


class StateMixin:
    """Dynamics' soft state: statecode (Active, Won, Resolved...) and statuscode, the reason within it."""

    statecode: Mapped[int] = mapped_column(SmallInteger, default=0, index=True)
    statuscode: Mapped[int] = mapped_column(SmallInteger, default=1)
