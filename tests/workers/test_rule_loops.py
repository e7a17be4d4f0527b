"""Business rules that feed themselves or each other: the chain is stopped and the run history says so."""

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import RuleEvent
from tests.api import created
from tests.org import TestUser
from tests.workers.rule_fixtures import (
    change,
    define_rule,
    read,
    run_events,
    runs_of,
)


def test_a_rule_retriggered_by_its_own_change_is_stopped(client, admin: TestUser, session_factory) -> None:
    rule = define_rule(
        client,
        admin,
        "lead",
        {"type": "updated"},
        [{"type": "set_fields", "fields": {"description": "touched by the rule"}}],
    )
    lead = created(client, admin, "leads", {"subject": "Fleet", "last_name": "Big"})
    change(client, admin, f"leads/{lead['id']}", {"job_title": "CEO"})
    first = run_events(session_factory)
    assert (first.succeeded, first.loop_stopped) == (1, 1)
    stopped, done = runs_of(client, admin, rule)
    assert done["outcome"] == "succeeded" and done["depth"] == 0
    assert stopped["outcome"] == "loop_stopped" and stopped["depth"] == 1
    assert stopped["origin_run_id"] == done["id"] and "same chain" in stopped["error"]
    with UnitOfWork(session_factory) as uow:  # nothing left waiting: the chain ended there
        assert uow.session.query(RuleEvent).filter(RuleEvent.processed_on.is_(None)).count() == 0


def test_two_rules_feeding_each_other_are_stopped(client, admin: TestUser, session_factory) -> None:
    a = define_rule(
        client,
        admin,
        "lead",
        {"type": "updated", "fields": ["job_title"]},
        [{"type": "set_fields", "fields": {"description": "from A"}}],
    )
    b = define_rule(
        client,
        admin,
        "lead",
        {"type": "updated", "fields": ["description"]},
        [{"type": "set_fields", "fields": {"job_title": "from B"}}],
    )
    lead = created(client, admin, "leads", {"subject": "Fleet", "last_name": "Big"})
    change(client, admin, f"leads/{lead['id']}", {"job_title": "CEO"})
    run_events(session_factory)
    outcomes_a = [r["outcome"] for r in runs_of(client, admin, a)]
    outcomes_b = [r["outcome"] for r in runs_of(client, admin, b)]
    assert outcomes_a == ["loop_stopped", "succeeded"]  # A -> B -> A again: stopped
    assert outcomes_b == ["succeeded"]
    assert read(client, admin, f"leads/{lead['id']}")["job_title"] == "from B"


def test_a_long_chain_is_stopped_at_the_depth_limit(client, admin: TestUser, session_factory) -> None:
    # Three rules on three fields, each fed by the one before: with a limit of 2 the third is stopped.
    define_rule(
        client,
        admin,
        "lead",
        {"type": "updated", "fields": ["job_title"]},
        [{"type": "set_fields", "fields": {"company_name": "one"}}],
    )
    define_rule(
        client,
        admin,
        "lead",
        {"type": "updated", "fields": ["company_name"]},
        [{"type": "set_fields", "fields": {"website_url": "https://two.example"}}],
    )
    third = define_rule(
        client,
        admin,
        "lead",
        {"type": "updated", "fields": ["website_url"]},
        [{"type": "set_fields", "fields": {"telephone1": "3"}}],
    )
    lead = created(client, admin, "leads", {"subject": "Fleet", "last_name": "Big"})
    change(client, admin, f"leads/{lead['id']}", {"job_title": "CEO"})
    run_events(session_factory, max_depth=2)
    [run] = runs_of(client, admin, third)
    assert run["outcome"] == "loop_stopped" and "limit is 2" in run["error"]
    assert read(client, admin, f"leads/{lead['id']}")["telephone1"] is None
