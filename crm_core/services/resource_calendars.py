"""A resource's calendar exceptions (DOMAIN.md §11; Dynamics' calendar rules of a resource's calendar that are
not its weekly pattern): time off (a day off, a vacation, a doctor's visit) and extra working time outside the
weekly hours. Each is a stretch of real time, aware datetimes kept in UTC.

They are part of the resource: reading them needs read on it, adding or removing one needs write on it (the
resource service's own checks), and each change is audited on the resource as exception.<id>.<field>."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import NotFound, ValidationFailed
from crm_core.models import ResourceCalendarException
from crm_core.models.resource_calendars import EXCEPTION_KINDS
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.scheduling_records import ResourceService

# A year, leap day included: longer absences are a change of the weekly hours, or of the resource.
MAX_EXCEPTION = timedelta(days=366)


def _instant(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationFailed.field(field, "a date and time with its UTC offset, such as 2025-07-14T09:00:00+02:00")
    return value.astimezone(UTC)


class ResourceCalendarService:
    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.resources = ResourceService(uow, principal)

    @property
    def session(self) -> Session:
        return self.uow.session

    def exceptions(self, resource_id: uuid.UUID, start: datetime | None = None,
                   end: datetime | None = None) -> list[ResourceCalendarException]:
        """The resource's exceptions, by start; with `start` or `end`, those overlapping [start, end)."""
        self.resources.get(resource_id)
        stmt = select(ResourceCalendarException).where(ResourceCalendarException.resource_id == resource_id)
        if start is not None:
            stmt = stmt.where(ResourceCalendarException.ends_at > _instant(start, "from"))
        if end is not None:
            stmt = stmt.where(ResourceCalendarException.starts_at < _instant(end, "to"))
        if start is not None and end is not None and end <= start:
            raise ValidationFailed.field("to", "after from")
        order = (ResourceCalendarException.starts_at, ResourceCalendarException.ends_at, ResourceCalendarException.id)
        return list(self.session.scalars(stmt.order_by(*order)))

    def add(self, resource_id: uuid.UUID, values: dict[str, Any]) -> ResourceCalendarException:
        resource = self.resources.get(resource_id, Privilege.WRITE)
        kind = values.get("kind")
        if kind not in EXCEPTION_KINDS:
            raise ValidationFailed.field("kind", "time_off (not working) or working (extra hours)")
        name = (values.get("name") or "").strip() or None
        if name is not None and len(name) > 160:
            raise ValidationFailed.field("name", "at most 160 characters")
        starts_at = _instant(values.get("starts_at"), "starts_at")
        ends_at = _instant(values.get("ends_at"), "ends_at")
        if ends_at <= starts_at:
            raise ValidationFailed.field("ends_at", "after starts_at")
        if ends_at - starts_at > MAX_EXCEPTION:
            raise ValidationFailed.field("ends_at", "at most 366 days after starts_at; for longer, change the "
                                         "working hours")
        self.uow.set_action("add_calendar_exception")
        row = ResourceCalendarException(id=uuid.uuid4(), resource_id=resource.id, kind=kind, name=name,
                                        starts_at=starts_at, ends_at=ends_at)
        self.session.add(row)
        self.session.flush()
        self.uow.commit()
        return row

    def remove(self, resource_id: uuid.UUID, exception_id: uuid.UUID) -> None:
        self.resources.get(resource_id, Privilege.WRITE)
        row = self.session.get(ResourceCalendarException, exception_id)
        if row is None or row.resource_id != resource_id:
            raise NotFound(f"no calendar exception with id {exception_id} on this resource")
        self.uow.set_action("remove_calendar_exception")
        self.session.delete(row)
        self.session.flush()
        self.uow.commit()
