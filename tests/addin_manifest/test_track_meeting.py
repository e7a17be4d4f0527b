"""Tracking the meeting in view from the add-in (POST /addin/api/track-appointment), with Exchange Online on the
fake Graph: the event is read from the calendar connected to the user's mailbox and written as a calendar sync
writes it, regarding the record the user picked; the calendar's next sync pass pairs it by UID (no second
appointment); a series is tracked whole, as a recurring appointment."""

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from addin_manifest.auth.principal import AddinAuth
from calendar_sync.runner import sync_calendar
from calendar_sync.stores.registry import StoreOptions
from crm_core.models import Activity
from tests.api import created, problem
from tests.calendar_sync.exchange_sides import Graph
from tests.fakes.graph.calendar import calendar_of
from tests.org import OrgBuilder, TestUser

_today = dt.datetime.now(dt.UTC).date()
SOON = dt.datetime.combine(_today + dt.timedelta(days=14 - _today.weekday()), dt.time(9))  # a Monday, local


class Rep:
    def __init__(self, client: Any, admin: TestUser, org: OrgBuilder, side: Graph) -> None:
        self.address = f"rep-{uuid.uuid4().hex[:6]}@contoso.example"
        self.user = org.user(self.address, ["Salesperson"])
        self.box, _, _ = side.mailbox(self.address)
        profile = created(client, admin, "email-server-profiles", side.profile())
        mailbox = created(client, admin, "mailboxes", {
            "email_address": self.address, "regarding_type": "user", "regarding_id": str(self.user.id),
            "server_profile_id": profile["id"]})
        assert client.post(f"/api/v1/mailboxes/{mailbox['id']}/approve", headers=admin.headers).status_code == 200
        self.calendar_id = uuid.UUID(created(client, self.user, "calendars", {
            "name": "My Exchange calendar", "kind": "graph", "mailbox_id": mailbox["id"]})["id"])

    def meeting(self, subject: str, **more: Any) -> str:
        end = SOON + dt.timedelta(hours=1)
        return calendar_of(self.box).create({
            "subject": subject, "location": {"displayName": "Room 4"},
            "start": {"dateTime": SOON.isoformat(), "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": end.isoformat(), "timeZone": "W. Europe Standard Time"},
            "attendees": [{"type": "required", "emailAddress": {"address": "someone@elsewhere.example"}}],
            **more}, None, {}).id


@pytest.fixture
def side(graph_fake: Any) -> Graph:
    return Graph(graph_fake)


@pytest.fixture
def rep(client: Any, admin: TestUser, org: OrgBuilder, side: Graph) -> Iterator[Rep]:
    client.app.state.addin_auth = AddinAuth(validator=None, dev_tokens=True, ssl_context=side.context)
    yield Rep(client, admin, org, side)
    del client.app.state.addin_auth


def _track(client: Any, rep: Rep, event_id: str, regarding: dict[str, Any], **more: Any) -> Any:
    return client.post("/addin/api/track-appointment", json={
        "item_id": event_id, "regarding": {"type": regarding["type"], "id": regarding["id"]}, **more},
        headers=rep.user.headers)


def _count(factory: sessionmaker[Session], activity_type: str) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(Activity).where(
            Activity.activity_type == activity_type)) or 0)


def test_a_meeting_is_tracked_once_and_the_calendar_sync_pairs_it(
        client: Any, admin: TestUser, rep: Rep, side: Graph, session_factory: sessionmaker[Session]) -> None:
    account = {**created(client, admin, "accounts", {"name": "Fabrikam"}), "type": "account"}
    # Nobody in it is known to the CRM: sync would leave it; the user tracks it by hand.
    event_id = rep.meeting("Renewal talk")

    r = _track(client, rep, event_id, account)

    assert r.status_code == 201, r.text
    out = r.json()
    assert out["activity_type"] == "appointment" and out["regarding"]["name"] == "Fabrikam"
    appt = client.get(f"/api/v1/activities/{out['activity_id']}", headers=rep.user.headers).json()
    assert (appt["subject"], appt["location"], appt["regarding_id"]) == ("Renewal talk", "Room 4", account["id"])
    again = _track(client, rep, event_id, account)
    assert again.status_code == 200 and again.json()["activity_id"] == out["activity_id"]

    summary = sync_calendar(session_factory, rep.calendar_id, options=StoreOptions(timeout=10,
                                                                                   ssl_context=side.context))
    assert summary.report.complete
    assert _count(session_factory, "appointment") == 1
    appt = client.get(f"/api/v1/activities/{out['activity_id']}", headers=rep.user.headers).json()
    assert appt["regarding_id"] == account["id"]


def test_a_series_is_tracked_whole_and_errors_are_clear(client: Any, admin: TestUser, rep: Rep) -> None:
    account = {**created(client, admin, "accounts", {"name": "Fabrikam"}), "type": "account"}
    series = rep.meeting("Weekly sync", recurrence={
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "monday"},
        "range": {"type": "numbered", "startDate": SOON.date().isoformat(), "numberOfOccurrences": 4,
                  "recurrenceTimeZone": "W. Europe Standard Time"}})

    r = _track(client, rep, series, account, series=True)

    assert r.status_code == 201, r.text
    assert r.json()["activity_type"] == "recurring_appointment"
    problem(_track(client, rep, "AAMkAGI2TG93AAAnosuchevent=", account), 404)
    stranger = {"type": "account", "id": str(uuid.uuid4())}
    assert "no account" in problem(_track(client, rep, series, stranger), 422)["detail"]
