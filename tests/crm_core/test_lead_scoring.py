"""Rule-based lead scoring as an administrator and a salesperson see it: a scoring model's points add up (kept
within 0..100, graded A-D), behaviour counts only the last N days, rules are checked at save (422), only
administrators and customizers keep models (403), and a salesperson reads the score of his leads."""

from datetime import UTC, datetime, timedelta

import pytest

from crm_core.scoring import refresh
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

M = "/api/v1/lead-scoring-models"
WEB, REFERRAL = 8, 2


def _rules() -> list[dict]:
    return [
        {
            "name": "Came from the web",
            "points": 20,
            "condition": {"field": "lead_source_code", "op": "eq", "value": WEB},
        },
        {
            "name": "Company address",
            "points": 15,
            "condition": {"field": "email_domain_kind", "op": "eq", "value": "corporate"},
        },
        {
            "name": "Replied this month",
            "points": 30,
            "condition": {"field": "replies", "days": 30, "op": "gte", "value": 1},
        },
        {
            "name": "Busy this week",
            "points": 10,
            "condition": {"field": "activities", "days": 7, "op": "gte", "value": 2},
        },
        {"name": "Cold", "points": -25, "condition": {"field": "lead_quality_code", "op": "eq", "value": 3}},
    ]


def _model(client, user: TestUser, **body) -> dict:
    return created(
        client, user, "lead-scoring-models", {"name": "Standard", "rules": _rules(), "is_active": True, **body}
    )


def _lead(client, user: TestUser, **fields) -> dict:
    body = {
        "subject": "50 bikes",
        "last_name": "Doe",
        "email_address1": "jane@adventure-works.com",
        "ignore_duplicates": True,
        **fields,
    }
    return created(client, user, "leads", body)


def _email_from(client, user: TestUser, address: str, days_ago: int) -> dict:
    sent = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    return created(
        client,
        user,
        "activities",
        {
            "activity_type": "email",
            "subject": "Re: your offer",
            "direction_outgoing": False,
            "sent_on": sent,
            "parties": [{"role": "sender", "address": address}],
        },
    )


def _score(client, user: TestUser, lead_id: str) -> dict:
    r = client.get(f"/api/v1/leads/{lead_id}/score", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_points_add_up_and_give_the_grade(client, admin: TestUser, session_factory) -> None:
    _model(client, admin)
    hot = _lead(client, admin, lead_source_code=WEB)
    _email_from(client, admin, "jane@adventure-works.com", days_ago=3)
    cold = _lead(client, admin, email_address1="joe@gmail.com", lead_quality_code=3, last_name="Cold")
    summary = refresh.rescore(session_factory)
    assert summary.leads == 2
    rule = _score(client, admin, hot["id"])["rule"]
    # Web 20 + corporate address 15 + a reply this month 30; the reply (an activity) is one, not two this week.
    assert (rule["score"], rule["grade"]) == (65, "B")
    assert [f["label"] for f in rule["factors"]] == ["Replied this month", "Came from the web", "Company address"]
    cold_rule = _score(client, admin, cold["id"])["rule"]
    assert (cold_rule["score"], cold_rule["grade"]) == (0, "D")  # -25 is kept at 0
    assert cold_rule["factors"] == [{"label": "Cold", "points": -25, "feature": None}]
    # Best first, for the leads the caller reads.
    ranked = client.get("/api/v1/lead-scores", params={"kind": "rule"}, headers=admin.headers).json()["items"]
    assert [(i["lead_id"], i["score"]) for i in ranked] == [(hot["id"], 65), (cold["id"], 0)]
    # A scored lead is deleted as any other; its scores go with it.
    assert client.delete(f"/api/v1/leads/{cold['id']}", headers=admin.headers).status_code == 204
    ranked = client.get("/api/v1/lead-scores", params={"kind": "rule"}, headers=admin.headers).json()["items"]
    assert [i["lead_id"] for i in ranked] == [hot["id"]]


def test_behaviour_counts_only_the_last_n_days(client, admin: TestUser, session_factory) -> None:
    _model(client, admin)
    lead = _lead(client, admin, email_address1="ann@fabrikam.com", last_name="Ann")
    _email_from(client, admin, "ann@fabrikam.com", days_ago=45)  # too old for "this month"
    refresh.rescore(session_factory)
    assert _score(client, admin, lead["id"])["rule"]["score"] == 15  # the corporate address only
    # A reply today: the lead changed (an activity about it), so the periodic run rescores it.
    _email_from(client, admin, "ann@fabrikam.com", days_ago=0)
    assert refresh.rescore(session_factory).leads == 1
    assert _score(client, admin, lead["id"])["rule"]["score"] == 15 + 30
    # Nothing changed since: nothing to do.
    assert refresh.rescore(session_factory).leads == 0


def test_a_changed_model_rescores_and_none_active_leaves_no_rule_score(
    client, admin: TestUser, session_factory
) -> None:
    model = _model(client, admin)
    lead = _lead(client, admin, lead_source_code=REFERRAL)
    refresh.rescore(session_factory)
    assert _score(client, admin, lead["id"])["rule"]["score"] == 15
    rules = [
        *_rules(),
        {
            "name": "Referral",
            "points": 40,
            "condition": {"field": "lead_source_code", "op": "in", "value": [REFERRAL, 4]},
        },
    ]
    r = client.patch(f"{M}/{model['id']}", json={"rules": rules}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert refresh.rescore(session_factory).leads == 1
    assert _score(client, admin, lead["id"])["rule"]["score"] == 55
    client.patch(f"{M}/{model['id']}", json={"is_active": False}, headers=admin.headers)
    refresh.rescore(session_factory)
    assert _score(client, admin, lead["id"])["rule"] is None


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (
            {"name": "x", "points": 10, "condition": {"field": "shoe_size", "op": "eq", "value": 1}},
            "rules[0].condition.field",
        ),
        (
            {"name": "x", "points": 500, "condition": {"field": "lead_source_code", "op": "eq", "value": 8}},
            "rules[0].points",
        ),
        (
            {"name": "x", "points": 5, "condition": {"field": "replies", "op": "gte", "value": 1}},
            "rules[0].condition.days",
        ),
        (
            {"name": "x", "points": 5, "condition": {"field": "lead_source_code", "op": "contains", "value": 8}},
            "rules[0].condition.op",
        ),
        (
            {"name": "x", "points": 5, "condition": {"field": "lead_source_code", "op": "eq", "value": "web"}},
            "rules[0].condition.value",
        ),
        ({"name": "", "points": 5, "condition": {"field": "has_company", "op": "eq", "value": True}}, "rules[0].name"),
    ],
)
def test_rules_are_checked_at_save(client, admin: TestUser, rule: dict, field: str) -> None:
    problem(client.post(M, json={"name": "Bad", "rules": [rule]}, headers=admin.headers), 422, field)


