"""A resource's time as an administrator keeps it: weekly working hours with breaks, time off and extra hours,
the calendar its bookings are published to, and the organisation's business closures."""

import uuid
from datetime import UTC, datetime

import pytest

from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
MORNING_AND_AFTERNOON = [{"weekday": 0, "start": "13:00", "end": "17:00"},
                         {"weekday": 0, "start": "09:00", "end": "12:00"},
                         {"weekday": 5, "start": "10:00", "end": "24:00"}]


def _van(client, admin: TestUser, **extra) -> dict:
    return created(client, admin, "resources", {"kind": "equipment", "name": "Van", **extra})


def _exceptions_url(resource: dict) -> str:
    return f"{API}/resources/{resource['id']}/calendar-exceptions"


def _add(client, user: TestUser, resource: dict, kind: str, starts_at: str, ends_at: str, name: str | None = None,
         ) -> dict:
    r = client.post(_exceptions_url(resource), json={"kind": kind, "name": name, "starts_at": starts_at,
                                                     "ends_at": ends_at}, headers=user.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- working hours ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("hours", "field"), [
    ([{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 1, "start": "09:00", "end": "12:00"},
      {"weekday": 0, "start": "11:30", "end": "14:00"}], "working_hours[2]"),
    ([{"weekday": 0, "start": "9:00", "end": "12:00"}], "working_hours[0].start"),
    ([{"weekday": 0, "start": "09:60", "end": "12:00"}], "working_hours[0].start"),
    ([{"weekday": 0, "start": "24:00", "end": "24:00"}], "working_hours[0].start"),
    ([{"weekday": 0, "start": "09:00", "end": "24:30"}], "working_hours[0].end"),
    ([{"weekday": 0, "start": "17:00", "end": "09:00"}], "working_hours[0].end"),
    ([{"weekday": 0, "start": "09:00", "end": "09:00"}], "working_hours[0].end"),
    ([{"weekday": 7, "start": "09:00", "end": "12:00"}], "working_hours.0.weekday"),
])
def test_bad_working_hours_are_refused_naming_the_interval(client, admin: TestUser, hours: list, field: str) -> None:
    problem(client.post(f"{API}/resources", json={"kind": "equipment", "name": "Van", "working_hours": hours},
                        headers=admin.headers), 422, field)
    van = _van(client, admin, working_hours=MORNING_AND_AFTERNOON)
    # Checked before anything is written: a refused change leaves the hours as they were.
    problem(client.patch(f"{API}/resources/{van['id']}", json={"name": "Big van", "working_hours": hours},
                         headers=admin.headers), 422, field)
    again = client.get(f"{API}/resources/{van['id']}", headers=admin.headers).json()
    assert (again["name"], again["working_hours"]) == ("Van", van["working_hours"])


