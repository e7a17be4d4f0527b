"""The add-in's "track this meeting", wired here because it joins two packages that may not import each other:
addin_manifest (who asks, which mailbox he may use) and calendar_sync (reading the event from the mailbox's calendar
and writing it as sync does). Set on app.state.addin_appointments by workers.app.

The event is read from the calendar connected to the item's mailbox (the user's own, or a shared one he works):
with Exchange Online, through Graph on behalf of the user when the add-in signed in with Entra ID (his own rights
decide), else with the calendar's own connection."""

import uuid

from sqlalchemy import select

from addin_manifest.auth.obo import CALENDAR_SCOPES
from addin_manifest.auth.principal import AddinCaller
from addin_manifest.tracking.appointments import MeetingItem, TrackedMeeting
from addin_manifest.tracking.mail import usable_mailbox
from addin_manifest.tracking.mail_fetch import OutlookItem
from calendar_sync.errors import NotFound as EventGone
from calendar_sync.stores.base import CalendarStore
from calendar_sync.stores.graph import GraphCalendarStore
from calendar_sync.stores.registry import StoreOptions, open_store
from calendar_sync.tracking import write_tracked
from crm_core.errors import Conflict, NotFound
from crm_core.models.calendars import Calendar
from crm_core.services.activities import ActivityService


def track_meeting(caller: AddinCaller, item: MeetingItem, mailbox: str | None,
                  regarding: tuple[str, uuid.UUID]) -> TrackedMeeting:
    session = caller.uow.session
    box = usable_mailbox(session, caller.principal, mailbox)
    calendar = session.scalar(select(Calendar).where(Calendar.mailbox_id == box.id, Calendar.enabled.is_(True))
                              .order_by(Calendar.created_on).limit(1))
    if calendar is None or calendar.kind not in ("graph", "ews"):
        raise Conflict(f"no Exchange calendar of {box.email_address} is synced with the CRM: connect it (calendars) "
                       "before tracking its meetings")
    store = _store(caller, calendar, box.email_address)
    href = item.rest_id if calendar.kind == "graph" else OutlookItem(item.rest_id, "").ews_id
    calendar_id = calendar.id
    caller.uow.commit()  # no transaction held while Exchange answers
    try:
        event, _ = store.get(href or "")
    except EventGone:
        raise NotFound(f"{box.email_address}'s calendar holds no such meeting (it may have been deleted)") from None
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
    calendar = session.get_one(Calendar, calendar_id)
    caller.uow.set_action("track")
    record, created = write_tracked(session, calendar, event)
    session.flush()
    if (record.regarding_type, record.regarding_id) != regarding:
        ActivityService(caller.uow, caller.principal).update(
            record.id, {"regarding_type": regarding[0], "regarding_id": regarding[1]})
    caller.uow.commit()
    return TrackedMeeting(record.id, record.activity_type, created)


def _store(caller: AddinCaller, calendar: Calendar, address: str) -> CalendarStore:
    obo, claims = caller.auth.obo, caller.claims
    if calendar.kind == "graph" and obo is not None and claims is not None:
        return GraphCalendarStore(obo.graph(caller.token, claims.tenant_id, address, CALENDAR_SCOPES), address)
    return open_store(caller.uow.session, calendar, StoreOptions(ssl_context=caller.auth.ssl_context))
