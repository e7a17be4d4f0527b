"""Subjects and cases through the API: the subject tree, case numbers, customers, parent and child cases,
and the lifecycle (resolve with a resolution, cancel, merge, reactivate), with access, timeline and audit."""

import re

import pytest

from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

C = "/api/v1/cases"
CASE_NUMBER = re.compile(r"^CAS-\d{5,}-[A-Z2-9]{6}$")


def _account(client, user: TestUser, name: str = "Contoso") -> dict:
    return created(client, user, "accounts", {"name": name})


def _case(client, user: TestUser, customer: dict | None = None, **body) -> dict:
    if customer is None:
        customer = _account(client, user)
    body.setdefault("title", "Printer on fire")
    body.setdefault("customer_type", "account" if "name" in customer else "contact")
    body.setdefault("customer_id", customer["id"])
    return created(client, user, "cases", body)


def _resolve(client, user: TestUser, case: dict, **body):
    body.setdefault("subject", "Replaced the toner")
    return client.post(f"{C}/{case['id']}/resolve", json=body, headers=user.headers)


# --- subjects ----------------------------------------------------------------------------------------
def test_subject_tree_refuses_cycles_and_deleting_what_is_in_use(client, admin: TestUser) -> None:
    hardware = created(client, admin, "subjects", {"title": "Hardware"})
    printers = created(client, admin, "subjects", {"title": "Printers", "parent_id": hardware["id"]})
    lasers = created(client, admin, "subjects", {"title": "Lasers", "parent_id": printers["id"]})
    r = client.patch(f"/api/v1/subjects/{hardware['id']}", json={"parent_id": lasers["id"]}, headers=admin.headers)
    problem(r, 422, "parent_id")
    r = client.patch(f"/api/v1/subjects/{printers['id']}", json={"parent_id": printers["id"]}, headers=admin.headers)
    problem(r, 422, "parent_id")
    listed = client.get("/api/v1/subjects", params={"parent_id": hardware["id"]}, headers=admin.headers).json()
    assert [s["title"] for s in listed["items"]] == ["Printers"]

    case = _case(client, admin, subject_id=lasers["id"])
    assert case["subject_id"] == lasers["id"]
    body = problem(client.delete(f"/api/v1/subjects/{lasers['id']}", headers=admin.headers), 409)
    assert "1 cases" in body["detail"]
    body = problem(client.delete(f"/api/v1/subjects/{printers['id']}", headers=admin.headers), 409)
    assert "subjects under it" in body["detail"]
    client.patch(f"{C}/{case['id']}", json={"subject_id": hardware["id"]}, headers=admin.headers)
    assert client.delete(f"/api/v1/subjects/{lasers['id']}", headers=admin.headers).status_code == 204


def test_every_user_reads_subjects_but_only_admins_change_them(client, org: OrgBuilder, admin: TestUser) -> None:
    csr = org.user("csr@example.com", ["Customer Service Representative"])
    subject = created(client, admin, "subjects", {"title": "Billing"})
    assert client.get(f"/api/v1/subjects/{subject['id']}", headers=csr.headers).status_code == 200
    problem(client.post("/api/v1/subjects", json={"title": "Mine"}, headers=csr.headers), 403)
    # ...and files his cases under them.
    assert _case(client, csr, subject_id=subject["id"])["subject_id"] == subject["id"]


# --- cases -------------------------------------------------------------------------------------------
def test_case_numbers_are_unique_and_well_formed(client, admin: TestUser) -> None:
    account = _account(client, admin)
    numbers = [_case(client, admin, account)["case_number"] for _ in range(5)]
    assert all(CASE_NUMBER.match(n) for n in numbers), numbers
    assert len(set(numbers)) == 5
    sequences = [int(n.split("-")[1]) for n in numbers]
    assert sequences == sorted(sequences)
    # Read-only: neither given on create nor changed later.
    r = client.post(C, json={"title": "x", "customer_type": "account", "customer_id": account["id"],
                             "case_number": "CAS-00001-AAAAAA"}, headers=admin.headers)
    problem(r, 422, "case_number")
    found = client.get(C, params={"case_number": numbers[2]}, headers=admin.headers).json()["items"]
    assert [c["case_number"] for c in found] == [numbers[2]]


def test_a_new_case_is_active_in_progress_normal_priority(client, admin: TestUser) -> None:
    case = _case(client, admin, origin_code=2, case_type_code=2)
    assert (case["statecode"], case["statuscode"], case["state"], case["status"]) == (0, 1, "Active", "In Progress")
    assert case["priority_code"] == 2
    assert case["owner_id"] == str(admin.id)
    assert case["queue_id"] is None
    assert case["master_id"] is None


