"""The service calendar view: what a scheduler sees of each resource over a day, a week or a month (working
time, bookings, another unit's bookings as busy, a user's meetings as free/busy), and the web page drawing it
in a real browser, with the free slots of a search highlighted and a hostile subject shown as text."""

import shutil
import subprocess
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import lxml.html

from calendar_sync.scheduling.view import MAX_WINDOW_DAYS
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import ResourceCalendarException
from tests.api import created, problem
from tests.calendar_sync.scheduling.scheduling_fixtures import API, PARIS, at, book, group, resource, search, service
from tests.live_server import LiveServer
from tests.org import OrgBuilder, TestUser
from tests.servers import missing

MONDAY = "2026-03-02"


def view(client: Any, user: TestUser, **params: Any) -> dict[str, Any]:
    r = client.get(f"{API}/service-calendar", headers=user.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def day(client: Any, user: TestUser, date: str = MONDAY, **params: Any) -> dict[str, Any]:
    return view(client, user, start=at(f"{date} 00:00").isoformat(), end=at(f"{date} 23:59").isoformat(), **params)


def row(calendar: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in calendar["resources"] if r["name"] == name)


def paris(spans: list[dict[str, Any]]) -> list[str]:
    """Spans on Paris's clock: 'Mon 08:00-17:00'."""
    def local(text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(PARIS)

    return [f"{local(s['start']):%a %H:%M}-{local(s['end']):%H:%M}" for s in spans]


def test_a_day_shows_working_time_bookings_and_time_off_as_the_search_sees_them(client, admin: TestUser,
                                                                               session_factory) -> None:
    room = resource(client, admin, "Room", kind="facility")
    resource(client, admin, "Atelier", kind="facility")
    svc = service(client, admin, {"resources": [room["id"]], "count": 1})
    booking = book(client, admin, svc["id"], at(f"{MONDAY} 09:00"), [room], subject="Boiler check").json()
    with UnitOfWork(session_factory) as uow:  # a long lunch: time off from 12:00 to 13:30
        uow.session.add(ResourceCalendarException(resource_id=uuid.UUID(room["id"]), kind="time_off", name="Lunch",
                                                  starts_at=at(f"{MONDAY} 12:00"), ends_at=at(f"{MONDAY} 13:30")))
        uow.commit()

    calendar = day(client, admin, time_zone="Europe/Paris")
    assert [r["name"] for r in calendar["resources"]] == ["Atelier", "Room"]  # by name
    mine = row(calendar, "Room")
    assert (mine["id"], mine["kind"], mine["capacity"], mine["time_zone"]) == (room["id"], "facility", 1,
                                                                               "Europe/Paris")
    assert paris(mine["working"]) == ["Mon 08:00-12:00", "Mon 13:30-17:00"]  # the default week, time off cut
    assert paris(row(calendar, "Atelier")["working"]) == ["Mon 08:00-17:00"]
    assert [(b["kind"], b["id"], b["subject"], b["status"]) for b in mine["bookings"]] == [
        ("booking", booking["id"], "Boiler check", "Reserved")]
    assert paris(mine["bookings"]) == ["Mon 09:00-10:00"]
    assert mine["appointments"] == []
    # The view and the search agree: the search proposes only working time that no booking holds.
    starts = {p["start"] for p in search(client, admin, svc["id"], at(f"{MONDAY} 00:00"), at(f"{MONDAY} 23:59"),
                                         max_results=200)}
    working = [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in mine["working"]]
    for start in map(datetime.fromisoformat, starts):
        assert any(a <= start < b for a, b in working), start
        assert not at(f"{MONDAY} 08:01") < start < at(f"{MONDAY} 10:00")
    assert at(f"{MONDAY} 10:00") in set(map(datetime.fromisoformat, starts))


def test_another_units_booking_shows_as_busy_without_what_it_is(client, org: OrgBuilder, admin: TestUser) -> None:
    room = resource(client, admin, "Room", kind="facility")
    svc = service(client, admin, {"resources": [room["id"]], "count": 1})
    branch = org.unit("Branch")
    agent = org.user("agent@example.com", ["Customer Service Representative"], unit_id=branch)
    theirs = book(client, admin, svc["id"], at(f"{MONDAY} 09:00"), [room], subject="Board meeting").json()
    own = book(client, agent, svc["id"], at(f"{MONDAY} 11:00"), [room], subject="Mrs Smith")
    assert own.status_code == 201, own.text

    seen = row(day(client, agent), "Room")["bookings"]
    assert seen[0] == {"kind": "busy", "start": seen[0]["start"], "end": seen[0]["end"]}
    assert paris(seen) == ["Mon 09:00-10:00", "Mon 11:00-12:00"]
    assert (seen[1]["id"], seen[1]["subject"]) == (own.json()["id"], "Mrs Smith")
    assert "Board meeting" not in str(day(client, agent))
    # The administrator reads both.
    assert [b["subject"] for b in row(day(client, admin), "Room")["bookings"]] == ["Board meeting", "Mrs Smith"]
    assert row(day(client, admin), "Room")["bookings"][0]["id"] == theirs["id"]
    # A canceled booking no longer holds the room, and leaves the calendar.
    client.post(f"{API}/service-activities/{theirs['id']}/status", headers=admin.headers,
                json={"statuscode": 9}).raise_for_status()
    assert [b["subject"] for b in row(day(client, admin), "Room")["bookings"]] == ["Mrs Smith"]


def test_a_users_meetings_show_as_free_busy_only(client, org: OrgBuilder, admin: TestUser) -> None:
    agent = org.user("agent@example.com", ["Customer Service Representative"])
    me = created(client, admin, "resources", {"kind": "user", "user_id": str(agent.id), "time_zone": "Europe/Paris"})
    created(client, agent, "activities", {"activity_type": "appointment", "subject": "Dentist",
                                          "scheduled_start": at(f"{MONDAY} 09:30").isoformat(),
                                          "scheduled_end": at(f"{MONDAY} 10:30").isoformat()})
    mine = row(day(client, admin), me["name"])
    assert paris(mine["appointments"]) == ["Mon 09:30-10:30"]
    assert "Dentist" not in str(mine) and mine["bookings"] == []


def test_the_resources_shown_are_those_asked_for(client, admin: TestUser) -> None:
    lyon = created(client, admin, "sites", {"name": "Lyon", "time_zone": "Europe/Paris"})
    a, b = resource(client, admin, "A"), resource(client, admin, "B", site_id=lyon["id"])
    c = resource(client, admin, "C")
    team = group(client, admin, "Team", [a, c])
    names = lambda cal: [r["name"] for r in cal["resources"]]  # noqa: E731
    assert names(day(client, admin)) == ["A", "B", "C"]
    assert names(day(client, admin, resource_id=[c["id"], b["id"]])) == ["B", "C"]
    assert names(day(client, admin, group_id=team["id"])) == ["A", "C"]
    assert names(day(client, admin, site_id=lyon["id"])) == ["B"]
    assert names(day(client, admin, group_id=team["id"], site_id=lyon["id"])) == []
    problem(client.get(f"{API}/service-calendar", headers=admin.headers,
                       params={"resource_id": str(uuid.uuid4()), "view": "day"}), 404)


def test_a_week_and_a_month_are_laid_out_in_the_zone_asked_for(client, admin: TestUser) -> None:
    resource(client, admin, "Room", kind="facility")
    week = view(client, admin, view="week", date="2026-03-04", time_zone="Europe/Paris")  # a Wednesday
    assert (week["view"], week["time_zone"]) == ("week", "Europe/Paris")
    assert (week["start"], week["end"]) == ("2026-03-01T23:00:00Z", "2026-03-08T23:00:00Z")  # Monday to Monday
    assert paris(row(week, "Room")["working"]) == [f"{d} 08:00-17:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri")]
    # The week the clocks go forward is an hour shorter; its working days keep their wall-clock hours.
    spring = view(client, admin, view="week", date="2026-03-29", time_zone="Europe/Paris")
    assert (spring["start"], spring["end"]) == ("2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z")
    month = view(client, admin, view="month", date="2026-03-15", time_zone="Europe/Paris")
    assert (month["start"], month["end"]) == ("2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z")
    assert len(row(month, "Room")["working"]) == 22
    one = view(client, admin, view="day", date=MONDAY, time_zone="America/New_York")
    assert (one["start"], one["end"]) == ("2026-03-02T05:00:00Z", "2026-03-03T05:00:00Z")


def test_the_view_needs_a_token_and_a_sensible_window(client, admin: TestUser) -> None:
    problem(client.get(f"{API}/service-calendar", params={"view": "day"}), 401)
    too_long = {"start": at("2026-03-01 00:00").isoformat(), "end": at("2026-05-03 00:00").isoformat()}
    assert "62" in problem(client.get(f"{API}/service-calendar", headers=admin.headers, params=too_long), 422,
                           "end")["detail"] and MAX_WINDOW_DAYS == 62
    problem(client.get(f"{API}/service-calendar", headers=admin.headers,
                       params={"start": at("2026-03-01 00:00").isoformat()}), 422, "end")
    problem(client.get(f"{API}/service-calendar", headers=admin.headers,
                       params={"view": "day", "time_zone": "Mars/Olympus"}), 422, "time_zone")


def test_the_page_is_served_without_data_and_locked_to_its_own_origin(client) -> None:
    page = client.get("/service-calendar")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")  # nothing fetched from elsewhere
    for name, kind in (("service_calendar.js", "text/javascript"), ("service_calendar.css", "text/css")):
        asset = client.get(f"/service-calendar/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert "innerHTML" not in asset.text and "://" not in asset.text
    assert client.get("/service-calendar/..%2Fview.py").status_code == 404
    assert client.get("/service-calendar/view.py").status_code == 404


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("Chromium", "apt-get install chromium")
    assert found is not None
    return found


def render(url: str, tmp_path: Path) -> Any:
    """The page's DOM once its script is done, as headless Chromium leaves it."""
    done = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
         "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "<body" in done.stdout, done.stderr[-2000:]
    return lxml.html.fromstring(done.stdout)


def test_the_page_draws_the_timeline_and_highlights_the_free_slots(client, admin: TestUser,
                                                                   live_server: LiveServer, tmp_path: Path) -> None:
    _chromium()
    room = resource(client, admin, "Room", kind="facility")
    other = resource(client, admin, "Annex", kind="facility")
    svc = service(client, admin, {"resources": [room["id"]], "count": 1}, granularity_minutes=60)
    hostile = "<img src=x onerror=alert(1)> Boiler"
    booking = book(client, admin, svc["id"], at(f"{MONDAY} 09:00"), [room], subject=hostile).json()
    query = {"view": "day", "date": MONDAY, "time_zone": "Europe/Paris", "service_id": svc["id"]}

    dom = render(f"{live_server.url}/service-calendar?{urlencode(query)}#token={admin.token}", tmp_path)

    assert dom.body.get("data-state") == "searched", dom.get_element_by_id("message").text_content()
    rows = dom.xpath("//div[contains(@class, 'resource') and @data-resource-id]")
    assert [(r.get("data-resource-id"), r.xpath(".//*[@class='name']")[0].text_content()) for r in rows] == [
        (other["id"], "Annex"), (room["id"], "Room")]
    blocks = dom.xpath("//div[@data-activity-id]")
    assert [(b.get("data-activity-id"), b.text_content()) for b in blocks] == [(booking["id"], hostile)]
    assert paris([{"start": blocks[0].get("data-start"), "end": blocks[0].get("data-end")}]) == ["Mon 09:00-10:00"]
    assert dom.xpath("//img") == []  # the subject stayed text
    assert dom.xpath("//div[contains(@class, 'off')]")  # the night is shaded
    # One highlighted slot per proposal, on the room's row, none over the booking.
    slots = dom.xpath("//div[contains(@class, 'slot-free')]")
    proposals = search(client, admin, svc["id"], at(f"{MONDAY} 00:00"), at("2026-03-03 00:00"),
                       time_zone="Europe/Paris", max_results=50)
    assert {s.get("data-resource-id") for s in slots} == {room["id"]}
    assert sorted(datetime.fromisoformat(s.get("data-start")) for s in slots) == sorted(
        datetime.fromisoformat(p["start"]) for p in proposals)
    assert paris([{"start": s.get("data-start"), "end": s.get("data-end")} for s in slots]) == [
        f"Mon {h:02d}:00-{h + 1:02d}:00" for h in (8, 10, 11, 12, 13, 14, 15, 16)]
    for s in slots:
        assert s.getparent().getparent().get("data-resource-id") == room["id"]


def test_the_page_asks_for_a_token_when_it_has_none_or_a_refused_one(client, admin: TestUser,
                                                                       live_server: LiveServer,
                                                                       tmp_path: Path) -> None:
    resource(client, admin, "Room", kind="facility")
    dom = render(f"{live_server.url}/service-calendar?view=day&date={MONDAY}#token=not-a-token", tmp_path)
    assert dom.body.get("data-state") == "token"
    assert dom.get_element_by_id("token-form").get("hidden") is None
    assert "refused" in dom.get_element_by_id("message").text_content()
    assert dom.xpath("//div[@data-resource-id]") == []
