"""Business rules' triggers as an administrator sees them: each fires once per event (the workers looking
again, or two of them at once, run nothing twice), conditions filter, and the beat task runs them."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm_core.api.routes.rules import record_services
from crm_core.automation import runner
from crm_core.automation.runner import Occurrence, prune_events
from crm_core.automation.scans import scan_due
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import RuleEvent
from crm_core.settings import Settings
from mailbridge.tracking import import_local
from tests.api import created, problem
from tests.mailbridge.tracking_fixtures import contact, local_mailbox, mail, maildir
from tests.org import OrgBuilder, TestUser
from tests.workers.rule_fixtures import (
    API,
    R,
    change,
    define_rule,
    every_task,
    read,
    run_events,
    runs_of,
    tasks_regarding,
)


def test_created_trigger_with_conditions_sets_fields_once(client, admin: TestUser, session_factory) -> None:
    rule = define_rule(
        client,
        admin,
        "lead",
        {"type": "created"},
        [{"type": "set_fields", "fields": {"lead_quality_code": 1, "description": "Hot: big company"}}],
        conditions={
            "all": [
                {"field": "company_name", "op": "contains", "value": "corp"},
                {
                    "any": [
                        {"field": "estimated_amount", "op": "ge", "value": 10000},
                        {"field": "job_title", "op": "eq", "value": "CEO"},
                    ]
                },
            ]
        },
    )
    hot = created(
        client,
        admin,
        "leads",
        {"subject": "Fleet", "last_name": "Big", "company_name": "Mega Corp", "estimated_amount": "25000"},
    )
    cold = created(
        client,
        admin,
        "leads",
        {"subject": "Pens", "last_name": "Small", "company_name": "Tiny Corp", "estimated_amount": "50"},
    )
    summary = run_events(session_factory)
    assert summary.succeeded == 1
    assert read(client, admin, f"leads/{hot['id']}")["lead_quality_code"] == 1
    assert read(client, admin, f"leads/{hot['id']}")["description"] == "Hot: big company"
    assert read(client, admin, f"leads/{cold['id']}")["lead_quality_code"] is None
    [run] = runs_of(client, admin, rule)
    assert (run["outcome"], run["record_id"], run["event_type"]) == ("succeeded", hot["id"], "record.created")
    assert run["actions"] == [
        {"type": "set_fields", "fields": {"lead_quality_code": 1, "description": "Hot: big company"}}
    ]
    assert run["finished_on"] is not None and run["error"] is None
    # The change is the rule owner's, in the lead's audit trail like any other.
    trail = client.get(f"{API}/leads/{hot['id']}/audit", headers=admin.headers).json()
    assert [e["action"] for e in trail if "lead_quality_code" in e["changes"]] == ["rule"]
    # A rule with a history goes with it.
    assert client.delete(f"{R}/{rule['id']}", headers=admin.headers).status_code == 204
    problem(client.get(f"{R}/{rule['id']}/runs", headers=admin.headers), 404)


def test_updated_trigger_on_named_fields_assigns_the_record(
    client, org: OrgBuilder, admin: TestUser, session_factory
) -> None:
    closer = org.user("closer@example.com", ["Salesperson"])
    define_rule(
        client,
        admin,
        "lead",
        {"type": "updated", "fields": ["lead_quality_code"]},
        [{"type": "assign", "user_id": str(closer.id)}],
        conditions={"field": "lead_quality_code", "op": "eq", "value": 1},
    )
    lead = created(client, admin, "leads", {"subject": "Fleet", "last_name": "Big"})
    change(client, admin, f"leads/{lead['id']}", {"job_title": "CEO"})  # not a watched field
    run_events(session_factory)
    assert read(client, admin, f"leads/{lead['id']}")["owner_id"] == str(admin.id)
    change(client, admin, f"leads/{lead['id']}", {"lead_quality_code": 1})
    assert run_events(session_factory).succeeded == 1
    assert read(client, admin, f"leads/{lead['id']}")["owner_id"] == str(closer.id)
    assert read(client, closer, f"leads/{lead['id']}")["subject"] == "Fleet"


def test_threshold_fires_when_the_value_crosses_and_creates_a_task_due(
    client, admin: TestUser, session_factory
) -> None:
    rule = define_rule(
        client,
        admin,
        "opportunity",
        {"type": "threshold", "field": "estimated_value", "op": "ge", "value": 10000},
        [{"type": "create_task", "subject": "Ask for a manager's review", "due_in": "P2D"}],
    )
    account = created(client, admin, "accounts", {"name": "Contoso"})
    opp = created(
        client,
        admin,
        "opportunities",
        {
            "name": "Fleet",
            "customer_type": "account",
            "customer_id": account["id"],
            "estimated_value": "5000",
            "currency_code": "EUR",
        },
    )
    run_events(session_factory)
    assert tasks_regarding(client, admin, opp["id"]) == []
    before = utcnow()
    change(client, admin, f"opportunities/{opp['id']}", {"estimated_value": "12000"})  # crosses
    change(client, admin, f"opportunities/{opp['id']}", {"estimated_value": "15000"})  # stays above
    assert run_events(session_factory).succeeded == 1
    [task] = tasks_regarding(client, admin, opp["id"])
    assert task["subject"] == "Ask for a manager's review"
    due = datetime.fromisoformat(task["scheduled_end"])
    assert before + timedelta(days=2) <= due <= utcnow() + timedelta(days=2)
    assert len(runs_of(client, admin, rule)) == 1


def test_relative_time_fires_once_when_the_date_comes(client, admin: TestUser, session_factory) -> None:
    rule = define_rule(
        client,
        admin,
        "opportunity",
        {"type": "relative_time", "date_field": "estimated_close_date", "offset": "-P1D"},
        [{"type": "follow_up", "in": "PT4H"}],
    )
    account = created(client, admin, "accounts", {"name": "Contoso"})
    soon = (utcnow() + timedelta(days=2)).date()
    opp = created(
        client,
        admin,
        "opportunities",
        {
            "name": "Fleet",
            "customer_type": "account",
            "customer_id": account["id"],
            "estimated_close_date": soon.isoformat(),
            "currency_code": "EUR",
        },
    )
    later = created(
        client,
        admin,
        "opportunities",
        {
            "name": "Pens",
            "customer_type": "account",
            "customer_id": account["id"],
            "currency_code": "EUR",
            "estimated_close_date": (soon + timedelta(days=30)).isoformat(),
        },
    )
    services = record_services()
    assert scan_due(session_factory, services, 8).succeeded == 0  # not yet: the close date is two days away
    in_two_days = datetime.combine(soon, datetime.min.time(), UTC) + timedelta(hours=1)
    assert scan_due(session_factory, services, 8, now=in_two_days).succeeded == 1
    assert scan_due(session_factory, services, 8, now=in_two_days + timedelta(hours=1)).succeeded == 0
    [task] = tasks_regarding(client, admin, opp["id"])
    assert task["subject"] == "Follow up: Fleet"
    assert datetime.fromisoformat(task["scheduled_end"]) == in_two_days + timedelta(hours=4)
    assert tasks_regarding(client, admin, later["id"]) == []
    [run] = runs_of(client, admin, rule)
    assert (run["event_type"], run["record_id"]) == ("relative_time", opp["id"])


def test_sla_warning_routes_the_case_to_a_queue_once(client, admin: TestUser, session_factory) -> None:
    calendar = created(
        client,
        admin,
        "business-calendars",
        {
            "name": "Always",
            "time_zone": "UTC",
            "hours": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
        },
    )
    sla = created(
        client,
        admin,
        "slas",
        {
            "name": "Standard",
            "business_calendar_id": calendar["id"],
            "is_default": True,
            "items": [
                {"name": "Answer", "kpi": "first_response", "warn_after_minutes": 30, "failure_after_minutes": 60}
            ],
        },
    )
    assert client.post(f"{API}/slas/{sla['id']}/activate", headers=admin.headers).status_code == 200
    queue = created(client, admin, "queues", {"name": "Escalations"})
    rule = define_rule(
        client, admin, "case", {"type": "sla_warning"}, [{"type": "route_to_queue", "queue_id": queue["id"]}]
    )
    account = created(client, admin, "accounts", {"name": "Contoso"})
    case = created(
        client, admin, "cases", {"title": "Printer on fire", "customer_type": "account", "customer_id": account["id"]}
    )
    services = record_services()
    assert scan_due(session_factory, services, 8).succeeded == 0
    warned = utcnow() + timedelta(minutes=45)
    assert scan_due(session_factory, services, 8, now=warned).succeeded == 1
    assert scan_due(session_factory, services, 8, now=warned + timedelta(minutes=5)).succeeded == 0
    items = client.get(f"{API}/queues/{queue['id']}/items", headers=admin.headers).json()["items"]
    assert [i["object_id"] for i in items] == [case["id"]]
    [run] = runs_of(client, admin, rule)
    assert (run["event_type"], run["outcome"]) == ("sla_warning", "succeeded")


def test_email_tracked_creates_a_task_regarding_the_emails_record(
    client, org: OrgBuilder, admin: TestUser, session_factory, tmp_path: Path
) -> None:
    rule = define_rule(
        client,
        admin,
        "activity",
        {"type": "email_tracked"},
        [{"type": "create_task", "subject": "Answer the customer", "due_in": "PT8H"}],
        conditions={"field": "subject", "op": "contains", "value": "invoice"},
    )
    box_id, rep = local_mailbox(client, admin, org, session_factory)
    jane = contact(client, rep, "Jane", "Doe", "jane@customer.example")
    path = maildir(
        tmp_path / "Maildir",
        {
            "": [
                mail(sender="jane@customer.example", to=rep.email, subject="Invoice question"),
                mail(sender="jane@customer.example", to=rep.email, subject="Lunch?"),
            ]
        },
    )
    assert import_local(session_factory, box_id, path).tracked == 2
    run_events(session_factory)
    [run] = runs_of(client, admin, rule)
    assert (run["event_type"], run["outcome"], run["error"]) == ("email.tracked", "succeeded", None)
    email = read(client, admin, f"activities/{run['record_id']}")
    assert email["subject"] == "Invoice question"
    [task] = (
        tasks_regarding(client, admin, email["regarding_id"]) if email["regarding_id"] else every_task(client, admin)
    )
    assert task["subject"] == "Answer the customer"
    assert datetime.fromisoformat(task["scheduled_end"]) > utcnow() + timedelta(hours=7)
    assert jane["id"] in [p["party_id"] for p in email["parties"]]


def test_two_workers_on_one_event_run_the_rule_once(
    client, admin: TestUser, session_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = define_rule(client, admin, "lead", {"type": "created"}, [{"type": "create_task", "subject": "Call back"}])
    lead = created(client, admin, "leads", {"subject": "Fleet", "last_name": "Big"})
    with UnitOfWork(session_factory) as uow:
        [event] = uow.session.query(RuleEvent).all()
        occurrence = Occurrence(str(event.id), event.event_type, event.entity, event.record_id, event.id)
    # Both looked before either wrote: the run's unique (rule, event) key is what stops the second.
    monkeypatch.setattr(runner, "_already_run", lambda *_args: False)
    rule_id = uuid.UUID(rule["id"])
    assert runner.run_rule(session_factory, record_services(), 8, rule_id, occurrence) == "succeeded"
    assert runner.run_rule(session_factory, record_services(), 8, rule_id, occurrence) is None
    assert len(runs_of(client, admin, rule)) == 1
    assert len(tasks_regarding(client, admin, lead["id"])) == 1


def test_the_beat_scheduled_task_runs_the_rules(
    client, admin: TestUser, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers import runtime, tasks
    from workers.beat_schedule import beat_schedule

    assert beat_schedule(settings)["run-business-rules"]["task"] == tasks.run_rules.name
    define_rule(client, admin, "lead", {"type": "created"}, [{"type": "set_fields", "fields": {"description": "seen"}}])
    lead = created(client, admin, "leads", {"subject": "Fleet", "last_name": "Big"})
    for key, value in {
        "CRM_DATABASE_URL": settings.database_url,
        "CRM_SECRET_KEY": "test-secret-key",
        "CRM_DATA_DIR": str(tmp_path / "var"),
    }.items():
        monkeypatch.setenv(key, value)
    runtime.reset()
    try:
        assert tasks.run_rules()["succeeded"] == 1
        assert tasks.run_rules()["succeeded"] == 0
    finally:
        runtime.reset()
    assert read(client, admin, f"leads/{lead['id']}")["description"] == "seen"


def test_processed_events_are_pruned_and_the_history_stays(client, admin: TestUser, session_factory) -> None:
    rule = define_rule(client, admin, "lead", {"type": "created"}, [{"type": "create_task", "subject": "Call"}])
    created(client, admin, "leads", {"subject": "Fleet", "last_name": "Big"})
    assert prune_events(session_factory, keep=timedelta(0)) == 0  # not processed yet: kept
    run_events(session_factory)
    assert prune_events(session_factory, keep=timedelta(0)) == 1
    assert len(runs_of(client, admin, rule)) == 1
