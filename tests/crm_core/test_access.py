"""Access checks as a user notices them: who reads, changes, gives away and shares which account."""

from tests.org import OrgBuilder


def _account(client, user, name: str = "Contoso", **extra) -> dict:
    r = client.post("/api/v1/accounts", json={"name": name, **extra}, headers=user.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_unauthenticated_call_gets_401_problem(client) -> None:
    r = client.get("/api/v1/accounts")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Not authenticated"
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = client.get("/api/v1/accounts", headers={"Authorization": "Bearer crm_not-a-real-token"})
    assert r.status_code == 401
    assert "unknown or revoked" in r.json()["detail"]


def test_business_unit_depth_cannot_reach_another_unit(client, org: OrgBuilder) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    anna = org.user("anna@a.example", ["Salesperson"], unit_a)
    b_account = _account(client, bob, "Fabrikam")

    assert client.get(f"/api/v1/accounts/{b_account['id']}", headers=alice.headers).status_code == 404
    r = client.patch(f"/api/v1/accounts/{b_account['id']}", json={"name": "Mine now"}, headers=alice.headers)
    assert r.status_code == 404
    assert client.delete(f"/api/v1/accounts/{b_account['id']}", headers=alice.headers).status_code == 404
    assert client.get("/api/v1/accounts", headers=alice.headers).json()["items"] == []

    # Anna, in A too, reads Alice's account (business-unit read) but may not change it (user-level write).
    a_account = _account(client, alice, "Alpine Ski House")
    assert client.get(f"/api/v1/accounts/{a_account['id']}", headers=anna.headers).status_code == 200
    r = client.patch(f"/api/v1/accounts/{a_account['id']}", json={"name": "Hijacked"}, headers=anna.headers)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert client.get(f"/api/v1/accounts/{a_account['id']}", headers=alice.headers).json()["name"] == "Alpine Ski House"


def test_organisation_depth_reaches_every_unit(client, org: OrgBuilder) -> None:
    unit_b = org.unit("B")
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    admin = org.admin()
    account = _account(client, bob, "Fabrikam")
    assert client.get(f"/api/v1/accounts/{account['id']}", headers=admin.headers).status_code == 200
    r = client.patch(f"/api/v1/accounts/{account['id']}", json={"name": "Fabrikam Inc"}, headers=admin.headers)
    assert r.status_code == 200
    assert r.json()["name"] == "Fabrikam Inc"
    assert [a["id"] for a in client.get("/api/v1/accounts", headers=admin.headers).json()["items"]] == [account["id"]]


def test_parent_child_depth_reaches_units_below_not_beside(client, org: OrgBuilder) -> None:
    sales = org.unit("Sales")
    east = org.unit("Sales East", sales)
    service = org.unit("Service")
    manager = org.user("manager@example.com", ["Sales Manager"], sales)
    rep_east = org.user("east@example.com", ["Salesperson"], east)
    agent = org.user("agent@example.com", ["Salesperson"], service)
    east_account = _account(client, rep_east, "East Co")
    service_account = _account(client, agent, "Service Co")
    names = {a["name"] for a in client.get("/api/v1/accounts", headers=manager.headers).json()["items"]}
    assert names == {"East Co"}
    assert client.get(f"/api/v1/accounts/{service_account['id']}", headers=manager.headers).status_code == 404
    assert client.patch(f"/api/v1/accounts/{east_account['id']}", json={"telephone1": "+1 555"},
                        headers=manager.headers).status_code == 200


def test_share_gives_one_record_and_revoking_takes_it_back(client, org: OrgBuilder) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    account = _account(client, alice, "Shared Co")
    url = f"/api/v1/accounts/{account['id']}"
    r = client.post(f"{url}/share", json={"principal_type": "user", "principal_id": str(bob.id),
                                          "rights": ["read", "write"]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert client.get(url, headers=bob.headers).status_code == 200
    assert [a["id"] for a in client.get("/api/v1/accounts", headers=bob.headers).json()["items"]] == [account["id"]]
    assert client.patch(url, json={"telephone1": "123"}, headers=bob.headers).status_code == 200
    assert client.delete(url, headers=bob.headers).status_code == 403  # delete was not shared
    client.post(f"{url}/share", json={"principal_type": "user", "principal_id": str(bob.id), "rights": []},
                headers=alice.headers)
    assert client.get(url, headers=bob.headers).status_code == 404


def test_team_owned_record_is_visible_to_members_only(client, org: OrgBuilder) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    carol = org.user("carol@b.example", ["Salesperson"], unit_b)
    dave = org.user("dave@b.example", ["Salesperson"], unit_b)
    team = org.team("Key accounts", unit_a, [alice.id, carol.id])
    r = client.post("/api/v1/accounts", json={"name": "Team Co", "owner_type": "team", "owner_id": str(team)},
                    headers=alice.headers)
    assert r.status_code == 201, r.text
    assert r.json()["owner_type"] == "team"
    url = f"/api/v1/accounts/{r.json()['id']}"
    assert client.get(url, headers=carol.headers).status_code == 200
    assert client.get(url, headers=dave.headers).status_code == 404


def test_assign_needs_reach_over_the_new_owner(client, org: OrgBuilder) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    manager = org.user("boss@a.example", ["Sales Manager"], unit_a)
    anna = org.user("anna@a.example", ["Salesperson"], unit_a)
    account = _account(client, alice)
    url = f"/api/v1/accounts/{account['id']}/assign"
    # A salesperson assigns at user depth only: she cannot hand her record to somebody else.
    r = client.post(url, json={"owner_type": "user", "owner_id": str(anna.id)}, headers=alice.headers)
    assert r.status_code == 403
    r = client.post(url, json={"owner_type": "user", "owner_id": str(anna.id)}, headers=manager.headers)
    assert r.status_code == 200
    assert r.json()["owner_id"] == str(anna.id)
    r = client.post(url, json={"owner_type": "user", "owner_id": str(bob.id)}, headers=manager.headers)
    assert r.status_code == 403


def test_user_without_a_privilege_gets_403(client, org: OrgBuilder) -> None:
    nobody = org.user("nobody@example.com", [])
    r = client.get("/api/v1/accounts", headers=nobody.headers)
    assert r.status_code == 403
    assert "no read privilege on account" in r.json()["detail"]
