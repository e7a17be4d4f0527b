"""Booking service activities: the conflicts a scheduler sees (already booked, outside working hours, another
meeting), the override, the service's rule checked, rescheduling and canceling with their history, and two
schedulers booking one resource at the same instant over real parallel requests: one booking, one conflict."""

import threading
from datetime import datetime
from typing import Any

import httpx

from tests.api import created, problem
from tests.calendar_sync.scheduling.scheduling_fixtures import API, at, book, resource, search, service, unit_planner
from tests.live_server import LiveServer
from tests.org import OrgBuilder, TestUser


def _room_service(client: Any, admin: TestUser, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    room = resource(client, admin, "Room", kind="facility", **extra)
    return room, service(client, admin, {"resources": [room["id"]], "count": 1})


def test_a_booking_holds_its_resource_and_shows_who_and_what(client, admin: TestUser) -> None:
    room, svc = _room_service(client, admin)
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe"})
    case = created(client, admin, "cases", {"title": "Boiler", "customer_type": "contact", "customer_id": jane["id"]})
    r = book(client, admin, svc["id"], at("2026-03-02 09:00"), [room], case_id=case["id"],
             customers=[{"party_type": "contact", "party_id": jane["id"]}])
    assert r.status_code == 201, r.text
    booking = r.json()
    assert (booking["subject"], booking["status"], booking["service_id"]) == ("Check-up", "Reserved", svc["id"])
    assert (booking["regarding_type"], booking["regarding_id"]) == ("case", case["id"])
    assert datetime.fromisoformat(booking["scheduled_end"]) == at("2026-03-02 10:00")  # the service's hour
    roles = {(p["role"], p["party_id"]) for p in booking["parties"]}
    assert roles == {("resource", room["id"]), ("customer", jane["id"])}
    assert client.get(f"{API}/service-activities/{booking['id']}", headers=admin.headers).json()["id"] == booking["id"]

    clash = problem(book(client, admin, svc["id"], at("2026-03-02 09:30"), [room], override=True), 409)
    assert [(c["resource_name"], c["reason"]) for c in clash["conflicts"]] == [("Room", "booked")]
    # Back to back is fine.
    assert book(client, admin, svc["id"], at("2026-03-02 10:00"), [room]).status_code == 201


def test_outside_working_hours_is_a_conflict_that_can_be_overridden(client, admin: TestUser) -> None:
    room, svc = _room_service(client, admin)
    clash = problem(book(client, admin, svc["id"], at("2026-03-02 18:00"), [room]), 409)
    assert clash["conflicts"][0]["reason"] == "outside_working_hours"
    assert "override" in clash["detail"]
    assert book(client, admin, svc["id"], at("2026-03-02 18:00"), [room], override=True).status_code == 201


def test_a_meeting_in_the_users_calendar_is_a_conflict(client, org: OrgBuilder, admin: TestUser) -> None:
    agent = org.user("agent@example.com", ["Customer Service Representative"])
    me = created(client, admin, "resources", {"kind": "user", "user_id": str(agent.id), "time_zone": "Europe/Paris"})
    svc = service(client, admin, {"resources": [me["id"]], "count": 1})
    created(client, agent, "activities", {"activity_type": "appointment", "subject": "Dentist",
                                          "scheduled_start": at("2026-03-02 09:30").isoformat(),
                                          "scheduled_end": at("2026-03-02 10:30").isoformat()})
    clash = problem(book(client, admin, svc["id"], at("2026-03-02 09:00"), [me]), 409)
    assert clash["conflicts"][0]["reason"] == "appointment"


def test_the_resources_must_meet_the_services_rule(client, admin: TestUser) -> None:
    rooms = [resource(client, admin, f"Room {i}", kind="facility") for i in range(3)]
    svc = service(client, admin, {"resources": [r["id"] for r in rooms[:2]], "count": 1})
    problem(book(client, admin, svc["id"], at("2026-03-02 09:00"), [rooms[2]]), 422, "resource_ids")
    problem(book(client, admin, svc["id"], at("2026-03-02 09:00"), [rooms[0], rooms[0]]), 422, "resource_ids")
    problem(client.post(f"{API}/service-activities", headers=admin.headers, json={
        "service_id": svc["id"], "start": "2026-03-02T09:00:00", "resource_ids": [rooms[0]["id"]]}), 422)


def test_rescheduling_moves_the_booking_and_keeps_its_history(client, admin: TestUser) -> None:
    room, svc = _room_service(client, admin)
    booking = book(client, admin, svc["id"], at("2026-03-02 09:00"), [room]).json()
    other = book(client, admin, svc["id"], at("2026-03-02 11:00"), [room]).json()

    problem(client.post(f"{API}/service-activities/{booking['id']}/reschedule", headers=admin.headers,
                        json={"start": at("2026-03-02 11:30").isoformat()}), 409)
    r = client.post(f"{API}/service-activities/{booking['id']}/reschedule", headers=admin.headers,
                    json={"start": at("2026-03-02 14:00").isoformat()})
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["scheduled_start"]) == at("2026-03-02 14:00")
    # The 09:00 slot is free again; 14:00 is not.
    starts = [datetime.fromisoformat(p["start"]) for p in search(
        client, admin, svc["id"], at("2026-03-02 09:00"), at("2026-03-02 15:00"), max_results=50)]
    assert starts[0] == at("2026-03-02 09:00") and at("2026-03-02 14:00") not in starts
    trail = client.get(f"{API}/activities/{booking['id']}/audit", headers=admin.headers).json()
    moved = next(e for e in trail if e["action"] == "reschedule")
    before, after = (datetime.fromisoformat(t) for t in moved["changes"]["scheduled_start"])
    assert (before, after) == (at("2026-03-02 09:00"), at("2026-03-02 14:00"))
    # The generic API does not move a booking behind the lock's back.
    problem(client.patch(f"{API}/activities/{other['id']}", headers=admin.headers,
                         json={"scheduled_start": at("2026-03-02 09:00").isoformat()}), 422, "scheduled_start")


