"""Find available times through the API, for each kind of selection rule Dynamics has: one of a group and two of
another at the same site, the user who handles the case, any of these rooms; with preferred resources, a start
window, a facility's capacity, and the meetings in a user's calendar (recurring ones expanded)."""

import uuid
from typing import Any

from sqlalchemy import update

from crm_core.models import Activity
from tests.api import created, problem
from tests.calendar_sync.scheduling.scheduling_fixtures import (
    API,
    at,
    book,
    group,
    local,
    names,
    resource,
    search,
    service,
    site,
    unit_planner,
)
from tests.org import OrgBuilder, TestUser

MONDAY, TUESDAY = at("2026-03-02 00:00"), at("2026-03-03 00:00")
WEEK_END = at("2026-03-07 00:00")


def _first(client: Any, user: TestUser, svc: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return search(client, user, svc["id"], MONDAY, WEEK_END, time_zone="Europe/Paris", **extra)[0]


def test_one_doctor_and_two_nurses_on_the_same_site(client, admin: TestUser) -> None:
    paris, lyon = site(client, admin, "Paris"), site(client, admin, "Lyon")
    d_paris = resource(client, admin, "Dr Paris", site_id=paris["id"])
    d_lyon = resource(client, admin, "Dr Lyon", site_id=lyon["id"])
    nurses = [resource(client, admin, "Nurse P1", site_id=paris["id"]),
              resource(client, admin, "Nurse L1", site_id=lyon["id"]),
              resource(client, admin, "Nurse L2", site_id=lyon["id"])]
    doctors_group = group(client, admin, "Doctors", [d_paris, d_lyon])
    nurses_group = group(client, admin, "Nurses", nurses)
    svc = service(client, admin, {"rules": [{"group": doctors_group["id"], "count": 1},
                                            {"group": nurses_group["id"], "count": 2}],
                                  "count": -1, "same_site": True})

    first = _first(client, admin, svc)
    # Paris has one nurse only: the whole team comes from Lyon.
    assert (local(first), names(first), first["site_id"]) == ("Mon 08:00", {"Dr Lyon", "Nurse L1", "Nurse L2"},
                                                              lyon["id"])
    assert book(client, admin, svc["id"], at("2026-03-02 08:00"), [d_lyon, nurses[1], nurses[2]]).status_code == 201
    again = search(client, admin, svc["id"], MONDAY, WEEK_END, time_zone="Europe/Paris")
    assert [(local(p), p["site_id"]) for p in again[:2]] == [("Mon 09:00", lyon["id"]), ("Mon 09:30", lyon["id"])]
    # A second nurse in Paris makes Paris possible at 08:00.
    more = resource(client, admin, "Nurse P2", site_id=paris["id"])
    client.patch(f"{API}/resource-groups/{nurses_group['id']}", headers=admin.headers,
                 json={"resource_ids": [n["id"] for n in [*nurses, more]]}).raise_for_status()
    assert names(_first(client, admin, svc)) == {"Dr Paris", "Nurse P1", "Nurse P2"}


def test_the_user_who_handles_the_case(client, org: OrgBuilder, admin: TestUser) -> None:
    agents = [org.user(f"agent{i}@example.com", ["Customer Service Representative"]) for i in range(2)]
    for agent in agents:
        created(client, admin, "resources", {"kind": "user", "user_id": str(agent.id)})
    contact = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe"})
    case = created(client, agents[1], "cases", {"title": "Boiler", "customer_type": "contact",
                                                 "customer_id": contact["id"]})
    svc = service(client, admin, {"case_owner": True})

    proposal = _first(client, admin, svc, case_id=case["id"])
    assert names(proposal) == {"Agent1"}
    problem(client.post(f"{API}/services/{svc['id']}/available-times", headers=admin.headers,
                        json={"start": MONDAY.isoformat(), "end": WEEK_END.isoformat()}), 422, "case_id")


def test_any_of_these_rooms_with_a_preferred_one(client, admin: TestUser) -> None:
    rooms = [resource(client, admin, f"Room {i}", kind="facility") for i in range(3)]
    svc = service(client, admin, {"resources": [r["id"] for r in rooms], "count": 1})
    for room in rooms[:2]:
        assert book(client, admin, svc["id"], at("2026-03-02 08:00"), [room]).status_code == 201

    first = _first(client, admin, svc)
    assert (local(first), names(first)) == ("Mon 08:00", {"Room 2"})
    preferred = _first(client, admin, svc, preferred_resource_ids=[rooms[1]["id"]])
    assert (local(preferred), names(preferred)) == ("Mon 08:00", {"Room 2"})  # Room 1 is taken at 08:00
    later = search(client, admin, svc["id"], at("2026-03-02 09:00"), WEEK_END, preferred_resource_ids=[rooms[1]["id"]])
    assert names(later[0]) == {"Room 1"}


def test_a_room_for_three_holds_three_bookings_at_once(client, admin: TestUser) -> None:
    room = resource(client, admin, "Training room", kind="facility", capacity=3)
    svc = service(client, admin, {"resources": [room["id"]], "count": 1})
    for _ in range(3):
        assert book(client, admin, svc["id"], at("2026-03-02 08:00"), [room]).status_code == 201
    assert local(_first(client, admin, svc)) == "Mon 09:00"
    r = book(client, admin, svc["id"], at("2026-03-02 08:30"), [room])
    assert problem(r, 409)["conflicts"][0]["reason"] == "booked"


def test_start_times_keep_to_the_services_window_and_grid(client, admin: TestUser) -> None:
    room = resource(client, admin, "Room", kind="facility")
    svc = service(client, admin, {"resources": [room["id"]], "count": 1}, duration=45, granularity_minutes=15,
                  start_window_from="10:15", start_window_to="11:00")
    found = search(client, admin, svc["id"], MONDAY, TUESDAY, time_zone="Europe/Paris")
    assert [local(p) for p in found] == ["Mon 10:15", "Mon 10:30", "Mon 10:45", "Mon 11:00"]


def test_a_users_meetings_keep_them_busy_and_a_daily_series_too(client, org: OrgBuilder, admin: TestUser,
                                                                  session_factory) -> None:
    agent = org.user("agent@example.com", ["Customer Service Representative"])
    me = created(client, admin, "resources", {"kind": "user", "user_id": str(agent.id), "time_zone": "Europe/Paris"})
    svc = service(client, admin, {"resources": [me["id"]], "count": 1}, duration=60, granularity_minutes=60)
    created(client, admin, "activities", {
        "activity_type": "appointment", "subject": "Customer visit",
        "scheduled_start": at("2026-03-02 08:00").isoformat(),
        "scheduled_end": at("2026-03-02 10:00").isoformat(),
        "parties": [{"role": "required_attendee", "party_type": "user", "party_id": str(agent.id)}]})
    created(client, agent, "activities", {
        "activity_type": "recurring_appointment", "subject": "Stand-up", "rrule": "FREQ=DAILY;COUNT=10",
        "time_zone": "Europe/Paris", "scheduled_start": at("2026-03-01 11:00").isoformat(),
        "scheduled_end": at("2026-03-01 12:00").isoformat()})
    webinar = created(client, agent, "activities", {
        "activity_type": "appointment", "subject": "Optional webinar",
        "scheduled_start": at("2026-03-02 10:00").isoformat(), "scheduled_end": at("2026-03-02 11:00").isoformat()})
    with session_factory.begin() as session:  # shown as Free (as a synced TRANSP:TRANSPARENT event is): no block
        free = update(Activity).where(Activity.id == uuid.UUID(webinar["id"])).values(statecode=0, statuscode=1)
        session.execute(free)

    found = search(client, admin, svc["id"], MONDAY, TUESDAY, time_zone="Europe/Paris")
    assert [local(p) for p in found] == ["Mon 10:00", "Mon 12:00", "Mon 13:00", "Mon 14:00", "Mon 15:00",
                                         "Mon 16:00"]


def test_a_search_refuses_a_bad_window_and_a_service_without_a_rule(client, admin: TestUser) -> None:
    svc = created(client, admin, "services", {"name": "Unplanned", "duration_minutes": 30})
    body = {"start": MONDAY.isoformat(), "end": WEEK_END.isoformat()}
    problem(client.post(f"{API}/services/{svc['id']}/available-times", json=body, headers=admin.headers),
            422, "selection_rule")
    room = resource(client, admin, "Room", kind="facility")
    ok = service(client, admin, {"resources": [room["id"]], "count": 1})
    problem(client.post(f"{API}/services/{ok['id']}/available-times", headers=admin.headers,
                        json={"start": WEEK_END.isoformat(), "end": MONDAY.isoformat()}), 422, "end")
    problem(client.post(f"{API}/services/{ok['id']}/available-times", headers=admin.headers,
                        json={**body, "time_zone": "Mars/Base"}), 422, "time_zone")
    problem(client.post(f"{API}/services/{ok['id']}/available-times", headers=admin.headers,
                        json={**body, "start": "2026-03-02T00:00:00"}), 422)
    assert client.post(f"{API}/services/{ok['id']}/available-times", json=body).status_code == 401


def test_another_units_resources_are_not_proposed(client, org: OrgBuilder, admin: TestUser) -> None:
    branch = org.unit("Branch")
    mine = resource(client, admin, "Head office room", kind="facility")
    theirs = resource(client, admin, "Branch room", kind="facility", business_unit_id=branch)
    svc = service(client, admin, {"resources": [theirs["id"], mine["id"]], "count": 1})
    planner = unit_planner(client, admin, org, branch, "planner@example.com")
    found = search(client, planner, svc["id"], MONDAY, TUESDAY, max_results=50)
    assert {n for p in found for n in names(p)} == {"Branch room"}
    head = unit_planner(client, admin, org, org.root_id, "head@example.com")
    found = search(client, head, svc["id"], MONDAY, TUESDAY, max_results=50)
    assert {n for p in found for n in names(p)} == {"Head office room"}


def test_working_hours_time_off_and_business_closures_set_through_the_api(client, admin: TestUser) -> None:
    room = resource(client, admin, "Workshop", working_hours=[
        {"weekday": d, "start": s, "end": e} for d in range(5) for s, e in (("09:00", "12:00"), ("13:00", "15:00"))])
    svc = service(client, admin, {"resources": [room["id"]], "count": 1}, duration=60, granularity_minutes=60)
    r = client.post(f"{API}/resources/{room['id']}/calendar-exceptions", headers=admin.headers, json={
        "kind": "time_off", "name": "Dentist", "starts_at": at("2026-03-02 13:00").isoformat(),
        "ends_at": at("2026-03-02 14:00").isoformat()})
    assert r.status_code == 201, r.text
    created(client, admin, "business-calendars", {
        "name": "Holidays", "kind": "holiday_schedule", "time_zone": "Europe/Paris", "is_business_closures": True,
        "closures": [{"name": "Closed for inventory", "starts_on": "2026-03-03", "ends_on": "2026-03-03"}]})

    found = search(client, admin, svc["id"], MONDAY, at("2026-03-05 00:00"), time_zone="Europe/Paris")
    # Lunch is a break, Monday 13:00 is time off, Tuesday is closed.
    assert [local(p) for p in found] == ["Mon 09:00", "Mon 10:00", "Mon 11:00", "Mon 14:00",
                                         "Wed 09:00", "Wed 10:00", "Wed 11:00", "Wed 13:00", "Wed 14:00"]
