"""Whether a server event the CRM has not seen concerns it, by the calendar's incoming filter:

"tracked": the user filed it with the track category, or it carries the CRM's own marks (a regarding record
or the id of the activity it came from); "known_attendees": that, or one of its organizer and attendees is a
contact, lead or account of the CRM (all of the item's addresses looked up at once)."""

from sqlalchemy.orm import Session

from calendar_sync.appointments.events import ACTIVITY_PROPERTY, REGARDING_PROPERTY, as_list
from calendar_sync.appointments.parties import Records, item_addresses, resolve
from calendar_sync.items import CalendarItem
from crm_core.models.calendars import Calendar
from mailbridge.tracking.parties import CUSTOMER_KINDS


def _categories(item: CalendarItem) -> set[str]:
    out: set[str] = set()
    for event in item.events:
        for prop in as_list(event.get("CATEGORIES")):
            out |= {str(c).strip().casefold() for c in getattr(prop, "cats", [])}
    return out


def is_tracked(calendar: Calendar, item: CalendarItem) -> bool:
    if calendar.track_category and calendar.track_category.strip().casefold() in _categories(item):
        return True
    return any(REGARDING_PROPERTY in e or ACTIVITY_PROPERTY in e for e in item.events)


def concerns_crm(session: Session, calendar: Calendar, item: CalendarItem, found: Records | None = None) -> bool:
    """`found`: the item's addresses already resolved (parties.resolve of item_addresses), to spare the lookup."""
    if is_tracked(calendar, item):
        return True
    if calendar.incoming_filter != "known_attendees":
        return False
    if found is None:
        found = resolve(session, item_addresses(item))
    return any(kind in CUSTOMER_KINDS for records in found.values() for kind, _ in records)
