"""Sites, resources, resource groups and services: the records service scheduling books with (DOMAIN.md §11).
The booking engine itself is calendar_sync.scheduling (docs/service-calendar.md).

None of them has an owner. Sites and services belong to the organisation; resources and resource groups
to a business unit (Dynamics' equipment.businessunitid, resourcegroup.businessunitid): the creator's unless
named, and for a user resource always the user's. A record still named by another one is not deleted: a
site with resources, a resource or group that a service's selection rule names. Group memberships are
removed with the member, audited on each group.

A resource's weekly working hours are written like a business calendar's (crm_core.services.weekly_hours) and
replaced whole when given; none means the booking engine's default week. Its calendar exceptions (time off,
extra working time) have their own service, crm_core.services.resource_calendars."""

import functools
import uuid
import zoneinfo
from datetime import time
from typing import Any, ClassVar, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm_core.activity_catalogue import BUILTIN, OPEN, SCHEDULED
from crm_core.email_addresses import normalize_field
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import (
    Calendar,
    Resource,
    ResourceGroup,
    ResourceWorkHours,
    Service,
    Site,
    User,
    resource_group_groups,
    resource_group_resources,
)
from crm_core.models.scheduling import RESOURCE_KINDS
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services import listing, selection_rules
from crm_core.services.business_units import existing_unit, require_unit_in_reach
from crm_core.services.organisation import root_unit
from crm_core.services.records import OwnerRef, RecordService
from crm_core.services.weekly_hours import check_hours

M = TypeVar("M")
MAX_DURATION_MINUTES = 7 * 24 * 60
MINUTES_PER_DAY = 24 * 60


@functools.cache
def _time_zones() -> frozenset[str]:
    # The tz database's names, less the two that name no place.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory"})


def check_time_zone(value: str | None, field: str) -> None:
    if value is not None and value not in _time_zones():
        raise ValidationFailed.field(field, f"{value!r} is not an IANA time zone name such as Europe/Paris")


def _clock(value: Any, field: str) -> str | None:
    """A time of day as stored: "HH:MM"."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = time.fromisoformat(value)
        except ValueError:
            raise ValidationFailed.field(field, "a time of day such as 08:30") from None
    if not isinstance(value, time) or value.second or value.microsecond or value.tzinfo is not None:
        raise ValidationFailed.field(field, "a time of day in whole minutes, without a time zone, such as 08:30")
    return f"{value.hour:02d}:{value.minute:02d}"


def _require_name(record: Any, label: str) -> None:
    record.name = (record.name or "").strip()
    if not record.name:
        raise ValidationFailed.field("name", f"a {label} needs a name")


class _UnownedRecordService(RecordService[M]):
    """Create without an owner; for business-unit records, place them in a unit within the caller's reach."""

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> M:
        if owner is not None:
            raise ValidationFailed.field("owner_id", f"a {self.entity_name} has no owner")
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = self.model(id=uuid.uuid4())
        self.apply(record, values, creating=True)
        self.session.add(record)
        self.session.flush()
        self.uow.commit()
        return record

    def apply(self, record: M, values: dict[str, Any], creating: bool) -> None:
        if self.spec.ownership == "unit":
            values = dict(values)
            given = "business_unit_id" in values
            unit_id = values.pop("business_unit_id", None)
            if creating or given:
                self._place(record, unit_id, creating)
        super().apply(record, values, creating)

    def _place(self, record: Any, unit_id: uuid.UUID | None, creating: bool) -> None:
        if unit_id is None:
            if not creating:
                raise ValidationFailed.field("business_unit_id", f"a {self.entity_name} belongs to a business unit")
            unit_id = self._default_unit()
        if unit_id == getattr(record, "business_unit_id", None):
            return
        existing_unit(self.session, unit_id, "business_unit_id")
        privilege = Privilege.CREATE if creating else Privilege.WRITE
        require_unit_in_reach(self.principal, self.entity_name, privilege, unit_id, "business_unit_id")
        record.business_unit_id = unit_id

    def _default_unit(self) -> uuid.UUID:
        if not self.principal.is_system:
            return self.principal.business_unit_id
        root = root_unit(self.session)
        if root is None:
            raise ValidationFailed.field("business_unit_id", "name the business unit")
        return root.id


def _services_naming(session: Any, resource_id: uuid.UUID | None = None,
                     group_id: uuid.UUID | None = None) -> list[str]:
    """The names of the services whose selection rule names this resource or group (there are few services)."""
    names = []
    for name, rule in session.execute(select(Service.name, Service.selection_rule)):
        resources, groups = selection_rules.references(rule)
        if resource_id in resources or group_id in groups:
            names.append(name)
    return sorted(names)


