"""Activity types: the built-in ones listed and fixed, custom ones defined by an administrator, and the
custom fields their activities carry."""

import pytest

from tests.api import problem
from tests.org import OrgBuilder, TestUser

T = "/api/v1/activity-types"
A = "/api/v1/activities"
BUILTIN = {"phone_call", "email", "task", "appointment", "recurring_appointment", "letter", "fax",
           "campaign_response", "campaign_activity", "service_activity"}
VISIT = {"code": "site_visit", "display_name": "Site Visit", "fields": [
    {"name": "outcome", "type": "string", "required": True}, {"name": "km", "type": "decimal"},
    {"name": "visitors", "type": "integer"}, {"name": "signed", "type": "boolean"}, {"name": "next_on", "type": "date"},
]}



@pytest.fixture
def visit(client, admin: TestUser) -> dict:
    r = client.post(T, json=VISIT, headers=admin.headers)
    assert r.status_code == 201, r.text
    return r.json()



def test_everyone_lists_the_built_in_types_and_only_admins_define_new_ones(client, org: OrgBuilder) -> None:
    rep = org.user("rep@example.com", ["Salesperson"])
    admin = org.admin()
    listed = client.get(T, params={"limit": 100}, headers=rep.headers).json()["items"]
    assert {t["code"] for t in listed} == BUILTIN
    assert all(not t["is_custom"] for t in listed)
    assert {t["code"]: t["display_name"] for t in listed}["phone_call"] == "Phone Call"
    # Listing again adds nothing (the built-ins are seeded once).
    assert len(client.get(T, params={"limit": 100}, headers=admin.headers).json()["items"]) == len(BUILTIN)
    problem(client.post(T, json=VISIT, headers=rep.headers), 403)
    r = client.post(T, json=VISIT, headers=admin.headers)
    assert r.status_code == 201, r.text
    assert r.json()["is_custom"] is True
    assert r.json()["fields"][0] == {"name": "outcome", "type": "string", "required": True}
    custom = client.get(T, params={"is_custom": True}, headers=rep.headers).json()["items"]
    assert [t["code"] for t in custom] == ["site_visit"]
    problem(client.patch(f"{T}/{r.json()['id']}", json={"display_name": "Visit"}, headers=rep.headers), 403)
    problem(client.delete(f"{T}/{r.json()['id']}", headers=rep.headers), 403)


def test_built_in_types_cannot_be_changed_or_deleted(client, admin: TestUser) -> None:
    listed = client.get(T, params={"code": "email"}, headers=admin.headers).json()["items"]
    email = listed[0]
    problem(client.patch(f"{T}/{email['id']}", json={"display_name": "E-mail"}, headers=admin.headers), 409)
    problem(client.delete(f"{T}/{email['id']}", headers=admin.headers), 409)
    assert client.get(f"{T}/{email['id']}", headers=admin.headers).json()["display_name"] == "Email"


def test_type_definitions_are_checked(client, admin: TestUser, visit: dict) -> None:
    problem(client.post(T, json={"code": "email", "display_name": "Mail"}, headers=admin.headers), 422, "code")
    problem(client.post(T, json={"code": "Site Visit!", "display_name": "x"}, headers=admin.headers), 422, "code")
    problem(client.post(T, json={**VISIT, "display_name": "Again"}, headers=admin.headers), 409)
    problem(client.post(T, json={"code": "demo", "display_name": "Demo",
                                  "fields": [{"name": "x", "type": "colour"}]}, headers=admin.headers), 422)
    body = problem(client.post(T, json={"code": "demo", "display_name": "Demo", "fields": [
        {"name": "x", "type": "string"}, {"name": "x", "type": "integer"}]}, headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "fields[1].name"
    problem(client.patch(f"{T}/{visit['id']}", json={"code": "visit"}, headers=admin.headers), 422, "code")
    r = client.patch(f"{T}/{visit['id']}", json={"display_name": "Customer Visit"}, headers=admin.headers)
    assert r.json()["display_name"] == "Customer Visit"


def test_custom_activities_carry_validated_custom_fields(client, admin: TestUser, visit: dict) -> None:
    def post(custom: dict | None, **extra):
        body = {"activity_type": "site_visit", "subject": "Visit Contoso", **extra}
        if custom is not None:
            body["custom_fields"] = custom
        return client.post(A, json=body, headers=admin.headers)

    problem(post({"outcome": "ok", "weather": "sunny"}), 422, "custom_fields.weather")
    problem(post({"outcome": 42}), 422, "custom_fields.outcome")
    problem(post({"outcome": "ok", "visitors": "three"}), 422, "custom_fields.visitors")
    problem(post({"outcome": "ok", "visitors": True}), 422, "custom_fields.visitors")
    problem(post({"outcome": "ok", "signed": "yes"}), 422, "custom_fields.signed")
    problem(post({"outcome": "ok", "km": "far"}), 422, "custom_fields.km")
    problem(post({"outcome": "ok", "next_on": "next week"}), 422, "custom_fields.next_on")
    problem(post({"km": 3}), 422, "custom_fields.outcome")
    problem(post(None), 422, "custom_fields.outcome")
    problem(post({"outcome": "ok"}, phone_number="123"), 422, "phone_number")

    r = post({"outcome": "Signed", "km": 12.5, "visitors": 3, "signed": True, "next_on": "2024-09-01"})
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["activity_type"], a["activity_type_name"]) == ("site_visit", "Site Visit")
    assert a["custom_fields"] == {"outcome": "Signed", "km": "12.5", "visitors": 3, "signed": True,
                                  "next_on": "2024-09-01"}
    assert "phone_number" not in a and "percent_complete" not in a
    assert (a["state"], a["status"]) == ("Open", "Open")
    url = f"{A}/{a['id']}"
    # A change merges into the stored fields; null removes an optional one, never a required one.
    r = client.patch(url, json={"custom_fields": {"visitors": 4, "km": None}}, headers=admin.headers)
    assert r.json()["custom_fields"] == {"outcome": "Signed", "visitors": 4, "signed": True, "next_on": "2024-09-01"}
    problem(client.patch(url, json={"custom_fields": {"outcome": None}}, headers=admin.headers), 422,
             "custom_fields.outcome")
    done = client.post(f"{url}/complete", headers=admin.headers).json()
    assert (done["state"], done["status"]) == ("Completed", "Completed")
    found = client.get(A, params={"activity_type": "site_visit"}, headers=admin.headers).json()["items"]
    assert [x["id"] for x in found] == [a["id"]]


def test_a_type_in_use_cannot_be_deleted(client, admin: TestUser, visit: dict) -> None:
    r = client.post(A, json={"activity_type": "site_visit", "subject": "Visit", "custom_fields": {"outcome": "ok"}},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    body = problem(client.delete(f"{T}/{visit['id']}", headers=admin.headers), 409)
    assert "1 activities" in body["detail"]
    assert client.delete(f"{A}/{r.json()['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"{T}/{visit['id']}", headers=admin.headers).status_code == 204
    problem(client.post(A, json={"activity_type": "site_visit", "subject": "Visit"}, headers=admin.headers), 422,
             "activity_type")


def test_type_changes_are_audited(client, admin: TestUser, visit: dict) -> None:
    client.patch(f"{T}/{visit['id']}", json={"fields": [{"name": "outcome", "type": "string"}]}, headers=admin.headers)
    rows = client.get(f"{T}/{visit['id']}/audit", headers=admin.headers).json()
    assert [r["operation"] for r in rows] == ["update", "create"]
    assert rows[0]["changes"]["fields"][1] == [{"name": "outcome", "type": "string", "required": False}]
