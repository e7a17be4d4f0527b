"""Helpers for the business rule tests: define a rule through the API, run the workers' part, read runs."""

import uuid
from typing import Any

from sqlalchemy import update

from crm_core.api.routes.rules import record_services
from crm_core.automation.runner import Summary, run_pending
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import RuleEvent
from tests.api import created
from tests.org import TestUser

API = "/api/v1"
R = f"{API}/rules"


def define_rule(
    client: Any,
    admin: TestUser,
    entity: str,
    trigger: dict[str, Any],
    actions: list[dict[str, Any]],
    activate: bool = True,
    **body: Any,
) -> dict[str, Any]:
    rule = created(
        client,
        admin,
        "rules",
        {"name": f"Rule {uuid.uuid4().hex[:6]}", "entity": entity, "trigger": trigger, "actions": actions, **body},
    )
    if activate:
        r = client.post(f"{R}/{rule['id']}/activate", headers=admin.headers)
        assert r.status_code == 200, r.text
        rule = r.json()
    return rule


def run_events(session_factory: Any, max_depth: int = 8) -> Summary:
    """What the beat-driven task does for the change events, until none is left (a rule's change is an event
    too); then every event looked at again, as after a worker died before marking them: nothing runs twice."""
    total = Summary()
    while run_pending(session_factory, record_services(), max_depth, summary=total).events:
        total.events = 0
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(update(RuleEvent).values(processed_on=None))
        uow.commit()
    again = run_pending(session_factory, record_services(), max_depth)
    assert (again.succeeded, again.failed, again.loop_stopped) == (0, 0, 0)
    return total


def runs_of(client: Any, admin: TestUser, rule: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.get(f"{R}/{rule['id']}/runs", headers=admin.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def read(client: Any, user: TestUser, path: str) -> dict[str, Any]:
    r = client.get(f"{API}/{path}", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def change(client: Any, user: TestUser, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.patch(f"{API}/{path}", json=body, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def tasks_regarding(client: Any, user: TestUser, regarding_id: str) -> list[dict[str, Any]]:
    r = client.get(
        f"{API}/activities", params={"activity_type": "task", "regarding_id": regarding_id}, headers=user.headers
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def every_task(client: Any, user: TestUser) -> list[dict[str, Any]]:
    r = client.get(f"{API}/activities", params={"activity_type": "task"}, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]