def test_working_hours_keep_their_breaks_and_are_replaced_whole(client, admin: TestUser) -> None:
    van = _van(client, admin, working_hours=MORNING_AND_AFTERNOON)
    # Sorted by day and start; the lunch break is the gap between Monday's two intervals.
    assert van["working_hours"] == [{"weekday": 0, "start": "09:00", "end": "12:00"},
                                    {"weekday": 0, "start": "13:00", "end": "17:00"},
                                    {"weekday": 5, "start": "10:00", "end": "24:00"}]
    url = f"{API}/resources/{van['id']}"
    # Not given: kept.
    r = client.patch(url, json={"description": "The white one"}, headers=admin.headers)
    assert r.json()["working_hours"] == van["working_hours"]
    # Given: the new list is the whole week; intervals of one day may touch.
    touching = [{"weekday": 2, "start": "08:00", "end": "12:00"}, {"weekday": 2, "start": "12:00", "end": "16:00"}]
    r = client.patch(url, json={"working_hours": touching}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["working_hours"] == touching
    assert client.get(url, headers=admin.headers).json()["working_hours"] == touching
    listed = client.get(f"{API}/resources", params={"name": "Van"}, headers=admin.headers).json()["items"]
    assert listed[0]["working_hours"] == touching
    # Empty: the default week of the booking engine.
    r = client.patch(url, json={"working_hours": []}, headers=admin.headers)
    assert r.json()["working_hours"] == []
    assert _van(client, admin, name="Truck")["working_hours"] == []


def test_a_resource_names_a_calendar_to_publish_to_and_a_real_time_zone(client, admin: TestUser) -> None:
    dav = created(client, admin, "calendars", {"name": "Room 1 on DAV", "kind": "caldav",
                                               "url": "https://dav.example.com/rooms/1/"})
    feed = created(client, admin, "calendars", {"name": "Feed", "kind": "ics", "url": "https://e.com/x.ics"})
    room = created(client, admin, "resources", {"kind": "facility", "name": "Room 1", "capacity": 3,
                                                "calendar_id": dav["id"], "time_zone": "Europe/Paris"})
    assert (room["calendar_id"], room["capacity"]) == (dav["id"], 3)
    url = f"{API}/resources/{room['id']}"
    problem(client.patch(url, json={"calendar_id": str(uuid.uuid4())}, headers=admin.headers), 422, "calendar_id")
    problem(client.patch(url, json={"calendar_id": feed["id"]}, headers=admin.headers), 422, "calendar_id")
    problem(client.patch(url, json={"time_zone": "Europe/Atlantis"}, headers=admin.headers), 422, "time_zone")
    r = client.patch(url, json={"calendar_id": None}, headers=admin.headers)
    assert r.json()["calendar_id"] is None


# --- calendar exceptions ---------------------------------------------------------------------------

def test_time_off_and_extra_hours_are_added_listed_by_overlap_and_removed(client, admin: TestUser) -> None:
    van = _van(client, admin, time_zone="Europe/Paris")
    url = _exceptions_url(van)
    day_off = _add(client, admin, van, "time_off", "2025-07-14T00:00:00+02:00", "2025-07-15T00:00:00+02:00",
                   "Bastille Day")
    saturday = _add(client, admin, van, "working", "2025-07-19T09:00:00+02:00", "2025-07-19T13:00:00+02:00")
    vacation = _add(client, admin, van, "time_off", "2025-08-01T00:00:00+02:00", "2025-08-16T00:00:00+02:00",
                    "  Summer  ")
    # Kept as instants, in UTC.
    assert _t(day_off["starts_at"]) == datetime(2025, 7, 13, 22, tzinfo=UTC)
    assert (day_off["kind"], day_off["name"], day_off["resource_id"]) == ("time_off", "Bastille Day", van["id"])
    assert (saturday["name"], vacation["name"]) == (None, "Summer")

    def listed(**params: str) -> list[str]:
        r = client.get(url, params=params, headers=admin.headers)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()]

    assert listed() == [day_off["id"], saturday["id"], vacation["id"]]
    # Those overlapping the window; one that ends when the window starts does not.
    assert listed(**{"from": "2025-07-15T00:00:00+02:00", "to": "2025-08-02T00:00:00+02:00"}) == \
        [saturday["id"], vacation["id"]]
    assert listed(**{"from": "2025-07-19T12:00:00+02:00"}) == [saturday["id"], vacation["id"]]
    assert listed(to="2025-07-14T12:00:00+02:00") == [day_off["id"]]
    assert listed(**{"from": "2025-09-01T00:00:00Z"}) == []
    problem(client.get(url, params={"from": "2025-07-15T00:00:00"}, headers=admin.headers), 422, "from")
    problem(client.get(url, params={"from": "2025-07-15T00:00:00Z", "to": "2025-07-14T00:00:00Z"},
                       headers=admin.headers), 422, "to")

    assert client.delete(f"{url}/{saturday['id']}", headers=admin.headers).status_code == 204
    assert listed() == [day_off["id"], vacation["id"]]
    problem(client.delete(f"{url}/{saturday['id']}", headers=admin.headers), 404)
    truck = _van(client, admin, name="Truck")
    problem(client.delete(f"{_exceptions_url(truck)}/{day_off['id']}", headers=admin.headers), 404)
    problem(client.get(f"{API}/resources/{uuid.uuid4()}/calendar-exceptions", headers=admin.headers), 404)
    # A resource goes with its hours and exceptions.
    client.patch(f"{API}/resources/{van['id']}", json={"working_hours": MORNING_AND_AFTERNOON}, headers=admin.headers)
    assert client.delete(f"{API}/resources/{van['id']}", headers=admin.headers).status_code == 204
    problem(client.get(url, headers=admin.headers), 404)


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "holiday"}, "kind"),
    ({"ends_at": "2025-07-14T09:00:00+02:00"}, "ends_at"),  # before starts_at
    ({"ends_at": "2025-07-14T10:00:00+02:00"}, "ends_at"),  # equal
    ({"ends_at": "2026-07-15T10:00:01+02:00"}, "ends_at"),  # a year and a day and a second
    ({"starts_at": "2025-07-14T10:00:00"}, "starts_at"),  # no offset
    ({"name": "x" * 161}, "name"),
])
def test_bad_calendar_exceptions_are_refused_naming_the_field(client, admin: TestUser, body: dict,
                                                             field: str) -> None:
    van = _van(client, admin)
    good = {"kind": "time_off", "name": "Doctor", "starts_at": "2025-07-14T10:00:00+02:00",
            "ends_at": "2025-07-14T12:00:00+02:00"}
    problem(client.post(_exceptions_url(van), json={**good, **body}, headers=admin.headers), 422, field)
    assert client.get(_exceptions_url(van), headers=admin.headers).json() == []
    # 366 days is the longest.
    _add(client, admin, van, "time_off", "2025-07-14T10:00:00+02:00", "2026-07-15T10:00:00+02:00")


