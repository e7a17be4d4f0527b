"""/api/v1/rules as an administrator uses it: a definition that cannot run is refused, each change is a
version, only administrators and customizers keep rules, and without an active rule nothing is written."""

import uuid
from typing import Any

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import RuleEvent
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser
from tests.workers.rule_fixtures import (
    R,
    change,
    define_rule,
)


def test_definitions_that_cannot_run_are_refused(client, admin: TestUser) -> None:
    def refused(field: str, **body: Any) -> None:
        full = {
            "name": "Bad",
            "entity": "lead",
            "trigger": {"type": "created"},
            "actions": [{"type": "set_fields", "fields": {"description": "x"}}],
            **body,
        }
        problem(client.post(R, json=full, headers=admin.headers), 422, field)

    refused("conditions.field", conditions={"field": "no_such_field", "op": "eq", "value": 1})
    refused("conditions.all[0].op", conditions={"all": [{"field": "subject", "op": "like", "value": "x"}]})
    refused("conditions.value", conditions={"field": "estimated_amount", "op": "gt", "value": "lots"})
    refused("trigger.type", trigger={"type": "whenever"})
    refused("trigger.fields[0]", trigger={"type": "updated", "fields": ["nope"]})
    refused("trigger.offset", trigger={"type": "relative_time", "date_field": "created_on", "offset": "1 day"})
    refused("entity", trigger={"type": "sla_warning"})
    refused("entity", entity="webhook")
    refused(
        "actions[0].fields.owning_user_id",
        actions=[{"type": "set_fields", "fields": {"owning_user_id": str(admin.id)}}],
    )
    refused("actions[0].queue_id", entity="case", actions=[{"type": "route_to_queue", "queue_id": str(uuid.uuid4())}])
    refused("actions[0].template_id", actions=[{"type": "send_email", "template_id": str(uuid.uuid4())}])
    refused("actions[0].in", actions=[{"type": "follow_up"}])
    refused("actions[0].type", actions=[{"type": "format_disk"}])


def test_each_change_is_a_new_version_and_audited(client, admin: TestUser) -> None:
    rule = define_rule(
        client,
        admin,
        "lead",
        {"type": "created"},
        [{"type": "set_fields", "fields": {"description": "v1"}}],
        activate=False,
    )
    assert (rule["version"], rule["is_active"]) == (1, False)
    changed = change(
        client, admin, f"rules/{rule['id']}", {"actions": [{"type": "set_fields", "fields": {"description": "v2"}}]}
    )
    assert changed["version"] == 2
    assert client.post(f"{R}/{rule['id']}/activate", headers=admin.headers).json()["version"] == 2
    problem(client.post(f"{R}/{rule['id']}/activate", headers=admin.headers), 409)
    versions = client.get(f"{R}/{rule['id']}/versions", headers=admin.headers).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["definition"]["actions"] == [{"type": "set_fields", "fields": {"description": "v1"}}]
    trail = client.get(f"{R}/{rule['id']}/audit", headers=admin.headers).json()
    assert {e["action"] for e in trail} >= {"create", "update", "activate"}
    assert client.delete(f"{R}/{rule['id']}", headers=admin.headers).status_code == 204
    problem(client.get(f"{R}/{rule['id']}/versions", headers=admin.headers), 404)


def test_only_administrators_and_customizers_keep_rules(client, org: OrgBuilder, admin: TestUser) -> None:
    body = {
        "name": "Mine",
        "entity": "lead",
        "trigger": {"type": "created"},
        "actions": [{"type": "set_fields", "fields": {"description": "x"}}],
    }
    rep = org.user("rep@example.com", ["Salesperson"])
    problem(client.post(R, json=body, headers=rep.headers), 403)
    problem(client.get(R, headers=rep.headers), 403)
    customizer = org.user("custom@example.com", ["System Customizer"])
    rule = created(client, customizer, "rules", body)
    problem(client.get(f"{R}/{rule['id']}/runs", headers=rep.headers), 403)
    assert client.get(R, headers=admin.headers).json()["items"][0]["id"] == rule["id"]


def test_no_event_is_written_without_an_active_rule(client, admin: TestUser, session_factory) -> None:
    define_rule(
        client,
        admin,
        "lead",
        {"type": "created"},
        [{"type": "set_fields", "fields": {"description": "x"}}],
        activate=False,
    )
    created(client, admin, "leads", {"subject": "Fleet", "last_name": "Big"})
    created(client, admin, "accounts", {"name": "Contoso"})
    with UnitOfWork(session_factory) as uow:
        assert uow.session.query(RuleEvent).count() == 0
