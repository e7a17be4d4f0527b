"""The security administration API as an administrator uses it: the business unit tree, users, teams,
security roles, and the guards that stop anybody from granting more than he holds."""

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from crm_core.models import Activity, Task
from tests.api import problem
from tests.org import OrgBuilder

API = "/api/v1"


def _ok(r, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json() if r.content else {}


def _fields(problem: dict) -> list[str]:
    return [e["field"] for e in problem.get("errors", [])]


def _role_id(client, admin, name: str) -> str:
    items = _ok(client.get(f"{API}/security-roles", params={"name": name}, headers=admin.headers))["items"]
    return items[0]["id"]


# --- business units --------------------------------------------------------------------------------

def test_business_unit_tree_has_one_root_and_no_cycles(client, org: OrgBuilder) -> None:
    admin = org.admin()
    sales = _ok(client.post(f"{API}/business-units", json={"name": "Sales"}, headers=admin.headers), 201)
    assert sales["parent_id"] == str(org.root_id)
    east = _ok(client.post(f"{API}/business-units", json={"name": "Sales East", "parent_id": sales["id"]},
                           headers=admin.headers), 201)
    children = _ok(client.get(f"{API}/business-units", params={"parent_id": sales["id"]}, headers=admin.headers))
    assert [u["name"] for u in children["items"]] == ["Sales East"]

    p = problem(client.patch(f"{API}/business-units/{sales['id']}", json={"parent_id": east["id"]},
                              headers=admin.headers), 422)
    assert _fields(p) == ["parent_id"]
    p = problem(client.patch(f"{API}/business-units/{sales['id']}", json={"parent_id": sales["id"]},
                              headers=admin.headers), 422)
    assert _fields(p) == ["parent_id"]
    p = problem(client.patch(f"{API}/business-units/{org.root_id}", json={"parent_id": sales["id"]},
                              headers=admin.headers), 422)
    assert _fields(p) == ["parent_id"]
    p = problem(client.patch(f"{API}/business-units/{east['id']}", json={"parent_id": None},
                              headers=admin.headers), 422)  # a second root
    assert _fields(p) == ["parent_id"]
    problem(client.post(f"{API}/business-units", json={"name": "Sales"}, headers=admin.headers), 409)

    moved = _ok(client.patch(f"{API}/business-units/{east['id']}", json={"parent_id": str(org.root_id)},
                             headers=admin.headers))
    assert moved["parent_id"] == str(org.root_id)
    roots = [u for u in _ok(client.get(f"{API}/business-units", headers=admin.headers))["items"]
             if u["parent_id"] is None]
    assert [u["id"] for u in roots] == [str(org.root_id)]


def test_business_unit_is_deleted_only_when_empty(client, org: OrgBuilder) -> None:
    admin = org.admin()
    unit = org.unit("Doomed")
    child = org.unit("Doomed Child", unit)
    seller = org.user("seller@example.com", ["Salesperson"], unit)
    team = org.team("Doomed Team", unit, [])
    _ok(client.post(f"{API}/accounts", json={"name": "Contoso"}, headers=seller.headers), 201)

    p = problem(client.delete(f"{API}/business-units/{unit}", headers=admin.headers), 409)
    assert p["remaining"] == {"child business units": 1, "users": 1, "teams": 1, "accounts": 1}
    assert "users (1)" in p["detail"] and "accounts (1)" in p["detail"]
    problem(client.delete(f"{API}/business-units/{org.root_id}", headers=admin.headers), 409)

    # Moving the user takes his account with him; then the team and the child unit go.
    _ok(client.patch(f"{API}/users/{seller.id}", json={"business_unit_id": str(org.root_id)}, headers=admin.headers))
    _ok(client.delete(f"{API}/teams/{team}", headers=admin.headers), 204)
    _ok(client.delete(f"{API}/business-units/{child}", headers=admin.headers), 204)
    _ok(client.delete(f"{API}/business-units/{unit}", headers=admin.headers), 204)
    problem(client.get(f"{API}/business-units/{unit}", headers=admin.headers), 404)


def test_disabled_business_unit_locks_out_its_users_and_those_below(client, org: OrgBuilder) -> None:
    admin = org.admin()
    unit = org.unit("Branch")
    below = org.unit("Branch Office", unit)
    clerk = org.user("clerk@example.com", ["Salesperson"], unit)
    office = org.user("office@example.com", ["Salesperson"], below)
    assert client.get(f"{API}/me", headers=clerk.headers).status_code == 200

    assert _ok(client.post(f"{API}/business-units/{unit}/disable", headers=admin.headers))["is_disabled"] is True
    p = problem(client.get(f"{API}/me", headers=clerk.headers), 401)
    assert "business unit" in p["detail"]
    problem(client.get(f"{API}/accounts", headers=office.headers), 401)
    problem(client.post(f"{API}/business-units/{unit}/disable", headers=admin.headers), 409)

    _ok(client.post(f"{API}/business-units/{unit}/enable", headers=admin.headers))
    assert client.get(f"{API}/me", headers=clerk.headers).status_code == 200
    assert client.get(f"{API}/me", headers=office.headers).status_code == 200


def test_root_and_own_unit_cannot_be_disabled(client, org: OrgBuilder) -> None:
    unit = org.unit("Head Office")
    admin = org.user("boss@example.com", ["System Administrator"], unit)
    problem(client.post(f"{API}/business-units/{org.root_id}/disable", headers=admin.headers), 409)
    p = problem(client.post(f"{API}/business-units/{unit}/disable", headers=admin.headers), 409)
    assert "lock you out" in p["detail"]


def test_non_admin_reads_the_directory_but_cannot_change_it(client, org: OrgBuilder) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    assert _ok(client.get(f"{API}/business-units", headers=seller.headers))["items"]
    assert _ok(client.get(f"{API}/users", headers=seller.headers))["items"]
    problem(client.post(f"{API}/business-units", json={"name": "Mine"}, headers=seller.headers), 403)
    problem(client.post(f"{API}/users", json={"email": "x@example.com", "full_name": "X"},
                         headers=seller.headers), 403)
    problem(client.patch(f"{API}/users/{seller.id}", json={"full_name": "Me"}, headers=seller.headers), 403)
    problem(client.get(f"{API}/security-roles", headers=seller.headers), 403)


# --- users -----------------------------------------------------------------------------------------

def test_create_user_validates_email_roles_and_unit(client, org: OrgBuilder) -> None:
    admin = org.admin()
    unit = org.unit("Sales")
    sales_role = _role_id(client, admin, "Salesperson")
    body = {"email": "  Jane.Doe@Example.COM ", "full_name": "Jane Doe", "business_unit_id": str(unit),
            "role_ids": [sales_role]}
    jane = _ok(client.post(f"{API}/users", json=body, headers=admin.headers), 201)
    assert jane["email"] == "jane.doe@example.com"
    assert [r["name"] for r in jane["roles"]] == ["Salesperson"]
    assert jane["business_unit_id"] == str(unit)

    p = problem(client.post(f"{API}/users", json={**body, "email": "JANE.DOE@example.com"},
                             headers=admin.headers), 409)
    assert "exists already" in p["detail"]
    assert _fields(problem(client.post(f"{API}/users", json={**body, "email": "not an address"},
                                        headers=admin.headers), 422)) == ["email"]
    p = problem(client.post(f"{API}/users", json={**body, "email": "x@example.com",
                                                   "role_ids": [sales_role, str(org.root_id)]},
                             headers=admin.headers), 422)
    assert _fields(p) == ["role_ids[1]"]
    p = problem(client.post(f"{API}/users", json={**body, "email": "y@example.com",
                                                   "business_unit_id": sales_role}, headers=admin.headers), 422)
    assert _fields(p) == ["business_unit_id"]

    found = _ok(client.get(f"{API}/users", params={"email": "Jane.Doe@example.com"}, headers=admin.headers))
    assert [u["id"] for u in found["items"]] == [jane["id"]]
    in_unit = _ok(client.get(f"{API}/users", params={"business_unit_id": str(unit)}, headers=admin.headers))
    assert [u["id"] for u in in_unit["items"]] == [jane["id"]]


def test_users_are_never_deleted(client, org: OrgBuilder) -> None:
    admin = org.admin()
    seller = org.user("seller@example.com", ["Salesperson"])
    p = problem(client.delete(f"{API}/users/{seller.id}", headers=admin.headers), 405)
    assert "disable" in p["detail"]
    assert client.get(f"{API}/users/{seller.id}", headers=admin.headers).status_code == 200


def test_disabled_user_gets_401_and_cannot_own_records(client, org: OrgBuilder) -> None:
    admin = org.admin()
    seller = org.user("seller@example.com", ["Salesperson"])
    account = _ok(client.post(f"{API}/accounts", json={"name": "Contoso"}, headers=admin.headers), 201)

    assert _ok(client.post(f"{API}/users/{seller.id}/disable", headers=admin.headers))["is_disabled"] is True
    problem(client.get(f"{API}/accounts", headers=seller.headers), 401)
    p = problem(client.post(f"{API}/accounts/{account['id']}/assign",
                             json={"owner_type": "user", "owner_id": str(seller.id)}, headers=admin.headers), 422)
    assert _fields(p) == ["owner_id"]
    disabled = _ok(client.get(f"{API}/users", params={"is_disabled": True}, headers=admin.headers))["items"]
    assert [u["id"] for u in disabled] == [str(seller.id)]

    _ok(client.post(f"{API}/users/{seller.id}/enable", headers=admin.headers))
    assert client.get(f"{API}/accounts", headers=seller.headers).status_code == 200
    p = problem(client.post(f"{API}/users/{admin.id}/disable", headers=admin.headers), 409)
    assert "yourself" in p["detail"]


def test_moving_a_user_moves_his_records_to_the_new_unit(client, org: OrgBuilder, engine) -> None:
    admin = org.admin()
    old, new = org.unit("Old"), org.unit("New")
    mover = org.user("mover@example.com", ["Salesperson"], old)
    old_peer = org.user("oldpeer@example.com", ["Salesperson"], old)
    new_peer = org.user("newpeer@example.com", ["Salesperson"], new)
    account = _ok(client.post(f"{API}/accounts", json={"name": "Contoso"}, headers=mover.headers), 201)
    contact = _ok(client.post(f"{API}/contacts", json={"last_name": "Doe"}, headers=mover.headers), 201)
    lead = _ok(client.post(f"{API}/leads", json={"subject": "Interest", "last_name": "Roe"},
                           headers=mover.headers), 201)
    with Session(engine) as session:  # not audited: this test is about the move, not the activity API
        task = Task(activity_type="task", subject="Call back", occurred_on=datetime.now(UTC),
                    owning_user_id=mover.id, owning_business_unit_id=old)
        session.add(task)
        session.commit()
        task_id = task.id
    records = [("accounts", account["id"]), ("contacts", contact["id"]), ("leads", lead["id"])]
    for coll, rid in records:
        assert client.get(f"{API}/{coll}/{rid}", headers=old_peer.headers).status_code == 200
        assert client.get(f"{API}/{coll}/{rid}", headers=new_peer.headers).status_code == 404

    r = client.patch(f"{API}/users/{mover.id}", json={"business_unit_id": str(new)}, headers=admin.headers)
    assert _ok(r)["business_unit_id"] == str(new)

    for coll, rid in records:
        assert client.get(f"{API}/{coll}/{rid}", headers=old_peer.headers).status_code == 404
        assert _ok(client.get(f"{API}/{coll}/{rid}", headers=new_peer.headers))["owning_business_unit_id"] == str(new)
    assert _ok(client.get(f"{API}/accounts", headers=old_peer.headers))["items"] == []
    assert [a["id"] for a in _ok(client.get(f"{API}/accounts", headers=new_peer.headers))["items"]] == [account["id"]]
    with Session(engine) as session:
        assert session.get(Activity, task_id).owning_business_unit_id == new
    for url in (f"{API}/users/{mover.id}/audit", f"{API}/accounts/{account['id']}/audit"):
        latest = _ok(client.get(url, headers=admin.headers))[0]
        assert latest["action"] == "change_business_unit"
        assert [str(old), str(new)] in latest["changes"].values()


def test_role_changes_are_audited(client, org: OrgBuilder) -> None:
    admin = org.admin()
    seller = org.user("seller@example.com", ["Salesperson"])
    manager_role = _role_id(client, admin, "Sales Manager")
    user = _ok(client.put(f"{API}/users/{seller.id}/roles", json={"role_ids": [manager_role]}, headers=admin.headers))
    assert [r["name"] for r in user["roles"]] == ["Sales Manager"]
    assert _ok(client.get(f"{API}/me", headers=seller.headers))["roles"] == ["Sales Manager"]
    _ok(client.patch(f"{API}/users/{seller.id}", json={"full_name": "Senior Seller"}, headers=admin.headers))

    trail = _ok(client.get(f"{API}/users/{seller.id}/audit", headers=admin.headers))
    by_action = {row["action"]: row for row in trail}
    assert by_action["set_roles"]["user_id"] == str(admin.id)
    assert by_action["set_roles"]["changes"]["roles"][1] == [manager_role]
    assert by_action["update"]["changes"]["full_name"] == ["Seller", "Senior Seller"]
    assert "create" in by_action


def test_unit_depth_user_manager_reaches_only_his_unit(client, org: OrgBuilder) -> None:
    admin = org.admin()
    unit_a, unit_b = org.unit("A"), org.unit("B")
    role = _ok(client.post(f"{API}/security-roles", json={"name": "Unit User Manager", "privileges": [
        {"entity": "user", "privilege": "read", "depth": "organization"},
        {"entity": "user", "privilege": "write", "depth": "business_unit"},
    ]}, headers=admin.headers), 201)
    manager = org.user("manager@a.example", [], unit_a)
    _ok(client.put(f"{API}/users/{manager.id}/roles", json={"role_ids": [role["id"]]}, headers=admin.headers))
    colleague = org.user("colleague@a.example", ["Salesperson"], unit_a)
    stranger = org.user("stranger@b.example", ["Salesperson"], unit_b)

    _ok(client.patch(f"{API}/users/{colleague.id}", json={"full_name": "Colleague A"}, headers=manager.headers))
    problem(client.patch(f"{API}/users/{stranger.id}", json={"full_name": "Mine"}, headers=manager.headers), 403)
    problem(client.post(f"{API}/users/{stranger.id}/disable", headers=manager.headers), 403)
    p = problem(client.patch(f"{API}/users/{colleague.id}", json={"business_unit_id": str(unit_b)},
                              headers=manager.headers), 403)
    assert "business_unit_id" in p["detail"]


# --- teams -----------------------------------------------------------------------------------------

def test_owner_team_gives_its_roles_to_members_access_team_holds_none(client, org: OrgBuilder) -> None:
    admin = org.admin()
    unit = org.unit("Sales")
    newcomer = org.user("new@example.com", [], unit)
    team = _ok(client.post(f"{API}/teams", json={"name": "Sellers", "business_unit_id": str(unit)},
                           headers=admin.headers), 201)
    assert team["team_type"] == "owner"
    problem(client.post(f"{API}/teams", json={"name": "Sellers", "business_unit_id": str(unit)},
                         headers=admin.headers), 409)
    problem(client.get(f"{API}/accounts", headers=newcomer.headers), 403)

    sales_role = _role_id(client, admin, "Salesperson")
    _ok(client.put(f"{API}/teams/{team['id']}/roles", json={"role_ids": [sales_role]}, headers=admin.headers))
    members = _ok(client.put(f"{API}/teams/{team['id']}/members", json={"user_ids": [str(newcomer.id)]},
                             headers=admin.headers))["members"]
    assert [m["email"] for m in members] == ["new@example.com"]
    assert client.get(f"{API}/accounts", headers=newcomer.headers).status_code == 200
    p = problem(client.put(f"{API}/teams/{team['id']}/members", json={"user_ids": [sales_role]},
                            headers=admin.headers), 422)
    assert _fields(p) == ["user_ids[0]"]

    access = _ok(client.post(f"{API}/teams", json={"name": "Deal room", "team_type": "access",
                                                   "business_unit_id": str(unit)}, headers=admin.headers), 201)
    p = problem(client.put(f"{API}/teams/{access['id']}/roles", json={"role_ids": [sales_role]},
                            headers=admin.headers), 422)
    assert _fields(p) == ["role_ids"]


def test_team_takes_its_records_along_and_is_not_deleted_while_owning(client, org: OrgBuilder) -> None:
    admin = org.admin()
    team = org.team("Key accounts", org.root_id, [admin.id])
    account = _ok(client.post(f"{API}/accounts", json={"name": "Team Co", "owner_type": "team",
                                                       "owner_id": str(team)}, headers=admin.headers), 201)
    assert account["owning_business_unit_id"] == str(org.root_id)
    branch = org.unit("Branch")
    moved = _ok(client.patch(f"{API}/teams/{team}", json={"business_unit_id": str(branch)}, headers=admin.headers))
    assert moved["business_unit_id"] == str(branch)
    account_now = _ok(client.get(f"{API}/accounts/{account['id']}", headers=admin.headers))
    assert account_now["owning_business_unit_id"] == str(branch)

    p = problem(client.delete(f"{API}/teams/{team}", headers=admin.headers), 409)
    assert p["remaining"] == {"accounts": 1}
    _ok(client.post(f"{API}/accounts/{account['id']}/assign", json={"owner_type": "user", "owner_id": str(admin.id)},
                    headers=admin.headers))
    _ok(client.delete(f"{API}/teams/{team}", headers=admin.headers), 204)


# --- security roles --------------------------------------------------------------------------------

def test_security_role_privileges_are_validated(client, org: OrgBuilder) -> None:
    admin = org.admin()
    url = f"{API}/security-roles"
    role = _ok(client.post(url, json={"name": "Reader", "privileges": [
        {"entity": "account", "privilege": "read", "depth": "business_unit"},
        {"entity": "contact", "privilege": "read", "depth": 4},
    ]}, headers=admin.headers), 201)
    assert role["privileges"] == [{"entity": "account", "privilege": "read", "depth": "business_unit"},
                                  {"entity": "contact", "privilege": "read", "depth": "parent_child"}]
    bad = [
        ({"entity": "acount", "privilege": "read", "depth": "user"}, "privileges[1].entity"),
        ({"entity": "account", "privilege": "peek", "depth": "user"}, "privileges[1].privilege"),
        ({"entity": "account", "privilege": "write", "depth": "galaxy"}, "privileges[1].depth"),
        ({"entity": "account", "privilege": "write", "depth": 3}, "privileges[1].depth"),
        ({"entity": "security_role", "privilege": "read", "depth": "user"}, "privileges[1].depth"),
        ({"entity": "account", "privilege": "read", "depth": "user"}, "privileges[1]"),
    ]
    ok = {"entity": "account", "privilege": "read", "depth": "user"}
    for item, field in bad:
        p = problem(client.post(url, json={"name": "Bad", "privileges": [ok, item]}, headers=admin.headers), 422)
        assert _fields(p) == [field], item

    updated = _ok(client.patch(f"{url}/{role['id']}", json={"name": "Account Reader", "privileges": [
        {"entity": "account", "privilege": "read", "depth": "organization"}]}, headers=admin.headers))
    assert updated["privileges"] == [{"entity": "account", "privilege": "read", "depth": "organization"}]
    assert [e["action"] for e in _ok(client.get(f"{url}/{role['id']}/audit", headers=admin.headers))] == \
        ["update", "create"]

    holder = org.user("holder@example.com", [])
    _ok(client.put(f"{API}/users/{holder.id}/roles", json={"role_ids": [role["id"]]}, headers=admin.headers))
    assert _ok(client.get(f"{API}/accounts", headers=holder.headers))["items"] == []
    p = problem(client.delete(f"{url}/{role['id']}", headers=admin.headers), 409)
    assert "held by 1 user and 0 teams" in p["detail"]
    _ok(client.put(f"{API}/users/{holder.id}/roles", json={"role_ids": []}, headers=admin.headers))
    _ok(client.delete(f"{url}/{role['id']}", headers=admin.headers), 204)


def test_system_administrator_role_cannot_be_changed_or_deleted(client, org: OrgBuilder) -> None:
    admin = org.admin()
    sa = _role_id(client, admin, "System Administrator")
    problem(client.patch(f"{API}/security-roles/{sa}", json={"privileges": []}, headers=admin.headers), 409)
    problem(client.patch(f"{API}/security-roles/{sa}", json={"name": "Root"}, headers=admin.headers), 409)
    problem(client.delete(f"{API}/security-roles/{sa}", headers=admin.headers), 409)
    p = problem(client.put(f"{API}/users/{admin.id}/roles", json={"role_ids": []}, headers=admin.headers), 409)
    assert "yourself" in p["detail"]
    assert _ok(client.get(f"{API}/me", headers=admin.headers))["roles"] == ["System Administrator"]


def test_nobody_grants_a_privilege_he_does_not_hold(client, org: OrgBuilder) -> None:
    admin = org.admin()
    role_admin = _ok(client.post(f"{API}/security-roles", json={"name": "Role Admin", "privileges": [
        {"entity": e, "privilege": p, "depth": "organization"}
        for e in ("security_role", "user", "team") for p in ("create", "read", "write")
    ]}, headers=admin.headers), 201)
    delegate = org.user("delegate@example.com", ["Salesperson"])
    _ok(client.put(f"{API}/users/{delegate.id}/roles", json={"role_ids": [role_admin["id"], _role_id(
        client, admin, "Salesperson")]}, headers=admin.headers))
    seller = org.user("seller@example.com", [])
    url = f"{API}/security-roles"

    # Salesperson writes accounts at user depth only: organisation-wide delete is beyond him.
    p = problem(client.post(url, json={"name": "Wrecker", "privileges": [
        {"entity": "account", "privilege": "delete", "depth": "organization"}]}, headers=delegate.headers), 403)
    assert "delete on account" in p["detail"]
    modest = _ok(client.post(url, json={"name": "Modest", "privileges": [
        {"entity": "account", "privilege": "read", "depth": "business_unit"}]}, headers=delegate.headers), 201)
    problem(client.patch(f"{url}/{modest['id']}", json={"privileges": [
        {"entity": "account", "privilege": "read", "depth": "organization"}]}, headers=delegate.headers), 403)

    sa, manager = _role_id(client, admin, "System Administrator"), _role_id(client, admin, "Sales Manager")
    problem(client.put(f"{API}/users/{seller.id}/roles", json={"role_ids": [sa]}, headers=delegate.headers), 403)
    problem(client.put(f"{API}/users/{seller.id}/roles", json={"role_ids": [manager]}, headers=delegate.headers), 403)
    problem(client.post(f"{API}/users", json={"email": "boss@example.com", "full_name": "Boss", "role_ids": [sa]},
                         headers=delegate.headers), 403)
    user = _ok(client.put(f"{API}/users/{seller.id}/roles", json={"role_ids": [modest["id"]]},
                          headers=delegate.headers))
    assert [r["name"] for r in user["roles"]] == ["Modest"]

    # Nor can he take away what he could not give: the administrator keeps System Administrator.
    problem(client.put(f"{API}/users/{admin.id}/roles", json={"role_ids": []}, headers=delegate.headers), 403)

    # Joining an owner team that holds System Administrator would grant it too; leaving it would take it away.
    admins = org.team("Admins", org.root_id, [admin.id], roles=["System Administrator"])
    problem(client.put(f"{API}/teams/{admins}/members", json={"user_ids": [str(admin.id), str(seller.id)]},
                        headers=delegate.headers), 403)
    problem(client.put(f"{API}/teams/{admins}/members", json={"user_ids": []}, headers=delegate.headers), 403)
    problem(client.put(f"{API}/teams/{admins}/roles", json={"role_ids": [sa, manager]}, headers=delegate.headers),
             403)
    assert _ok(client.get(f"{API}/me", headers=seller.headers))["roles"] == ["Modest"]
    assert _ok(client.get(f"{API}/me", headers=admin.headers))["roles"] == ["System Administrator"]