def test_exceptions_are_read_with_the_resource_and_changed_with_write_on_it(client, org: OrgBuilder) -> None:
    admin = org.admin()
    unit_a, unit_b = org.unit("North"), org.unit("South")
    van = _van(client, admin, business_unit_id=str(unit_a))
    bike = created(client, admin, "resources", {"kind": "equipment", "name": "Bike", "business_unit_id": str(unit_b)})
    day_off = _add(client, admin, van, "time_off", "2025-07-14T00:00:00Z", "2025-07-15T00:00:00Z")

    # Everybody reads the scheduling records; only administrators change them.
    rep = org.user("rep@example.com", ["Salesperson"], unit_b)
    assert [e["id"] for e in client.get(_exceptions_url(van), headers=rep.headers).json()] == [day_off["id"]]
    problem(client.post(_exceptions_url(van), json={"kind": "working", "starts_at": "2025-07-19T09:00:00Z",
                                                    "ends_at": "2025-07-19T12:00:00Z"}, headers=rep.headers), 403)
    problem(client.delete(f"{_exceptions_url(van)}/{day_off['id']}", headers=rep.headers), 403)
    problem(client.patch(f"{API}/resources/{van['id']}", json={"working_hours": []}, headers=rep.headers), 403)

    # A planner who reads and keeps the resources of his own business unit only.
    role = client.post(f"{API}/security-roles", json={"name": "Unit Planner", "privileges": [
        {"entity": "resource", "privilege": p, "depth": "business_unit"} for p in ("read", "write")
    ]}, headers=admin.headers)
    assert role.status_code == 201, role.text
    planner = org.user("planner@example.com", [], unit_b)
    r = client.put(f"{API}/users/{planner.id}/roles", json={"role_ids": [role.json()["id"]]}, headers=admin.headers)
    assert r.status_code == 200, r.text
    problem(client.get(_exceptions_url(van), headers=planner.headers), 404)
    problem(client.delete(f"{_exceptions_url(van)}/{day_off['id']}", headers=planner.headers), 404)
    own = _add(client, planner, bike, "time_off", "2025-07-14T00:00:00Z", "2025-07-15T00:00:00Z")
    assert [e["id"] for e in client.get(_exceptions_url(bike), headers=planner.headers).json()] == [own["id"]]
    assert [e["id"] for e in client.get(_exceptions_url(van), headers=admin.headers).json()] == [day_off["id"]]


