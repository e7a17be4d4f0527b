"""GET /addin/api/records/{kind}/{id}: a record as the task pane opens it (its fields, the customer's open cases
and opportunities, recent activities), within the caller's reach: a record of another business unit is "not
found" exactly as a missing one; and GET /addin/api/whoami's record_url, the "Open in the CRM" link's template."""

from collections.abc import Iterator
from typing import Any

import pytest

from addin_manifest.auth.principal import AddinAuth
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser


@pytest.fixture
def dev_mode(client: Any) -> Iterator[None]:
    client.app.state.addin_auth = AddinAuth(validator=None, dev_tokens=True)
    yield
    del client.app.state.addin_auth


def view(client: Any, user: TestUser, kind: str, record_id: str) -> dict[str, Any]:
    r = client.get(f"/addin/api/records/{kind}/{record_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {f["label"]: f["value"] for f in body["fields"]}


def test_a_contact_opened_in_the_pane(client: Any, admin: TestUser, dev_mode: None) -> None:
    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "job_title": "Buyer",
                                               "email_address1": "jane@fabrikam.example",
                                               "parent_account_id": account["id"]})
    case = created(client, admin, "cases", {"title": "Printer jam", "customer_type": "contact",
                                            "customer_id": jane["id"], "priority_code": 1})
    created(client, admin, "activities", {"activity_type": "phone_call", "subject": "Called about the jam",
                                          "regarding_type": "case", "regarding_id": case["id"]})
    created(client, admin, "activities", {"activity_type": "task", "subject": "Send the catalogue",
                                          "regarding_type": "contact", "regarding_id": jane["id"]})

    body = view(client, admin, "contact", jane["id"])
    assert (body["type"], body["name"], body["state"]) == ("contact", "Jane Doe", "Active")
    assert fields(body) == {"Job title": "Buyer", "Email": "jane@fabrikam.example", "Account": "Fabrikam"}
    [account_field] = [f for f in body["fields"] if f["record"]]
    assert account_field["record"] == {"type": "account", "id": account["id"], "name": "Fabrikam"}
    assert [c["title"] for c in body["open_cases"]] == ["Printer jam"]
    assert [a["subject"] for a in body["recent_activities"]] == ["Send the catalogue"]

    # The case, opened from there: its customer links back, its activity is listed, and it lists no cases itself.
    body = view(client, admin, "case", case["id"])
    assert fields(body) == {"Case number": case["case_number"], "Customer": "Jane Doe", "Priority": "High"}
    assert [a["subject"] for a in body["recent_activities"]] == ["Called about the jam"]
    assert body["open_cases"] == [] and body["open_opportunities"] == []


def test_another_units_record_is_not_found_like_a_missing_one(client: Any, org: OrgBuilder, dev_mode: None) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    theirs = created(client, bob, "accounts", {"name": "Bob's secret account"})
    mine = created(client, alice, "accounts", {"name": "Alpine Ski House"})

    assert view(client, alice, "account", mine["id"])["name"] == "Alpine Ski House"
    hidden = problem(client.get(f"/addin/api/records/account/{theirs['id']}", headers=alice.headers), 404)
    missing = problem(client.get(f"/addin/api/records/account/{mine['id'][:-4]}0000", headers=alice.headers), 404)
    assert "Bob" not in hidden["detail"] and hidden["title"] == missing["title"]


def test_a_record_of_a_kind_the_pane_does_not_open_or_a_bad_id(client: Any, admin: TestUser, dev_mode: None) -> None:
    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    problem(client.get(f"/addin/api/records/invoice/{account['id']}", headers=admin.headers), 422)
    problem(client.get("/addin/api/records/account/not-a-uuid", headers=admin.headers), 422)
    problem(client.get(f"/addin/api/records/account/{account['id']}"), 401)


def test_whoami_gives_the_crm_record_url_template_when_one_is_set(client: Any, admin: TestUser,
                                                                   dev_mode: None) -> None:
    assert client.get("/addin/api/whoami", headers=admin.headers).json()["record_url"] is None
    ctx = client.app.state.crm
    saved = ctx.settings
    ctx.settings = saved.model_copy(update={"addin_record_url": "https://crm.example.com/{type}/{id}"})
    try:
        me = client.get("/addin/api/whoami", headers=admin.headers).json()
    finally:
        ctx.settings = saved
    assert me["record_url"] == "https://crm.example.com/{type}/{id}"
