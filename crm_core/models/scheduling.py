"""Service scheduling records (DOMAIN.md §11): sites, resources, static resource groups and services.

These are the records the booking engine (calendar_sync.scheduling) schedules with; nothing here
books anything. As in Dynamics, sites and services belong to the organisation, while resources and
resource groups belong to a business unit (equipment's and resourcegroup's businessunitid).

One `resources` table holds the three kinds Dynamics splits over systemuser and equipment: a user resource
points at a CRM user (Dynamics shares the id; we keep a unique foreign key), equipment and facilities have a
name of their own, and facilities (rooms) a capacity."""

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, RecordMixin
from crm_core.db.types import JsonDoc

if TYPE_CHECKING:
    from crm_core.models.resource_calendars import ResourceWorkHours

RESOURCE_KINDS = ("user", "equipment", "facility")


class Site(RecordMixin, Base):
    """A place where services are delivered and resources are located (Dynamics' site)."""

    __tablename__ = "sites"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160))
    line1: Mapped[str | None] = mapped_column(String(250))
    line2: Mapped[str | None] = mapped_column(String(250))
    city: Mapped[str | None] = mapped_column(String(80))
    state_or_province: Mapped[str | None] = mapped_column(String(50))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(80))
    telephone: Mapped[str | None] = mapped_column(String(50))
    email_address: Mapped[str | None] = mapped_column(String(320))
    # An IANA name (Europe/Paris) rather than Dynamics' timezonecode: the booking engine needs real rules.
    time_zone: Mapped[str] = mapped_column(String(64))


class Resource(RecordMixin, Base):
    __tablename__ = "resources"
    __audited__ = True

    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))  # a user resource takes the user's full name
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), unique=True)
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"), index=True)
    business_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_units.id"), index=True)
    # Facilities: how many bookings the room holds at once (a training room for three classes); a user or a
    # piece of equipment holds one.
    capacity: Mapped[int | None] = mapped_column(Integer)
    time_zone: Mapped[str | None] = mapped_column(String(64))  # None: the site's
    description: Mapped[str | None] = mapped_column(Text)
    # Where its bookings are published (a room's mailbox calendar, a CalDAV calendar); a user resource without
    # one publishes to its user's synced calendars.
    calendar_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calendars.id", ondelete="SET NULL"))
    # What an hour of its time costs (the organisation's currency): the cost of service in profitability
    # (crm_core.analytics.profitability). None: not costed.
    hourly_cost_rate: Mapped[Decimal | None]

    # Its weekly working intervals (none: the default week), replaced whole by the resource service. Loaded when
    # read (the booking engine queries the rows itself, for many resources at once).
    working_hours: Mapped[list["ResourceWorkHours"]] = relationship(
        cascade="all, delete-orphan", order_by="(ResourceWorkHours.weekday, ResourceWorkHours.start_minute)",
    )

    __table_args__ = (
        CheckConstraint("kind IN ('user', 'equipment', 'facility')", name="kind"),
        CheckConstraint("(kind = 'user') = (user_id IS NOT NULL)", name="user_kind"),
        CheckConstraint("capacity IS NULL OR (kind = 'facility' AND capacity > 0)", name="capacity"),
    )


# Static groups (Dynamics' grouptypecode 0): members are listed, never computed. A group holds resources
# and other groups; the service refuses a member list that would make a group contain itself.
resource_group_resources = Table(
    "resource_group_resources", Base.metadata,
    Column("group_id", Uuid, ForeignKey("resource_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("resource_id", Uuid, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True, index=True),
)
resource_group_groups = Table(
    "resource_group_groups", Base.metadata,
    Column("group_id", Uuid, ForeignKey("resource_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("member_group_id", Uuid, ForeignKey("resource_groups.id", ondelete="CASCADE"), primary_key=True,
           index=True),
    CheckConstraint("group_id <> member_group_id", name="not_itself"),
)


class ResourceGroup(RecordMixin, Base):
    __tablename__ = "resource_groups"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str | None] = mapped_column(Text)
    business_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_units.id"), index=True)

    # Member changes are audited on the group (the audit hook records secondary collections).
    resources: Mapped[list[Resource]] = relationship(secondary=resource_group_resources, lazy="selectin")
    groups: Mapped[list["ResourceGroup"]] = relationship(
        secondary=resource_group_groups,
        primaryjoin=lambda: ResourceGroup.id == resource_group_groups.c.group_id,
        secondaryjoin=lambda: ResourceGroup.id == resource_group_groups.c.member_group_id,
        lazy="selectin", join_depth=1,  # the members of the groups loaded, not theirs in turn
    )

    @property
    def resource_ids(self) -> list[uuid.UUID]:
        return [r.id for r in self.resources]

    @property
    def group_ids(self) -> list[uuid.UUID]:
        return [g.id for g in self.groups]


class Service(RecordMixin, Base):
    """A kind of work that can be booked (Dynamics' service): how long it takes, when it may start, the
    status its service activities start in, and which resources it needs (the selection rule)."""

    __tablename__ = "services"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str | None] = mapped_column(Text)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    # Start times fall on this grid, counted from start_window_from (Dynamics' granularity and anchoroffset).
    granularity_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # "HH:MM" in the resource's time zone; None: from midnight / until midnight. Text rather than a TIME
    # column: the same on both databases, and the audit trail keeps it as written.
    start_window_from: Mapped[str | None] = mapped_column(String(5))
    start_window_to: Mapped[str | None] = mapped_column(String(5))
    initial_status_code: Mapped[int] = mapped_column(SmallInteger, default=4)
    # A tree of nodes (crm_core.services.selection_rules); Dynamics keeps it in resourcespec records.
    selection_rule: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    is_schedulable: Mapped[bool] = mapped_column(Boolean, default=True)
