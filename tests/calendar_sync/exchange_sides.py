"""The Exchange side of the calendar sync tests (tests/calendar_sync/test_exchange_calendar_sync.py): a
salesperson's mailbox on the fake EWS or the fake Graph server, the calendar as the user sees it (the store under
the user's own login or app, not the CRM's), and what each server does its own way: the email server profile,
mail sent, a refused sync cursor, a series filed as Outlook leaves it."""

import datetime as dt
import ssl
import uuid
from typing import Any

from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import CalendarStore
from calendar_sync.stores.ews import EwsCalendarStore
from calendar_sync.stores.graph import GraphCalendarStore
from mailbridge.sources.ews.settings import EwsSettings
from mailbridge.sources.graph import GraphSettings
from mailbridge.sources.graph.client import GraphClient
from tests.fakes.ews import EwsFake, FakeMailbox
from tests.fakes.ews.calendar import Appointment as OutlookItem
from tests.fakes.ews.calendar import Attendee, Fields, Modified, Recurrence
from tests.fakes.graph.calendar import calendar_of
from tests.mailbridge.tls import TestCertificate
from tests.org import TestUser

PASSWORD = "Passw0rd!"
ALICE = "alice@example.com"  # a CRM contact


class Rep:
    """A salesperson: the CRM user, the Exchange mailbox, its CRM mailbox and calendar, and the calendar as the
    user sees it in Outlook (the store under the user's own login or app, not the CRM's)."""

    def __init__(self, user: TestUser, box: Any, calendar_id: uuid.UUID, outlook: CalendarStore) -> None:
        self.user, self.box, self.calendar_id, self.outlook = user, box, calendar_id, outlook

    def on_server(self) -> dict[str, CalendarItem]:
        return {item.uid: item for _, item, _ in self.outlook.get_many([h for h, _ in self.outlook.list()])}

    def server_href(self, uid: str) -> tuple[str, str]:
        for href, item, etag in self.outlook.get_many([h for h, _ in self.outlook.list()]):
            if item.uid == uid:
                return href, etag
        raise AssertionError(f"{uid} is not in {self.user.email}'s Exchange calendar")


class Ews:
    """Exchange Server through EWS: an NTLM profile with the fake's URL, each mailbox its own login."""

    kind = "ews"

    def __init__(self, fake: EwsFake, certificate: TestCertificate) -> None:
        self.fake, self.context = fake, certificate.client_context()

    def profile(self) -> dict[str, Any]:
        return {"name": "Contoso Exchange", "incoming_protocol": "ews", "auth_type": "ntlm",
                "service_url": self.fake.url}

    def mailbox(self, address: str) -> tuple[FakeMailbox, dict[str, Any], CalendarStore]:
        login = f"CONTOSO\\{address.split('@')[0]}"
        box = self.fake.add_mailbox(address, username=login, password=PASSWORD)
        outlook = EwsCalendarStore(EwsSettings(address, "ntlm", self.fake.url, username=login, password=PASSWORD,
                                               timeout=10, ssl_context=self.context))
        return box, {"username": login, "password": PASSWORD}, outlook

    def mailed(self, box: FakeMailbox) -> list[Any]:
        return list(box.sent)

    def refuse_cursor(self, box: FakeMailbox) -> None:
        box.invalidate_sync_states("calendar")  # as after a mailbox move: ErrorInvalidSyncStateData

    def file_series(self, box: FakeMailbox, start: dt.datetime) -> None:
        """As Outlook leaves it: weekly for six weeks in Berlin time, the second week an hour later and renamed,
        the fourth cancelled."""
        week = dt.timedelta(weeks=1)
        series = outlook_meeting("uid-weekly", box.address, "Weekly sync", start, ALICE, recurrence=Recurrence(
            "WeeklyRecurrence", {"Interval": "1", "DaysOfWeek": start.strftime("%A"), "FirstDayOfWeek": "Monday"},
            "NumberedRecurrence", {"StartDate": start.date().isoformat(), "NumberOfOccurrences": "6"}))
        moved = outlook_meeting("uid-weekly", box.address, "Weekly sync (moved)",
                                start + week + dt.timedelta(hours=1), ALICE).fields
        series.modified[2] = Modified("AAMkEmoved", (start + week).astimezone(dt.UTC), moved)
        series.deleted[4] = (start + 3 * week).astimezone(dt.UTC)
        box.add_item("calendar", item_class="IPM.Appointment", subject="Weekly sync", appointment=series)