class SiteService(_UnownedRecordService[Site]):
    entity_name = "site"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def validate(self, record: Site, values: dict[str, Any], creating: bool) -> None:
        _require_name(record, "site")
        if record.time_zone is None:
            raise ValidationFailed.field("time_zone", "a site needs its IANA time zone, such as Europe/Paris")
        check_time_zone(record.time_zone, "time_zone")
        if "email_address" in values:
            record.email_address = normalize_field("email_address", values["email_address"])

    def before_delete(self, record: Site) -> None:
        count = self.session.scalar(select(func.count()).select_from(Resource).where(Resource.site_id == record.id))
        if count:
            raise Conflict(f"{count} resources are at this site; move them to another site first")


class ResourceService(_UnownedRecordService[Resource]):
    entity_name = "resource"
    # The calendar its bookings are published to: one the caller reads (and may link to).
    links: ClassVar[dict[str, str]] = {"site_id": "site", "calendar_id": "calendar"}
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def list(self, query: listing.ListQuery) -> listing.Page[Resource]:
        # A page shows every resource's working hours: one query for all of them, not one each.
        stmt = select(Resource).options(selectinload(Resource.working_hours)) \
            .where(access.scope(self.principal, self.spec, Privilege.READ))
        rows = list(self.session.scalars(listing.apply(stmt, Resource, query, self.sortable)))
        return listing.page(rows, query)

    def apply(self, record: Resource, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        hours = values.pop("working_hours", None)
        # Checked before anything is written, as a business calendar's hours are.
        checked = check_hours(hours, "working_hours") if hours is not None else None
        if creating:
            kind = values.get("kind")
            if kind not in RESOURCE_KINDS:
                raise ValidationFailed.field("kind", f"one of {', '.join(RESOURCE_KINDS)}")
            if kind == "user":
                user = self._free_user(values.get("user_id"))
                if values.get("business_unit_id") not in (None, user.business_unit_id):
                    raise ValidationFailed.field("business_unit_id", "a user's resource is in the user's business "
                                                 "unit")
                values["business_unit_id"] = user.business_unit_id
                values["name"] = values.get("name") or user.full_name
            elif values.get("user_id") is not None:
                raise ValidationFailed.field("user_id", "only a resource of kind user points at a user")
        else:
            for key in ("kind", "user_id"):
                if key in values and values[key] != getattr(record, key):
                    raise ValidationFailed.field(key, f"a resource's {key} cannot change; create another resource")
            if record.kind == "user" and values.get("business_unit_id", record.business_unit_id) \
                    != record.business_unit_id:
                raise ValidationFailed.field("business_unit_id", "a user's resource is in the user's business unit")
        super().apply(record, values, creating)
        if checked is not None:
            # Deleted by name rather than left to the orphan cascade, which runs after the audit hook has looked:
            # the trail shows the intervals that went as well as those that came.
            for old in record.working_hours:
                self.session.delete(old)
            record.working_hours.clear()
            for weekday, start, end in checked:
                record.working_hours.append(ResourceWorkHours(id=uuid.uuid4(), resource_id=record.id,
                                                              weekday=weekday, start_minute=start, end_minute=end))

    def validate(self, record: Resource, values: dict[str, Any], creating: bool) -> None:
        _require_name(record, "resource")
        if record.capacity is not None:
            if record.kind != "facility":
                raise ValidationFailed.field("capacity", "only facilities (rooms) have a capacity")
            if record.capacity < 1:
                raise ValidationFailed.field("capacity", "at least 1")
        check_time_zone(record.time_zone, "time_zone")
        if record.calendar_id is not None and "calendar_id" in values:
            calendar = self.session.get(Calendar, record.calendar_id)
            if calendar is not None and calendar.kind == "ics":
                raise ValidationFailed.field("calendar_id", f"{calendar.name!r} is a read-only iCalendar feed; "
                                             "bookings are published to a CalDAV or Exchange calendar")

    def _free_user(self, user_id: uuid.UUID | None) -> User:
        if user_id is None:
            raise ValidationFailed.field("user_id", "a resource of kind user names the user")
        user = self.session.get(User, user_id)
        if user is None or user.is_disabled:
            raise ValidationFailed.field("user_id", f"no enabled user with id {user_id}")
        if self.session.scalar(select(Resource.id).where(Resource.user_id == user_id)) is not None:
            raise Conflict(f"{user.full_name} is a resource already", field="user_id")
        return user

    def before_delete(self, record: Resource) -> None:
        services = _services_naming(self.session, resource_id=record.id)
        if services:
            raise Conflict(f"the selection rules of {', '.join(services)} name this resource; change them first",
                           services=services)
        groups = self.session.scalars(
            select(ResourceGroup).join(resource_group_resources,
                                       ResourceGroup.id == resource_group_resources.c.group_id)
            .where(resource_group_resources.c.resource_id == record.id)
        )
        for group in groups:
            group.resources.remove(record)


class ResourceGroupService(_UnownedRecordService[ResourceGroup]):
    """Static groups: the members are resources and other groups, listed, and a group never contains itself,
    directly or through other groups."""

    entity_name = "resource_group"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def apply(self, record: ResourceGroup, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        resource_ids = values.pop("resource_ids", None)
        group_ids = values.pop("group_ids", None)
        super().apply(record, values, creating)
        if resource_ids is not None:
            record.resources = [self.check_link("resource", rid, f"resource_ids[{i}]")
                                for i, rid in _unique(resource_ids)]
        if group_ids is not None:
            record.groups = [self._member_group(record, gid, f"group_ids[{i}]") for i, gid in _unique(group_ids)]

    def validate(self, record: ResourceGroup, values: dict[str, Any], creating: bool) -> None:
        _require_name(record, "resource group")

    def _member_group(self, record: ResourceGroup, group_id: uuid.UUID, field: str) -> ResourceGroup:
        if group_id == record.id:
            raise ValidationFailed.field(field, "a group cannot contain itself")
        member: ResourceGroup = self.check_link("resource_group", group_id, field)
        if record.id in self._groups_within(group_id):
            raise ValidationFailed.field(field, f"{member.name!r} contains this group already; adding it would "
                                         "make a cycle")
        return member

    def _groups_within(self, group_id: uuid.UUID) -> set[uuid.UUID]:
        """Every group inside this one, at any depth (one query per level)."""
        found: set[uuid.UUID] = set()
        frontier = {group_id}
        while frontier:
            below = set(self.session.scalars(
                select(resource_group_groups.c.member_group_id)
                .where(resource_group_groups.c.group_id.in_(frontier))
            ))
            frontier = below - found
            found |= below
        return found

    def before_delete(self, record: ResourceGroup) -> None:
        services = _services_naming(self.session, group_id=record.id)
        if services:
            raise Conflict(f"the selection rules of {', '.join(services)} name this group; change them first",
                           services=services)
        parents = self.session.scalars(
            select(ResourceGroup).join(resource_group_groups, ResourceGroup.id == resource_group_groups.c.group_id)
            .where(resource_group_groups.c.member_group_id == record.id)
        )
        for parent in parents:
            parent.groups.remove(record)


def _unique(ids: list[uuid.UUID]) -> list[tuple[int, uuid.UUID]]:
    """(position, id) of each id's first occurrence: a member listed twice is a member once."""
    seen: set[uuid.UUID] = set()
    out = []
    for i, value in enumerate(ids):
        if value not in seen:
            seen.add(value)
            out.append((i, value))
    return out


def _bookable_statuses() -> dict[int, str]:
    """The status reasons a service activity can start in: those of its Open and Scheduled states."""
    states = BUILTIN["service_activity"].states
    return {**states.state(OPEN).statuses, **states.state(SCHEDULED).statuses}


class ServiceService(_UnownedRecordService[Service]):
    """Dynamics' service: duration, the grid start times fall on (granularity from the window's start,
    Dynamics' anchoroffset), the window in which a booking may start, the initial status of its service
    activities (default Reserved, our choice), and its selection rule (crm_core.services.selection_rules)."""

    entity_name = "service"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def apply(self, record: Service, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        for key in ("start_window_from", "start_window_to"):
            if key in values:
                values[key] = _clock(values[key], key)
        rule_given = "selection_rule" in values
        rule = values.pop("selection_rule", None)
        super().apply(record, values, creating)
        if rule_given:
            record.selection_rule = None if rule is None else selection_rules.normalise(
                rule, lambda rid, field: self.check_link("resource", rid, field),
                lambda gid, field: self.check_link("resource_group", gid, field),
            )

    def validate(self, record: Service, values: dict[str, Any], creating: bool) -> None:
        _require_name(record, "service")
        if record.duration_minutes is None or not 1 <= record.duration_minutes <= MAX_DURATION_MINUTES:
            raise ValidationFailed.field("duration_minutes", f"between 1 and {MAX_DURATION_MINUTES} minutes")
        granularity = record.granularity_minutes if record.granularity_minutes is not None else 30
        if not 1 <= granularity <= MINUTES_PER_DAY or MINUTES_PER_DAY % granularity:
            raise ValidationFailed.field("granularity_minutes", "a whole divisor of a day's 1440 minutes, such as "
                                         "15, 30 or 60, so that every day has the same start times")
        record.granularity_minutes = granularity
        start, end = record.start_window_from, record.start_window_to
        if start is not None and end is not None and start >= end:
            raise ValidationFailed.field("start_window_to", "must be later than start_window_from")
        statuses = _bookable_statuses()
        status = record.initial_status_code if record.initial_status_code is not None else 4
        if status not in statuses:
            allowed = ", ".join(f"{k} {v}" for k, v in statuses.items())
            raise ValidationFailed.field("initial_status_code", f"a service activity status: {allowed}")
        record.initial_status_code = status
