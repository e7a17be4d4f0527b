"""Calendars through the API: a rep connects his own CalDAV calendar or feed, an admin anyone's; the password is
sealed at rest and never returned; an Exchange calendar is a mailbox's; bad URLs and choices are refused."""

import json

from sqlalchemy import select

from crm_core.models.calendars import Calendar
from crm_core.services.calendars import calendar_connection
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

C = "/api/v1/calendars"
PASSWORD = "Caldav-pw-93b1e2"


def test_a_rep_connects_his_caldav_calendar_and_its_password_stays_sealed(client, org: OrgBuilder,
                                                                           session_factory) -> None:
    rep = org.user("rep@example.com", ["Salesperson"])
    cal = created(client, rep, "calendars", {"name": "Rep on Radicale", "kind": "caldav",
                                             "url": "https://dav.example.com/rep/calendar/", "username": "rep",
                                             "password": PASSWORD})
    assert (cal["user_id"], cal["has_password"], cal["conflict_policy"], cal["incoming_filter"]) == \
        (str(rep.id), True, "newest_wins", "known_attendees")
    assert PASSWORD not in json.dumps(cal)
    with session_factory() as session:
        row = session.scalar(select(Calendar))
        assert PASSWORD not in (row.password_secret or "")
        assert calendar_connection(session, row).password == PASSWORD
        assert PASSWORD not in repr(calendar_connection(session, row))


def test_a_rep_sees_only_his_calendars_and_cannot_connect_one_for_a_colleague(client, org: OrgBuilder,
                                                                             admin: TestUser) -> None:
    rep = org.user("rep@example.com", ["Salesperson"])
    other = org.user("other@example.com", ["Salesperson"])
    mine = created(client, rep, "calendars", {"name": "Mine", "kind": "ics", "url": "https://example.com/a.ics"})
    assert client.get(f"{C}/{mine['id']}", headers=other.headers).status_code == 404
    problem(client.post(C, json={"name": "Yours", "kind": "ics", "url": "https://example.com/b.ics",
                                 "user_id": str(other.id)}, headers=rep.headers), 403)
    theirs = created(client, admin, "calendars", {"name": "Theirs", "kind": "ics", "url": "/srv/feeds/b.ics",
                                                  "user_id": str(other.id)})
    assert theirs["user_id"] == str(other.id) and theirs["read_only"] is True
    assert [c["name"] for c in client.get(C, headers=other.headers).json()["items"]] == ["Theirs"]


def test_bad_calendars_are_refused_naming_the_field(client, admin: TestUser) -> None:
    problem(client.post(C, json={"name": "X", "kind": "caldav", "url": "ftp://dav.example.com/"},
                        headers=admin.headers), 422, "url")
    problem(client.post(C, json={"name": "X", "kind": "caldav"}, headers=admin.headers), 422, "url")
    problem(client.post(C, json={"name": "X", "kind": "graph"}, headers=admin.headers), 422, "mailbox_id")
    problem(client.post(C, json={"name": "X", "kind": "pop"}, headers=admin.headers), 422, "kind")
    problem(client.post(C, json={"name": "X", "kind": "ics", "url": "https://e.com/x.ics",
                                 "conflict_policy": "coin_flip"}, headers=admin.headers), 422, "conflict_policy")
    created(client, admin, "calendars", {"name": "X", "kind": "ics", "url": "https://e.com/x.ics"})
    problem(client.post(C, json={"name": "X", "kind": "ics", "url": "https://e.com/y.ics"},
                        headers=admin.headers), 409)
