"""A pass reads only the CRM appointments stamped since the last one (calendar_sync.stores.crm_changes): every
change made in the CRM still reaches the server, a late commit included, and what no stamp shows waits for the
hourly whole listing. On the real servers, through the runner."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.stores import crm_changes
from calendar_sync.sync import cursors
from crm_core.db.types import utcnow
from crm_core.models import Activity, ActivityParty
from crm_core.models.calendars import Calendar
from tests.calendar_sync.dav_servers import DavServer
from tests.calendar_sync.store_contract import essence, event_item
from tests.calendar_sync.test_caldav_sync import World
from tests.org import OrgBuilder, TestUser


@pytest.fixture
def world(
    session_factory: sessionmaker[Session], dav_server: DavServer, org: OrgBuilder, client: Any
) -> Iterator[World]:
    rep: TestUser = org.user("rep@example.org", ["Salesperson"])
    w = World(session_factory, dav_server, rep, client)
    yield w
    w.dav.close()


def _synced(world: World, *summaries: str) -> dict[str, Any]:
    """Events with these summaries made on the server and brought into the CRM: uid -> appointment."""
    items = [event_item(summary=s, attendees=("alice@example.com",)) for s in summaries]
    for item in items:
        world.dav.upload(item)
    assert world.sync().to_crm == len(items)
    return {item.uid: world.appointment(item.uid) for item in items}


def _crm_cursor(world: World) -> str | None:
    with world.factory() as session:
        return cursors.split(session.get_one(Calendar, world.calendar_id).sync_cursor)[1]


def test_every_crm_change_reaches_the_server_from_the_cursor(world: World) -> None:
    a, b, c = _synced(world, "A", "B", "C").items()
    assert _crm_cursor(world) is not None  # the next pass reads from it
    headers = world.rep.headers
    r = world.client.patch(f"/api/v1/activities/{a[1].id}", json={"subject": "A (renamed)"}, headers=headers)
    assert r.status_code == 200, r.text
    r = world.client.post(f"/api/v1/activities/{b[1].id}/cancel", headers=headers)
    assert r.status_code == 200, r.text
    parties = [
        {"role": "required_attendee", "address": "alice@example.com"},
        {"role": "optional_attendee", "address": "bob@example.net"},
    ]
    r = world.client.patch(f"/api/v1/activities/{c[1].id}", json={"parties": parties}, headers=headers)
    assert r.status_code == 200, r.text
    summary = world.sync()
    assert summary.report.done == {"update remote": 2, "delete remote": 1}
    on_server = world.on_server()
    assert set(on_server) == {a[0], c[0]}
    assert essence(on_server[a[0]])[None]["summary"] == "A (renamed)"
    assert "bob@example.net" in essence(on_server[c[0]])[None]["attendees"]
    assert world.sync().report.done == {}


def test_a_change_stamped_before_the_last_pass_but_committed_after_is_found(world: World) -> None:
    [(uid, appt)] = _synced(world, "Late").items()
    # As a transaction would leave it that stamped the row half a minute before the last pass read the CRM and
    # committed after: written behind the ORM's back, with that stamp.
    with world.factory() as session:
        session.execute(
            update(Activity)
            .where(Activity.id == appt.id)
            .values(subject="Late (renamed)", modified_on=utcnow() - timedelta(seconds=30))
        )
        session.commit()
    assert world.sync().report.done == {"update remote": 1}
    assert essence(world.on_server()[uid])[None]["summary"] == "Late (renamed)"


def test_what_no_stamp_shows_reaches_the_server_with_the_hourly_listing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    [(uid, appt)] = _synced(world, "Quiet").items()
    # An attendee made optional in place, by a writer that does not stamp the appointment (a bulk update), long
    # enough after its stamp that the cursor's margin does not cover it.
    with world.factory() as session:
        session.execute(
            update(ActivityParty)
            .where(ActivityParty.activity_id == appt.id, ActivityParty.participation == 5)
            .values(participation=6)
        )
        session.execute(
            update(Activity)
            .where(Activity.id == appt.id)
            .values(modified_on=utcnow() - 2 * crm_changes.LATE_COMMIT - timedelta(minutes=1))
        )
        session.commit()
    assert world.sync().report.done == {}  # not seen from the cursor
    monkeypatch.setattr(crm_changes, "FULL_LISTING_EVERY", timedelta(0))  # the hour has passed
    assert world.sync().report.done == {"update remote": 1}
    assert "alice@example.com" in essence(world.on_server()[uid])[None]["attendees"]
    assert _crm_cursor(world) is not None


def test_the_stored_cursor_keeps_both_sides_and_reads_an_older_one() -> None:
    assert cursors.split(cursors.joined("token-1", "crm-1")) == ("token-1", "crm-1")
    assert cursors.split(cursors.joined(None, "crm-1")) == (None, "crm-1")
    assert cursors.joined("token-1", None) == "token-1"
    # A value stored before the CRM side had a cursor is the server's alone: the CRM is listed whole once.
    assert cursors.split("http://radicale.org/ns/sync/abc") == ("http://radicale.org/ns/sync/abc", None)
    assert cursors.split(None) == (None, None)
    assert crm_changes.CrmCursor.parse("not a cursor") is None