def test_hours_and_exceptions_show_in_the_resource_audit_trail(client, admin: TestUser) -> None:
    van = _van(client, admin, working_hours=[{"weekday": 0, "start": "09:00", "end": "12:00"}])
    r = client.patch(f"{API}/resources/{van['id']}", json={"working_hours": [
        {"weekday": 1, "start": "10:00", "end": "11:00"}]}, headers=admin.headers)
    assert r.status_code == 200, r.text
    day_off = _add(client, admin, van, "time_off", "2025-07-14T00:00:00+02:00", "2025-07-15T00:00:00+02:00",
                   "Bastille Day")
    assert client.delete(f"{_exceptions_url(van)}/{day_off['id']}", headers=admin.headers).status_code == 204

    trail = client.get(f"{API}/resources/{van['id']}/audit", headers=admin.headers).json()
    assert [e["action"] for e in trail] == ["remove_calendar_exception", "add_calendar_exception", "update",
                                            "create"]
    removed, added, updated, made = (e["changes"] for e in trail)
    key = f"exception.{day_off['id']}"
    assert added[f"{key}.kind"] == [None, "time_off"]
    assert added[f"{key}.name"] == [None, "Bastille Day"]
    assert _t(added[f"{key}.starts_at"][1]) == datetime(2025, 7, 13, 22, tzinfo=UTC)
    assert removed[f"{key}.kind"] == ["time_off", None]
    hours_made = {k.rsplit(".", 1)[1]: v for k, v in made.items() if k.startswith("hours.")}
    assert hours_made["weekday"] == [None, 0]
    assert hours_made["start_minute"] == [None, 9 * 60]
    # Replacing the hours: the old interval goes, the new one comes.
    weekdays = [v for k, v in updated.items() if k.endswith(".weekday")]
    assert len(weekdays) == 2
    assert [0, None] in weekdays
    assert [None, 1] in weekdays


# --- the organisation's business closures -----------------------------------------------------------

def test_one_holiday_schedule_is_the_business_closures(client, admin: TestUser) -> None:
    cal = f"{API}/business-calendars"

    def holidays(name: str, **extra) -> dict:
        return created(client, admin, "business-calendars", {
            "name": name, "kind": "holiday_schedule", "time_zone": "Europe/Paris",
            "closures": [{"name": "Bastille Day", "starts_on": "2025-07-14"}], **extra})

    france = holidays("France", is_business_closures=True)
    assert france["is_business_closures"] is True
    problem(client.post(cal, json={"name": "Support", "time_zone": "UTC", "is_business_closures": True},
                        headers=admin.headers), 422, "is_business_closures")
    support = created(client, admin, "business-calendars", {"name": "Support", "time_zone": "UTC"})
    assert support["is_business_closures"] is False
    problem(client.patch(f"{cal}/{support['id']}", json={"is_business_closures": True}, headers=admin.headers),
            422, "is_business_closures")
    # A calendar that is the business closures stays a holiday schedule.
    problem(client.patch(f"{cal}/{france['id']}", json={"kind": "customer_service"}, headers=admin.headers),
            422, "kind")

    # Setting it on another takes it from the first, in one request.
    germany = holidays("Germany")
    r = client.patch(f"{cal}/{germany['id']}", json={"is_business_closures": True}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["is_business_closures"] is True
    assert client.get(f"{cal}/{france['id']}", headers=admin.headers).json()["is_business_closures"] is False
    flagged = client.get(cal, params={"is_business_closures": True}, headers=admin.headers).json()["items"]
    assert [c["name"] for c in flagged] == ["Germany"]
    # And a new one may take it at once.
    spain = holidays("Spain", is_business_closures=True)
    flagged = client.get(cal, params={"is_business_closures": True}, headers=admin.headers).json()["items"]
    assert [c["id"] for c in flagged] == [spain["id"]]
    trail = client.get(f"{cal}/{germany['id']}/audit", headers=admin.headers).json()
    assert trail[0]["changes"]["is_business_closures"] == [True, False]

    # Cleared, it may become a customer-service calendar again.
    r = client.patch(f"{cal}/{spain['id']}", json={"is_business_closures": False, "kind": "customer_service",
                                                   "closures": []}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["is_business_closures"]) == ("customer_service", False)