def test_customer_is_an_account_or_a_contact_and_required(client, admin: TestUser) -> None:
    contact = created(client, admin, "contacts", {"last_name": "Doe"})
    case = _case(client, admin, contact, primary_contact_id=contact["id"])
    assert (case["customer_type"], case["customer_id"]) == ("contact", contact["id"])
    account = _account(client, admin)
    r = client.patch(f"{C}/{case['id']}", json={"customer_type": "account", "customer_id": account["id"]},
                     headers=admin.headers)
    assert (r.json()["customer_type"], r.json()["customer_id"]) == ("account", account["id"])
    # The contact's id given as an account's is no account.
    r = client.patch(f"{C}/{case['id']}", json={"customer_id": contact["id"]}, headers=admin.headers)
    problem(r, 422, "customer_id")
    problem(client.post(C, json={"title": "No customer"}, headers=admin.headers), 422, "customer_id")
    r = client.post(C, json={"title": "x", "customer_type": "lead", "customer_id": account["id"]},
                    headers=admin.headers)
    problem(r, 422, "customer_type")
    r = client.patch(f"{C}/{case['id']}", json={"customer_id": None}, headers=admin.headers)
    problem(r, 422, "customer_id")
    listed = client.get(C, params={"customer_id": account["id"]}, headers=admin.headers).json()["items"]
    assert [c["id"] for c in listed] == [case["id"]]


@pytest.mark.parametrize(("field", "value"), [("origin_code", 9), ("case_type_code", 4), ("priority_code", 0)])
def test_option_sets_are_checked(client, admin: TestUser, field: str, value: int) -> None:
    account = _account(client, admin)
    r = client.post(C, json={"title": "x", "customer_type": "account", "customer_id": account["id"], field: value},
                    headers=admin.headers)
    problem(r, 422, field)


def test_unknown_subject_and_product_are_refused(client, admin: TestUser) -> None:
    account = _account(client, admin)
    base = {"title": "x", "customer_type": "account", "customer_id": account["id"]}
    missing = "00000000-0000-4000-8000-000000000001"
    problem(client.post(C, json={**base, "subject_id": missing}, headers=admin.headers), 422, "subject_id")
    problem(client.post(C, json={**base, "product_id": missing}, headers=admin.headers), 422, "product_id")