def test_grades_and_a_single_active_model_are_checked(client, admin: TestUser) -> None:
    body = {"name": "Bad grades", "grade_thresholds": {"A": 30, "B": 40, "C": 20}}
    problem(client.post(M, json=body, headers=admin.headers), 422, "grade_thresholds")
    first = _model(client, admin)
    problem(client.post(M, json={"name": "Second", "is_active": True}, headers=admin.headers), 422, "is_active")
    second = created(client, admin, "lead-scoring-models", {"name": "Second"})
    client.patch(f"{M}/{first['id']}", json={"is_active": False}, headers=admin.headers)
    r = client.patch(f"{M}/{second['id']}", json={"is_active": True}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["grade_thresholds"] == {"A": 70, "B": 40, "C": 20}


def test_only_admins_and_customizers_keep_models(client, org: OrgBuilder, admin: TestUser, session_factory) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    customizer = org.user("custom@example.com", ["System Customizer"])
    problem(client.post(M, json={"name": "Mine", "rules": _rules()}, headers=seller.headers), 403)
    model = _model(client, customizer)
    problem(client.patch(f"{M}/{model['id']}", json={"name": "x"}, headers=seller.headers), 403)
    problem(client.post("/api/v1/lead-scoring/retrain", headers=seller.headers), 403)
    # Everyone reads the rules that grade his leads, and the score of the leads he reads.
    assert client.get(f"{M}/{model['id']}", headers=seller.headers).status_code == 200
    lead = _lead(client, seller, lead_source_code=WEB)
    refresh.rescore(session_factory)
    assert _score(client, seller, lead["id"])["rule"]["score"] == 35
    other = org.user("other@example.com", ["Salesperson"], org.unit("Elsewhere"))
    problem(client.get(f"/api/v1/leads/{lead['id']}/score", headers=other.headers), 404)
    assert client.get("/api/v1/lead-scores", headers=other.headers).json()["items"] == []


def test_campaign_responses_count_for_the_lead_they_name_or_made(client, admin: TestUser, session_factory) -> None:
    rules = [
        {
            "name": "Answered a campaign",
            "points": 25,
            "condition": {"field": "campaign_responses", "days": 90, "op": "gte", "value": 1},
        }
    ]
    _model(client, admin, rules=rules)
    campaign = created(client, admin, "campaigns", {"name": "Spring launch"})
    named = _lead(client, admin, last_name="Named")
    body = {"campaign_id": campaign["id"], "subject": "Interested", "response_code": 1, "channel_type_code": 1}
    created(
        client,
        admin,
        "campaign-responses",
        {**body, "parties": [{"role": "customer", "party_type": "lead", "party_id": named["id"]}]},
    )
    source = created(
        client,
        admin,
        "campaign-responses",
        {**body, "email_address": "new@tailspin.example", "company_name": "Tailspin"},
    )
    r = client.post(f"/api/v1/campaign-responses/{source['id']}/convert", json={"to": "lead"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    made = r.json()["created"]["id"]
    bystander = _lead(client, admin, last_name="Bystander")
    refresh.rescore(session_factory)
    assert _score(client, admin, named["id"])["rule"]["score"] == 25
    assert _score(client, admin, made)["rule"]["score"] == 25  # converted from a response, now closed
    assert _score(client, admin, bystander["id"])["rule"]["score"] == 0
