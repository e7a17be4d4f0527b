"""The meeting the CRM already holds under a UID: what the calendar sync links a second user's copy to, and what
meeting mail updates."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from calendar_sync.appointments.events import CANCELED
from calendar_sync.appointments.from_ical import Record
from crm_core.models import Appointment, RecurringAppointment


def find_meeting(session: Session, uid: str) -> Record | None:
    """A series' master or a single appointment under this UID, an open one before a canceled one, the oldest
    first."""
    found: list[Record] = [
        *session.scalars(select(Appointment).where(Appointment.global_object_id == uid,
                                                   Appointment.instance_type_code == 0)),
        *session.scalars(select(RecurringAppointment).where(RecurringAppointment.global_object_id == uid)),
    ]
    found.sort(key=lambda r: (r.statecode == CANCELED[0], r.created_on))
    return found[0] if found else None
