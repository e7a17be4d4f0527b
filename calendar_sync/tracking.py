"""One meeting tracked by hand (the Outlook add-in's "track"): the server's event written into the CRM exactly as
a sync pass writes a new server event (CrmCalendarStore.upload: the same rows, the same UID, a meeting another
user's calendar brought linked rather than copied), so the next pass of the calendar pairs the two by UID and
never makes a second appointment. A series is tracked whole, as Dynamics does: its occurrences are not records
of their own but the recurring appointment's instances and exceptions."""

import uuid

from sqlalchemy.orm import Session

from calendar_sync.appointments.from_ical import Record
from calendar_sync.appointments.lookup import find_meeting
from calendar_sync.items import CalendarItem
from calendar_sync.stores.crm import CrmCalendarStore
from crm_core.models import Activity
from crm_core.models.calendars import Calendar


def write_tracked(session: Session, calendar: Calendar, item: CalendarItem) -> tuple[Record, bool]:
    """The CRM record of the server's `item` (read from `calendar`'s store), and whether it was new. Flushed,
    not committed."""
    created = find_meeting(session, item.uid) is None
    href, _ = CrmCalendarStore(session, calendar).upload(item)
    record = session.get(Activity, uuid.UUID(href))
    assert record is not None
    return record, created  # type: ignore[return-value]
