"""/calendars: CRUD from a Resource declaration. Syncing one needs the calendar connectors, which crm_core
does not import: that route (POST /calendars/{id}/sync) lives in calendar_sync.admin, wired by workers.app."""

import uuid

from crm_core.api.resource import CHANGED_FILTERS, FilterField, Resource
from crm_core.api.schemas.calendars import CalendarCreate, CalendarOut, CalendarUpdate
from crm_core.services.calendars import CalendarService
from crm_core.services.listing import Op

RESOURCES = [
    Resource(
        "calendar", CalendarService, CalendarCreate, CalendarUpdate, CalendarOut, tag="calendars",
        filters=[FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("kind", str),
                 FilterField("user_id", uuid.UUID), FilterField("mailbox_id", uuid.UUID),
                 FilterField("enabled", bool), FilterField("last_error_reason", str), *CHANGED_FILTERS],
    ),
]
