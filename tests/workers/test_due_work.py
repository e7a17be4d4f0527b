"""The time-driven chores: what `crm tick` (and the workers, every minute) does when a date or deadline comes."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.api import created
from tests.org import OrgBuilder
from workers import due_work
from workers.cli import app

API = "/api/v1"


def _changed(results: list[due_work.ChoreResult]) -> dict[str, int]:
    assert [r.error for r in results] == [None] * len(results)
    return {r.chore.name: r.changed for r in results}


def test_one_tick_publishes_articles_moves_sla_clocks_and_expires_contracts(client, org: OrgBuilder,
                                                                           session_factory) -> None:
    admin = org.admin()
    now = datetime.now(UTC)
    # A knowledge article scheduled for tomorrow.
    article = created(client, admin, "knowledge-articles", {"title": "New card fees", "content": "From June."})
    client.post(f"{API}/knowledge-articles/{article['id']}/approve", headers=admin.headers)
    r = client.post(f"{API}/knowledge-articles/{article['id']}/publish",
                    json={"publish_on": (now + timedelta(days=1)).isoformat()}, headers=admin.headers)
    assert r.json()["state"] == "Scheduled"
    # A case whose SLA wants an answer within an hour, around the clock.
    hours = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
    calendar = created(client, admin, "business-calendars", {"name": "24x7", "time_zone": "UTC", "hours": hours})
    sla = created(client, admin, "slas", {"name": "Fast", "business_calendar_id": calendar["id"], "is_default": True,
                                          "items": [{"name": "Answer in an hour", "kpi": "first_response",
                                                     "warn_after_minutes": 30, "failure_after_minutes": 60}]})
    assert client.post(f"{API}/slas/{sla['id']}/activate", headers=admin.headers).status_code == 200
    account = created(client, admin, "accounts", {"name": "Woodgrove Bank"})
    case = created(client, admin, "cases", {"title": "Card blocked", "customer_type": "account",
                                            "customer_id": account["id"]})
    # A contract that ends today.
    template = created(client, admin, "contract-templates", {"name": "Cover", "abbreviation": "CVR",
                                                             "allotment_type": 3})
    today = date.fromisoformat(case["created_on"][:10])
    contract = created(client, admin, "contracts", {
        "title": "Cover", "template_id": template["id"], "customer_type": "account", "customer_id": account["id"],
        "active_on": today.isoformat(), "expires_on": today.isoformat(), "currency_code": "USD"})
    created(client, admin, f"contracts/{contract['id']}/lines", {"title": "Cover", "price": "100"})
    assert client.post(f"{API}/contracts/{contract['id']}/invoice", headers=admin.headers).json()["state"] == "Active"

    assert _changed(due_work.run_due(session_factory, now)) == {"knowledge": 0, "sla_timers": 0, "contracts": 0}
    later = datetime.combine(today + timedelta(days=2), datetime.min.time(), UTC)
    assert _changed(due_work.run_due(session_factory, later)) == {"knowledge": 1, "sla_timers": 1, "contracts": 1}
    assert client.get(f"{API}/knowledge-articles/{article['id']}", headers=admin.headers).json()["state"] == "Published"
    kpi = client.get(f"{API}/cases/{case['id']}/sla-kpis", headers=admin.headers).json()[0]
    assert kpi["status"] == "Noncompliant"
    assert client.get(f"{API}/contracts/{contract['id']}", headers=admin.headers).json()["state"] == "Expired"
    # Nothing is done twice.
    assert _changed(due_work.run_due(session_factory, later)) == {"knowledge": 0, "sla_timers": 0, "contracts": 0}


def test_crm_tick_reports_each_chore_and_refuses_a_bad_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    r = runner.invoke(app, ["tick", "--now", "2026-11-24T09:00:00+01:00"])
    assert r.exit_code == 0, r.output
    for name in ("knowledge", "sla_timers", "contracts"):
        assert f"{name}" in r.output and "0 changed" in r.output
    r = runner.invoke(app, ["tick", "--now", "next tuesday"])
    assert r.exit_code == 1 and "not an ISO 8601 time" in r.output and "Traceback" not in r.output
