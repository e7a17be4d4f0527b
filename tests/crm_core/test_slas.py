"""Business calendars, SLAs and the SLA clocks of cases, through the API: calendar rules and what refuses a
delete, the SLA lifecycle (draft, active and read-only, one default), and a case's KPIs: due times counted in
the calendar, the item its conditions pick, pause and resume, first response, resolve, the timer job, cancel
and reactivate."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.services import business_calendars, case_slas
from crm_core.services import cases as case_service
from crm_core.services.business_hours import add_minutes
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

CAL, SLAS, C = "/api/v1/business-calendars", "/api/v1/slas", "/api/v1/cases"
ALWAYS = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
OFFICE = [{"weekday": d, "start": s, "end": e} for d in range(5) for s, e in (("09:00", "12:30"), ("13:30", "17:00"))]
HIGH = {"field": "priority_code", "op": "eq", "value": 1}
ITEMS = [
    {"name": "Urgent answer", "kpi": "first_response", "conditions": HIGH, "warn_after_minutes": 30,
     "failure_after_minutes": 60},
    {"name": "Answer", "kpi": "first_response", "warn_after_minutes": 120, "failure_after_minutes": 240},
    {"name": "Resolve", "kpi": "resolve", "warn_after_minutes": 600, "failure_after_minutes": 960},
]


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _calendar(client, admin: TestUser, hours=ALWAYS, zone: str = "UTC", **body) -> dict:
    return created(client, admin, "business-calendars", {"name": "Support hours", "time_zone": zone,
                                                          "hours": hours, **body})


def _sla(client, admin: TestUser, calendar: dict | None = None, activate: bool = True, **body) -> dict:
    body.setdefault("items", ITEMS)
    if calendar is not None:
        body["business_calendar_id"] = calendar["id"]
    sla = created(client, admin, "slas", {"name": "Standard", **body})
    if activate:
        r = client.post(f"{SLAS}/{sla['id']}/activate", headers=admin.headers)
        assert r.status_code == 200, r.text
        sla = r.json()
    return sla


def _case(client, user: TestUser, **body) -> dict:
    account = created(client, user, "accounts", {"name": "Contoso"})
    body.setdefault("title", "Printer on fire")
    return created(client, user, "cases", {"customer_type": "account", "customer_id": account["id"], **body})


def _kpis(client, user: TestUser, case: dict) -> list[dict]:
    r = client.get(f"{C}/{case['id']}/sla-kpis", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _kpi(client, user: TestUser, case: dict, kpi: str) -> dict:
    return next(k for k in _kpis(client, user, case) if k["kpi"] == kpi)


def _status(client, user: TestUser, case: dict, statecode: int = 0, statuscode: int | None = None) -> dict:
    r = client.post(f"{C}/{case['id']}/set-state", json={"statecode": statecode, "statuscode": statuscode},
                    headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """Moves the time the case service tells its SLA hooks (the case records keep their real times)."""
    moved = {"by": timedelta(0)}
    real = case_service.utcnow
    monkeypatch.setattr(case_service, "utcnow", lambda: real() + moved["by"])
    return moved


# --- business calendars ------------------------------------------------------------------------------
def test_calendar_rules(client, admin: TestUser) -> None:
    problem(client.post(CAL, json={"name": "X", "time_zone": "Mars/Olympus"}, headers=admin.headers), 422, "time_zone")
    overlap = [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 1, "start": "09:00", "end": "12:00"},
               {"weekday": 0, "start": "11:00", "end": "14:00"}]
    problem(client.post(CAL, json={"name": "X", "time_zone": "UTC", "hours": overlap}, headers=admin.headers),
            422, "hours[2]")
    bad = [{"weekday": 0, "start": "17:00", "end": "09:00"}]
    problem(client.post(CAL, json={"name": "X", "time_zone": "UTC", "hours": bad}, headers=admin.headers),
            422, "hours[0].end")
    problem(client.post(CAL, json={"name": "X", "time_zone": "UTC", "kind": "holiday_schedule", "hours": ALWAYS},
                        headers=admin.headers), 422, "hours")
    office = _calendar(client, admin, OFFICE, "Europe/Paris")
    assert (office["kind"], office["week_minutes"]) == ("customer_service", 5 * 7 * 60)
    assert office["hours"][:2] == [{"weekday": 0, "start": "09:00", "end": "12:30"},
                                   {"weekday": 0, "start": "13:30", "end": "17:00"}]
    problem(client.post(CAL, json={"name": "X", "time_zone": "UTC", "holiday_calendar_id": office["id"]},
                        headers=admin.headers), 422, "holiday_calendar_id")
    closures = [{"name": "Bastille Day", "starts_on": "2025-07-14"},
                {"name": "Summer", "starts_on": "2025-08-01", "ends_on": "2025-08-15"}]
    r = client.patch(f"{CAL}/{office['id']}", json={"hours": ALWAYS, "closures": closures}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["week_minutes"], len(r.json()["hours"])) == (7 * 24 * 60, 7)
    assert [(c["name"], c["starts_on"], c["ends_on"]) for c in r.json()["closures"]] == [
        ("Bastille Day", "2025-07-14", "2025-07-14"), ("Summer", "2025-08-01", "2025-08-15")]
    # Given without hours, the hours stay.
    r = client.patch(f"{CAL}/{office['id']}", json={"description": "Open all week"}, headers=admin.headers)
    assert len(r.json()["hours"]) == 7


def test_a_calendar_in_use_is_not_deleted_and_keeps_its_hours(client, admin: TestUser) -> None:
    holidays = created(client, admin, "business-calendars", {"name": "Holidays", "kind": "holiday_schedule",
                                                             "time_zone": "UTC"})
    office = _calendar(client, admin, OFFICE, holiday_calendar_id=holidays["id"])
    sla = _sla(client, admin, office)
    body = problem(client.delete(f"{CAL}/{office['id']}", headers=admin.headers), 409)
    assert "Standard" in body["detail"]
    body = problem(client.delete(f"{CAL}/{holidays['id']}", headers=admin.headers), 409)
    assert "Support hours" in body["detail"]
    problem(client.patch(f"{CAL}/{office['id']}", json={"hours": []}, headers=admin.headers), 422, "hours")
    problem(client.patch(f"{CAL}/{holidays['id']}", json={"kind": "customer_service"}, headers=admin.headers),
            422, "kind")
    client.post(f"{SLAS}/{sla['id']}/deactivate", headers=admin.headers)
    assert client.delete(f"{SLAS}/{sla['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"{CAL}/{office['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"{CAL}/{holidays['id']}", headers=admin.headers).status_code == 204


# --- SLAs ----------------------------------------------------------------------------------------------
def test_sla_lifecycle_draft_active_read_only_and_one_default(client, admin: TestUser) -> None:
    office = _calendar(client, admin, OFFICE)
    draft = _sla(client, admin, office, activate=False, items=[], is_default=True)
    assert (draft["state"], draft["status"], draft["is_default"], draft["pause_statuscodes"]) == (
        "Draft", "Draft", True, [2, 3])
    problem(client.post(f"{SLAS}/{draft['id']}/activate", headers=admin.headers), 422, "items")
    problem(client.patch(f"{SLAS}/{draft['id']}", json={"pause_statuscodes": [1]}, headers=admin.headers),
            422, "pause_statuscodes")
    bad_item = {**ITEMS[0], "conditions": {"field": "shoe_size", "op": "eq", "value": 1}}
    problem(client.patch(f"{SLAS}/{draft['id']}", json={"items": [bad_item]}, headers=admin.headers),
            422, "items[0].conditions.field")
    late_warning = {**ITEMS[0], "warn_after_minutes": 90}
    problem(client.patch(f"{SLAS}/{draft['id']}", json={"items": [late_warning]}, headers=admin.headers),
            422, "items[0].warn_after_minutes")
    r = client.patch(f"{SLAS}/{draft['id']}", json={"items": ITEMS, "pause_statuscodes": [4, 2]},
                     headers=admin.headers)
    assert [(i["sequence_number"], i["name"]) for i in r.json()["items"]] == [
        (1, "Urgent answer"), (2, "Answer"), (3, "Resolve")]
    assert r.json()["pause_statuscodes"] == [2, 4]

    active = client.post(f"{SLAS}/{draft['id']}/activate", headers=admin.headers).json()
    assert active["state"] == "Active"
    problem(client.patch(f"{SLAS}/{draft['id']}", json={"name": "Changed"}, headers=admin.headers), 409)
    problem(client.delete(f"{SLAS}/{draft['id']}", headers=admin.headers), 409)

    premium = _sla(client, admin, office, activate=False, name="Premium", is_default=True)
    assert premium["is_default"] is True
    defaults = client.get(SLAS, params={"is_default": True}, headers=admin.headers).json()["items"]
    assert [s["name"] for s in defaults] == ["Premium"]

    holidays = created(client, admin, "business-calendars", {"name": "H", "kind": "holiday_schedule",
                                                             "time_zone": "UTC"})
    problem(client.patch(f"{SLAS}/{premium['id']}", json={"business_calendar_id": holidays["id"]},
                         headers=admin.headers), 422, "business_calendar_id")


def test_salespeople_read_slas_and_calendars_but_do_not_write_them(client, org: OrgBuilder, admin: TestUser) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    office = _calendar(client, admin, OFFICE)
    sla = _sla(client, admin, office)
    problem(client.post(SLAS, json={"name": "Mine", "items": ITEMS}, headers=seller.headers), 403)
    problem(client.post(CAL, json={"name": "Mine", "time_zone": "UTC"}, headers=seller.headers), 403)
    problem(client.post(f"{SLAS}/{sla['id']}/deactivate", headers=seller.headers), 403)
    assert client.get(f"{SLAS}/{sla['id']}", headers=seller.headers).json()["name"] == "Standard"
    assert [c["name"] for c in client.get(CAL, headers=seller.headers).json()["items"]] == ["Support hours"]


# --- a case's clocks -----------------------------------------------------------------------------------
def test_a_case_gets_clocks_due_in_business_time(client, admin: TestUser, session_factory) -> None:
    office = _calendar(client, admin, OFFICE, "Europe/Paris")
    sla = _sla(client, admin, office, is_default=True)
    case = _case(client, admin)
    assert case["sla_id"] == sla["id"]
    kpis = _kpis(client, admin, case)
    assert sorted((k["kpi"], k["name"], k["status"]) for k in kpis) == [
        ("first_response", "Answer", "In Progress"), ("resolve", "Resolve", "In Progress")]
    with UnitOfWork(session_factory) as uow:
        paris = business_calendars.clock(uow.session, uuid.UUID(office["id"]))
    for k in kpis:
        minutes = {"Answer": (120, 240), "Resolve": (600, 960)}[k["name"]]
        assert _t(k["warning_time"]) == add_minutes(paris, _t(k["started_on"]), minutes[0])
        assert _t(k["failure_time"]) == add_minutes(paris, _t(k["started_on"]), minutes[1])
    case = client.get(f"{C}/{case['id']}", headers=admin.headers).json()
    answer = _kpi(client, admin, case, "first_response")
    assert (_t(case["response_by"]), case["first_response_sla_status"]) == (_t(answer["failure_time"]), "In Progress")
    assert case["resolve_by_sla_status"] == "In Progress"


def test_conditions_pick_the_item_and_follow_the_case(client, admin: TestUser) -> None:
    sla = _sla(client, admin, _calendar(client, admin))
    urgent = _case(client, admin, priority_code=1, sla_id=sla["id"])
    answer = _kpi(client, admin, urgent, "first_response")
    assert answer["name"] == "Urgent answer"
    assert _t(answer["failure_time"]) - _t(answer["started_on"]) == timedelta(minutes=60)
    assert urgent["response_by"] == answer["failure_time"]

    normal = _case(client, admin, sla_id=sla["id"])
    before = _kpi(client, admin, normal, "first_response")
    assert _t(before["failure_time"]) - _t(before["started_on"]) == timedelta(minutes=240)
    r = client.patch(f"{C}/{normal['id']}", json={"priority_code": 1}, headers=admin.headers)
    assert _t(r.json()["response_by"]) == _t(before["started_on"]) + timedelta(minutes=60)
    answers = [k for k in _kpis(client, admin, normal) if k["kpi"] == "first_response"]
    assert [(k["name"], k["status"]) for k in answers] == [("Urgent answer", "In Progress"), ("Answer", "Canceled")]
    assert answers[0]["started_on"] == before["started_on"]


def test_which_sla_a_case_follows(client, admin: TestUser) -> None:
    calendar = _calendar(client, admin)
    assert _case(client, admin)["sla_id"] is None  # no default SLA: no clocks
    draft = _sla(client, admin, calendar, activate=False, name="Draft")
    r = client.post(C, json={"title": "X", "customer_type": "account", "sla_id": draft["id"],
                             "customer_id": created(client, admin, "accounts", {"name": "A"})["id"]},
                    headers=admin.headers)
    problem(r, 422, "sla_id")
    default = _sla(client, admin, calendar, name="Default", is_default=True)
    other = _sla(client, admin, calendar, name="Other", items=[ITEMS[2]])
    case = _case(client, admin)
    assert case["sla_id"] == default["id"]
    problem(client.patch(f"{C}/{case['id']}", json={"sla_id": draft["id"]}, headers=admin.headers), 422, "sla_id")
    r = client.patch(f"{C}/{case['id']}", json={"sla_id": other["id"]}, headers=admin.headers)
    assert (r.json()["sla_id"], r.json()["response_by"]) == (other["id"], None)
    kpis = _kpis(client, admin, case)
    assert sorted((k["sla_id"] == other["id"], k["kpi"], k["status"]) for k in kpis) == [
        (False, "first_response", "Canceled"), (False, "resolve", "Canceled"), (True, "resolve", "In Progress")]
    # The new SLA's clock runs from the case's creation.
    assert _t(kpis[0]["started_on"]) == _t(case["created_on"])
    # An SLA that cases follow, or followed, stays; a deleted case takes its clocks with it.
    client.post(f"{SLAS}/{default['id']}/deactivate", headers=admin.headers)
    assert "1 cases" in problem(client.delete(f"{SLAS}/{default['id']}", headers=admin.headers), 409)["detail"]
    assert client.delete(f"{C}/{case['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"{SLAS}/{default['id']}", headers=admin.headers).status_code == 204


def test_on_hold_pauses_and_resuming_pushes_the_due_times(client, admin: TestUser, clock) -> None:
    sla = _sla(client, admin, _calendar(client, admin), pause_statuscodes=[2])
    case = _case(client, admin, sla_id=sla["id"])
    before = _kpi(client, admin, case, "resolve")
    _status(client, admin, case, 0, 3)  # Waiting for Details does not pause this SLA
    assert _kpi(client, admin, case, "resolve")["status"] == "In Progress"
    on_hold = _status(client, admin, case, 0, 2)
    assert on_hold["resolve_by_sla_status"] == "Paused"
    paused = _kpi(client, admin, case, "resolve")
    assert (paused["status"], paused["paused_on"] is not None) == ("Paused", True)
    clock["by"] = timedelta(hours=2, seconds=20)
    _status(client, admin, case, 0, 1)
    resumed = _kpi(client, admin, case, "resolve")
    assert (resumed["status"], resumed["paused_minutes"]) == ("In Progress", 120)
    assert _t(resumed["failure_time"]) == _t(before["failure_time"]) + timedelta(minutes=120)
    assert _t(resumed["warning_time"]) == _t(before["warning_time"]) + timedelta(minutes=120)


def test_first_response_and_resolution_succeed_in_time(client, admin: TestUser) -> None:
    sla = _sla(client, admin, _calendar(client, admin))
    case = _case(client, admin, sla_id=sla["id"])
    r = client.patch(f"{C}/{case['id']}", json={"first_response_sent": True}, headers=admin.headers)
    assert (r.json()["first_response_sla_status"], r.json()["first_response_on"] is not None) == ("Succeeded", True)
    answer = _kpi(client, admin, case, "first_response")
    assert (answer["status_code"], answer["succeeded_on"] is not None) == (4, True)
    problem(client.patch(f"{C}/{case['id']}", json={"first_response_sent": False}, headers=admin.headers),
            422, "first_response_sent")
    r = client.post(f"{C}/{case['id']}/resolve", json={"subject": "Fixed"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["resolve_by_sla_status"] == "Succeeded"
    assert [k["status"] for k in _kpis(client, admin, case)] == ["Succeeded", "Succeeded"]


def test_the_timer_job_marks_nearing_then_noncompliant(client, admin: TestUser, session_factory) -> None:
    sla = _sla(client, admin, _calendar(client, admin))
    case = _case(client, admin, priority_code=1, sla_id=sla["id"])
    started = _t(_kpi(client, admin, case, "first_response")["started_on"])
    with UnitOfWork(session_factory) as uow:
        assert case_slas.refresh_timers(uow.session, started + timedelta(minutes=10)) == 0
        assert case_slas.refresh_timers(uow.session, started + timedelta(minutes=45)) == 1
        uow.commit()
    answer = _kpi(client, admin, case, "first_response")
    assert (answer["status"], _t(answer["warning_reached_on"])) == ("Nearing Noncompliance",
                                                                    started + timedelta(minutes=30))
    with UnitOfWork(session_factory) as uow:
        assert case_slas.refresh_timers(uow.session, started + timedelta(hours=20)) == 2  # answer and resolve
        uow.commit()
    answer = _kpi(client, admin, case, "first_response")
    assert (answer["status"], answer["failed_on"]) == ("Noncompliant", answer["failure_time"])
    assert client.get(f"{C}/{case['id']}", headers=admin.headers).json()["resolve_by_sla_status"] == "Noncompliant"
    trail = client.get(f"{C}/{case['id']}/audit", headers=admin.headers).json()
    assert "sla_timer" in {e["action"] for e in trail}
    # Answering late changes nothing: the KPI failed.
    client.patch(f"{C}/{case['id']}", json={"first_response_sent": True}, headers=admin.headers)
    assert _kpi(client, admin, case, "first_response")["status"] == "Noncompliant"


def test_a_clock_past_its_failure_time_reads_noncompliant_before_the_timer_runs(client, admin: TestUser,
                                                                               clock) -> None:
    sla = _sla(client, admin, _calendar(client, admin))
    clock["by"] = -timedelta(hours=5)  # the case's clocks started five hours ago
    case = _case(client, admin, priority_code=1, sla_id=sla["id"])
    assert _kpi(client, admin, case, "first_response")["status"] == "Noncompliant"
    clock["by"] = timedelta(0)
    r = client.patch(f"{C}/{case['id']}", json={"first_response_sent": True}, headers=admin.headers)
    answer = _kpi(client, admin, case, "first_response")
    assert (r.json()["first_response_sla_status"], answer["failed_on"]) == ("Noncompliant", answer["failure_time"])


def test_cancel_and_reactivate(client, admin: TestUser) -> None:
    sla = _sla(client, admin, _calendar(client, admin))
    case = _case(client, admin, sla_id=sla["id"])
    canceled = client.post(f"{C}/{case['id']}/cancel", headers=admin.headers).json()
    assert (canceled["first_response_sla_status"], canceled["resolve_by_sla_status"]) == ("Canceled", "Canceled")
    assert all(k["canceled_on"] for k in _kpis(client, admin, case))
    active = client.post(f"{C}/{case['id']}/reactivate", headers=admin.headers).json()
    assert (active["first_response_sla_status"], active["resolve_by_sla_status"]) == ("In Progress", "In Progress")
    kpis = _kpis(client, admin, case)
    assert sorted((k["kpi"], k["status"]) for k in kpis) == [
        ("first_response", "Canceled"), ("first_response", "In Progress"),
        ("resolve", "Canceled"), ("resolve", "In Progress")]
    # Resolved and reactivated: a new resolve clock; the answered first response stays as it was.
    client.patch(f"{C}/{case['id']}", json={"first_response_sent": True}, headers=admin.headers)
    client.post(f"{C}/{case['id']}/resolve", json={"subject": "Fixed"}, headers=admin.headers)
    client.post(f"{C}/{case['id']}/reactivate", headers=admin.headers)
    kpis = _kpis(client, admin, case)
    assert [(k["kpi"], k["status"]) for k in kpis][:2] == [("resolve", "In Progress"), ("resolve", "Succeeded")]
    assert [k["status"] for k in kpis if k["kpi"] == "first_response"] == ["Succeeded", "Canceled"]


def test_a_case_under_a_contract_follows_the_contracts_sla(client, admin: TestUser) -> None:
    calendar = _calendar(client, admin)
    _sla(client, admin, calendar, name="Default", is_default=True)
    gold = _sla(client, admin, calendar, name="Gold", items=[ITEMS[2]])
    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    template = created(client, admin, "contract-templates", {"name": "Coverage", "abbreviation": "COV",
                                                             "allotment_type": 3})
    start = datetime.now(UTC).date() - timedelta(days=10)
    contract = created(client, admin, "contracts", {
        "template_id": template["id"], "title": "Gold support", "customer_type": "account",
        "customer_id": account["id"], "currency_code": "EUR", "active_on": str(start),
        "expires_on": str(start + timedelta(days=365)), "sla_id": gold["id"]})
    r = client.post(f"/api/v1/contracts/{contract['id']}/lines", json={"title": "Support"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    assert client.post(f"/api/v1/contracts/{contract['id']}/invoice", headers=admin.headers).json()["state"] == "Active"
    case = created(client, admin, "cases", {"title": "Down", "customer_type": "account", "customer_id": account["id"],
                                            "contract_id": contract["id"]})
    assert case["sla_id"] == gold["id"]
    assert [k["name"] for k in _kpis(client, admin, case)] == ["Resolve"]