class Graph:
    """Exchange Online through Microsoft Graph: an application profile (the fake's app), one per mailbox."""

    kind = "graph"

    def __init__(self, fake: Any) -> None:
        self.fake, self.app = fake, fake.register_app(secret=f"secret-{uuid.uuid4().hex[:8]}")
        self.context = ssl.create_default_context(cafile=str(fake.ca_file))

    def profile(self) -> dict[str, Any]:
        return {"name": "Contoso Online", "incoming_protocol": "graph", "auth_type": "application",
                "tenant_id": self.fake.tenant_id, "client_id": self.app.client_id, "client_secret": self.app.secret,
                "service_url": self.fake.graph_url, "authority_url": self.fake.base_url}

    def mailbox(self, address: str) -> tuple[Any, dict[str, Any], CalendarStore]:
        box = self.fake.add_mailbox(address)
        settings = GraphSettings(user=address, tenant_id=self.fake.tenant_id, client_id=self.app.client_id,
                                 client_secret=self.app.secret, graph_url=self.fake.graph_url,
                                 authority_url=self.fake.base_url, timeout=10.0, ssl_context=self.context)
        return box, {}, GraphCalendarStore(GraphClient(settings), address)

    def mailed(self, box: Any) -> list[Any]:
        # Mail the sync sent itself. Graph's own meeting requests (calendar_of(box).invitations) are not
        # counted: v1.0 cannot save a meeting without them (calendar_sync/stores/graph.py).
        return list(box.sent)

    def refuse_cursor(self, box: Any) -> None:
        calendar_of(box).reset_delta()  # every deltaLink given so far answers 410 syncStateNotFound

    def file_series(self, box: Any, start: dt.datetime) -> None:
        """As Outlook on the web leaves it (the same series as Ews.file_series)."""
        local = start.replace(tzinfo=None).isoformat()
        end = (start + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat()
        calendar = calendar_of(box)
        master = calendar.create({
            "subject": "Weekly sync", "location": {"displayName": ""},
            "start": {"dateTime": local, "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": end, "timeZone": "W. Europe Standard Time"},
            "attendees": [{"type": "required", "emailAddress": {"address": ALICE}}],
            "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [start.strftime("%A").lower()],
                                       "firstDayOfWeek": "monday"},
                           "range": {"type": "numbered", "startDate": start.date().isoformat(),
                                     "numberOfOccurrences": 6, "recurrenceTimeZone": "W. Europe Standard Time"}}},
            None, {})
        instances = calendar.instances_of(master)
        moved = start + dt.timedelta(weeks=1, hours=1)
        calendar.update(instances[1], {"subject": "Weekly sync (moved)", "start": {
            "dateTime": moved.replace(tzinfo=None).isoformat(), "timeZone": "W. Europe Standard Time"}, "end": {
            "dateTime": (moved + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(),
            "timeZone": "W. Europe Standard Time"}})
        calendar.delete(instances[3])


def outlook_meeting(uid: str, organizer: str, subject: str, start: dt.datetime, *attendees: str,
                    recurrence: Recurrence | None = None) -> OutlookItem:
    """A meeting as Outlook files it in EWS: in the organizer's Windows time zone, attendees with answers."""
    fields = Fields(start=start.astimezone(dt.UTC), end=(start + dt.timedelta(hours=1)).astimezone(dt.UTC),
                    subject=subject, required=[Attendee(a, response="Accept") for a in attendees])
    return OutlookItem(uid, organizer, fields, "W. Europe Standard Time", "W. Europe Standard Time", recurrence)