def test_deleting_a_customer_with_cases_is_refused_naming_them(client, admin: TestUser) -> None:
    account = _account(client, admin)
    first, second = _case(client, admin, account), _case(client, admin, account)
    body = problem(client.delete(f"/api/v1/accounts/{account['id']}", headers=admin.headers), 409)
    numbers = sorted([first["case_number"], second["case_number"]])
    assert body["used_by"] == [{"collection": "cases", "count": 2, "examples": numbers}]
    assert f"cases (2: {numbers[0]}, {numbers[1]})" in body["detail"]
    for case in (first, second):
        assert client.delete(f"{C}/{case['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"/api/v1/accounts/{account['id']}", headers=admin.headers).status_code == 204


def test_cases_follow_the_security_model(client, org: OrgBuilder) -> None:
    east, west = org.unit("East"), org.unit("West")
    alice = org.user("alice@example.com", ["Customer Service Representative"], east)
    anna = org.user("anna@example.com", ["Customer Service Representative"], east)
    walt = org.user("walt@example.com", ["Customer Service Representative"], west)
    case = _case(client, alice)
    assert client.get(f"{C}/{case['id']}", headers=anna.headers).status_code == 200
    problem(client.patch(f"{C}/{case['id']}", json={"title": "Mine"}, headers=anna.headers), 403)
    problem(client.post(f"{C}/{case['id']}/cancel", headers=anna.headers), 403)
    problem(client.get(f"{C}/{case['id']}", headers=walt.headers), 404)
    assert client.get(C, headers=walt.headers).json()["items"] == []


# --- parent and child cases --------------------------------------------------------------------------
def test_a_child_needs_an_active_parent_and_no_cycles(client, admin: TestUser) -> None:
    account = _account(client, admin)
    parent = _case(client, admin, account, title="Outage")
    child = _case(client, admin, account, title="Site A down", parent_case_id=parent["id"])
    grandchild = _case(client, admin, account, title="Router A", parent_case_id=child["id"])
    r = client.patch(f"{C}/{parent['id']}", json={"parent_case_id": grandchild["id"]}, headers=admin.headers)
    problem(r, 422, "parent_case_id")
    r = client.patch(f"{C}/{parent['id']}", json={"parent_case_id": parent["id"]}, headers=admin.headers)
    problem(r, 422, "parent_case_id")

    closed = _case(client, admin, account, title="Old")
    assert _resolve(client, admin, closed).status_code == 200
    problem(client.post(C, json={"title": "x", "customer_type": "account", "customer_id": account["id"],
                                 "parent_case_id": closed["id"]}, headers=admin.headers), 422, "parent_case_id")
    children = client.get(C, params={"parent_case_id": parent["id"]}, headers=admin.headers).json()["items"]
    assert [c["id"] for c in children] == [child["id"]]


def test_a_parent_cannot_close_until_its_children_are_closed(client, admin: TestUser) -> None:
    account = _account(client, admin)
    parent = _case(client, admin, account, title="Outage")
    child = _case(client, admin, account, title="Site A down", parent_case_id=parent["id"])
    other = _case(client, admin, account)

    body = problem(_resolve(client, admin, parent), 409)
    assert "child" in body["detail"]
    problem(client.post(f"{C}/{parent['id']}/cancel", headers=admin.headers), 409)
    problem(client.post(f"{C}/{parent['id']}/merge", json={"master_id": other["id"]}, headers=admin.headers), 409)
    assert client.get(f"{C}/{parent['id']}", headers=admin.headers).json()["state"] == "Active"

    assert client.post(f"{C}/{child['id']}/cancel", headers=admin.headers).status_code == 200
    r = _resolve(client, admin, parent)
    assert r.status_code == 200, r.text
    # A child cannot come back under a closed parent.
    body = problem(client.post(f"{C}/{child['id']}/reactivate", headers=admin.headers), 409)
    assert "parent" in body["detail"]
    assert client.post(f"{C}/{parent['id']}/reactivate", headers=admin.headers).status_code == 200
    assert client.post(f"{C}/{child['id']}/reactivate", headers=admin.headers).status_code == 200


def test_deleting_a_parent_case_is_refused(client, admin: TestUser) -> None:
    parent = _case(client, admin)
    child = _case(client, admin, title="Child", parent_case_id=parent["id"])
    problem(client.delete(f"{C}/{parent['id']}", headers=admin.headers), 409)
    assert client.delete(f"{C}/{child['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"{C}/{parent['id']}", headers=admin.headers).status_code == 204


# --- lifecycle ---------------------------------------------------------------------------------------
def test_resolve_records_a_completed_resolution_and_locks_the_case(client, admin: TestUser) -> None:
    case = _case(client, admin)
    r = _resolve(client, admin, case, description="New toner cartridge", time_spent_minutes=45)
    assert r.status_code == 200, r.text
    assert (r.json()["statecode"], r.json()["statuscode"], r.json()["status"]) == (1, 5, "Problem Solved")
    resolutions = client.get(f"{C}/{case['id']}/resolutions", headers=admin.headers).json()
    assert len(resolutions) == 1
    assert resolutions[0]["subject"] == "Replaced the toner"
    assert resolutions[0]["time_spent_minutes"] == 45
    assert (resolutions[0]["statecode"], resolutions[0]["statuscode"]) == (1, 2)  # Completed
    assert resolutions[0]["created_by_id"] == str(admin.id)

    problem(client.patch(f"{C}/{case['id']}", json={"title": "Changed"}, headers=admin.headers), 409)
    problem(_resolve(client, admin, case), 409)
    problem(client.post(f"{C}/{case['id']}/cancel", headers=admin.headers), 409)


def test_resolve_checks_its_body(client, admin: TestUser) -> None:
    case = _case(client, admin)
    problem(_resolve(client, admin, case, statuscode=6), 422, "statuscode")
    problem(_resolve(client, admin, case, time_spent_minutes=-5), 422, "time_spent_minutes")
    problem(_resolve(client, admin, case, subject="   "), 422, "subject")
    r = _resolve(client, admin, case, statuscode=1000)
    assert r.json()["status"] == "Information Provided"


def test_set_state_cannot_resolve_or_merge(client, admin: TestUser) -> None:
    case = _case(client, admin)
    r = client.post(f"{C}/{case['id']}/set-state", json={"statecode": 1}, headers=admin.headers)
    problem(r, 422, "statecode")
    r = client.post(f"{C}/{case['id']}/set-state", json={"statecode": 2, "statuscode": 2000}, headers=admin.headers)
    problem(r, 422, "statuscode")
    r = client.post(f"{C}/{case['id']}/set-state", json={"statecode": 0, "statuscode": 2}, headers=admin.headers)
    assert r.json()["status"] == "On Hold"


def test_cancel_then_reactivate(client, admin: TestUser) -> None:
    case = _case(client, admin)
    r = client.post(f"{C}/{case['id']}/cancel", headers=admin.headers)
    assert (r.json()["statecode"], r.json()["statuscode"]) == (2, 6)
    problem(client.patch(f"{C}/{case['id']}", json={"title": "x"}, headers=admin.headers), 409)
    r = client.post(f"{C}/{case['id']}/reactivate", headers=admin.headers)
    assert (r.json()["statecode"], r.json()["statuscode"]) == (0, 1)
    problem(client.post(f"{C}/{case['id']}/reactivate", headers=admin.headers), 409)


def test_reactivating_a_resolved_case_cancels_its_resolution(client, admin: TestUser) -> None:
    case = _case(client, admin)
    _resolve(client, admin, case, subject="First try")
    assert client.post(f"{C}/{case['id']}/reactivate", headers=admin.headers).status_code == 200
    _resolve(client, admin, case, subject="Second try")
    resolutions = client.get(f"{C}/{case['id']}/resolutions", headers=admin.headers).json()
    assert [(x["subject"], x["statecode"]) for x in resolutions] == [("Second try", 1), ("First try", 2)]


def test_merge_cancels_the_case_as_merged_into_its_master(client, admin: TestUser) -> None:
    account = _account(client, admin)
    master = _case(client, admin, account, title="Printer on fire")
    duplicate = _case(client, admin, account, title="Printer smoking")
    r = client.post(f"{C}/{duplicate['id']}/merge", json={"master_id": master["id"]}, headers=admin.headers)
    assert r.status_code == 200, r.text
    merged = r.json()
    assert (merged["statecode"], merged["statuscode"], merged["status"]) == (2, 2000, "Merged")
    assert merged["master_id"] == master["id"]
    assert client.get(f"{C}/{master['id']}", headers=admin.headers).json()["state"] == "Active"
    found = client.get(C, params={"master_id": master["id"]}, headers=admin.headers).json()["items"]
    assert [c["id"] for c in found] == [duplicate["id"]]

    # Deleting the master leaves the merged case without one.
    assert client.delete(f"{C}/{master['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{C}/{duplicate['id']}", headers=admin.headers).json()["master_id"] is None


def test_reactivating_a_merged_case_undoes_the_merge(client, admin: TestUser) -> None:
    account = _account(client, admin)
    master, duplicate = _case(client, admin, account), _case(client, admin, account)
    client.post(f"{C}/{duplicate['id']}/merge", json={"master_id": master["id"]}, headers=admin.headers)
    r = client.post(f"{C}/{duplicate['id']}/reactivate", headers=admin.headers)
    assert (r.json()["state"], r.json()["master_id"]) == ("Active", None)


def test_merge_rules(client, admin: TestUser) -> None:
    account = _account(client, admin)
    case, other = _case(client, admin, account), _case(client, admin, account)
    problem(client.post(f"{C}/{case['id']}/merge", json={"master_id": case["id"]}, headers=admin.headers),
            422, "master_id")
    _resolve(client, admin, other)
    problem(client.post(f"{C}/{case['id']}/merge", json={"master_id": other["id"]}, headers=admin.headers),
            422, "master_id")
    problem(client.post(f"{C}/{other['id']}/merge", json={"master_id": case["id"]}, headers=admin.headers), 409)
    missing = "00000000-0000-4000-8000-000000000001"
    problem(client.post(f"{C}/{case['id']}/merge", json={"master_id": missing}, headers=admin.headers),
            422, "master_id")


def test_lifecycle_is_audited_and_the_case_has_a_timeline(client, admin: TestUser) -> None:
    case = _case(client, admin)
    created(client, admin, "activities", {"activity_type": "phone_call", "subject": "Called back",
                                          "regarding_type": "case", "regarding_id": case["id"]})
    timeline = client.get(f"{C}/{case['id']}/timeline", headers=admin.headers).json()["items"]
    assert [a["subject"] for a in timeline] == ["Called back"]
    _resolve(client, admin, case, time_spent_minutes=10)
    trail = client.get(f"{C}/{case['id']}/audit", headers=admin.headers).json()
    actions = [t["action"] for t in trail]
    assert "create" in actions
    resolve = next(t for t in trail if t["action"] == "resolve")
    assert resolve["changes"]["statecode"] == [0, 1]
    assert any(k.startswith("resolution.") and k.endswith(".time_spent_minutes") for k in resolve["changes"])