def test_canceling_frees_the_resources_and_a_canceled_booking_is_booked_again(client, admin: TestUser) -> None:
    room, svc = _room_service(client, admin)
    booking = book(client, admin, svc["id"], at("2026-03-02 09:00"), [room]).json()
    r = client.post(f"{API}/service-activities/{booking['id']}/status", headers=admin.headers, json={"statuscode": 10})
    assert (r.status_code, r.json()["status"]) == (200, "No Show")
    assert book(client, admin, svc["id"], at("2026-03-02 09:00"), [room]).status_code == 201  # the time is free
    assert {p["role"] for p in r.json()["parties"]} == {"resource"}  # who it was, kept
    problem(client.post(f"{API}/activities/{booking['id']}/reopen", headers=admin.headers), 409)
    problem(client.post(f"{API}/service-activities/{booking['id']}/reschedule", headers=admin.headers,
                        json={"start": at("2026-03-02 09:30").isoformat()}), 409)
    r = client.post(f"{API}/service-activities/{booking['id']}/reschedule", headers=admin.headers,
                    json={"start": at("2026-03-02 10:00").isoformat()})
    assert (r.status_code, r.json()["status"]) == (200, "Reserved")
    # The generic cancel frees the time as well.
    client.post(f"{API}/activities/{booking['id']}/cancel", headers=admin.headers).raise_for_status()
    assert book(client, admin, svc["id"], at("2026-03-02 10:00"), [room]).status_code == 201


def test_status_moves_through_the_day(client, admin: TestUser) -> None:
    room, svc = _room_service(client, admin)
    booking = book(client, admin, svc["id"], at("2026-03-02 09:00"), [room]).json()
    for code, label in ((7, "Arrived"), (6, "In Progress"), (8, "Completed")):
        r = client.post(f"{API}/service-activities/{booking['id']}/status", headers=admin.headers,
                        json={"statuscode": code})
        assert (r.status_code, r.json()["status"]) == (200, label), r.text
    problem(client.post(f"{API}/service-activities/{booking['id']}/status", headers=admin.headers,
                        json={"statuscode": 1}), 422, "statuscode")


def test_another_units_resource_cannot_be_booked(client, org: OrgBuilder, admin: TestUser) -> None:
    branch = org.unit("Branch")
    theirs = resource(client, admin, "Branch room", kind="facility", business_unit_id=branch)
    svc = service(client, admin, {"resources": [theirs["id"]], "count": 1})
    outsider = unit_planner(client, admin, org, org.root_id, "outsider@example.com")
    problem(book(client, outsider, svc["id"], at("2026-03-02 09:00"), [theirs]), 422, "resource_ids[0]")
    insider = unit_planner(client, admin, org, branch, "insider@example.com")
    assert book(client, insider, svc["id"], at("2026-03-02 09:00"), [theirs]).status_code == 201
    assert client.post(f"{API}/service-activities", json={}).status_code == 401


def test_two_schedulers_booking_the_same_room_at_once_get_one_booking(client, admin: TestUser,
                                                                    live_server: LiveServer) -> None:
    """Real parallel requests against the served app: all start together at a barrier, over overlapping times."""
    room, svc = _room_service(client, admin)
    starts = ["09:00", "09:30", "09:00", "09:15", "09:45", "09:00", "09:30", "09:10"]
    barrier = threading.Barrier(len(starts))
    answers: list[int] = []

    def schedule(start: str) -> None:
        with httpx.Client(base_url=live_server.url, headers=admin.headers, timeout=60) as http:
            barrier.wait()
            r = http.post("/api/v1/service-activities", json={
                "service_id": svc["id"], "start": at(f"2026-03-02 {start}").isoformat(), "resource_ids": [room["id"]]})
            answers.append(r.status_code)

    threads = [threading.Thread(target=schedule, args=(s,)) for s in starts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(answers) == [201] + [409] * (len(starts) - 1)
    booked = client.get(f"{API}/service-activities", headers=admin.headers, params={
        "start": at("2026-03-02 00:00").isoformat(), "end": at("2026-03-03 00:00").isoformat()}).json()
    assert len(booked) == 1
