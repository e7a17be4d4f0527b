"""Personal API tokens through the API: shown once, listed without their secret, revoked by their owner or
by an administrator, and refused (401) once revoked or once their user is disabled."""

from tests.org import OrgBuilder

API = "/api/v1"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _create(client, user, name: str = "script") -> dict:
    r = client.post(f"{API}/me/tokens", json={"name": name, "days": 7}, headers=user.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_token_is_shown_once_and_listed_without_secret(client, org: OrgBuilder) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    created = _create(client, seller, "backup job")
    assert created["token"].startswith("crm_")
    assert created["status"] == "active"
    assert client.get(f"{API}/me", headers=_bearer(created["token"])).json()["user_id"] == str(seller.id)

    listed = client.get(f"{API}/me/tokens", headers=seller.headers).json()
    assert {t["name"] for t in listed} == {"test", "backup job"}
    mine = next(t for t in listed if t["id"] == created["id"])
    assert "token" not in mine and "token_hash" not in mine
    assert created["token"] not in client.get(f"{API}/me/tokens", headers=seller.headers).text
    assert mine["revoked_on"] is None and mine["expires_on"] > mine["created_on"]

    r = client.post(f"{API}/me/tokens", json={"name": "", "days": 7}, headers=seller.headers)
    assert r.status_code == 422
    r = client.post(f"{API}/me/tokens", json={"name": "forever", "days": 100000}, headers=seller.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "days"


def test_revoked_token_gets_401_on_the_next_call(client, org: OrgBuilder) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    created = _create(client, seller)
    assert client.get(f"{API}/accounts", headers=_bearer(created["token"])).status_code == 200

    r = client.delete(f"{API}/me/tokens/{created['id']}", headers=seller.headers)
    assert r.status_code == 204
    r = client.get(f"{API}/accounts", headers=_bearer(created["token"]))
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert "revoked" in r.json()["detail"]
    # The other token of the same user still works, and the list shows the revocation.
    listed = {t["id"]: t for t in client.get(f"{API}/me/tokens", headers=seller.headers).json()}
    assert listed[created["id"]]["status"] == "revoked"
    assert listed[created["id"]]["revoked_on"] is not None


def test_nobody_revokes_another_users_token_through_me(client, org: OrgBuilder) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    other = org.user("other@example.com", ["Salesperson"])
    created = _create(client, seller)
    assert client.delete(f"{API}/me/tokens/{created['id']}", headers=other.headers).status_code == 404
    assert client.get(f"{API}/me", headers=_bearer(created["token"])).status_code == 200


def test_administrator_revokes_any_users_token(client, org: OrgBuilder) -> None:
    admin = org.admin()
    seller = org.user("seller@example.com", ["Salesperson"])
    manager = org.user("manager@example.com", ["Sales Manager"])
    created = _create(client, seller)
    url = f"{API}/users/{seller.id}/tokens"

    assert {t["id"] for t in client.get(url, headers=admin.headers).json()} >= {created["id"]}
    r = client.delete(f"{url}/{created['id']}", headers=manager.headers)
    assert r.status_code == 403
    assert client.get(f"{API}/me", headers=_bearer(created["token"])).status_code == 200
    assert client.get(url, headers=manager.headers).status_code == 403
    # The token must be this user's: an id from another user's list is not found.
    assert client.delete(f"{API}/users/{admin.id}/tokens/{created['id']}", headers=admin.headers).status_code == 404

    assert client.delete(f"{url}/{created['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{API}/me", headers=_bearer(created["token"])).status_code == 401


def test_disabled_users_tokens_stop_working(client, org: OrgBuilder) -> None:
    admin = org.admin()
    seller = org.user("seller@example.com", ["Salesperson"])
    created = _create(client, seller)
    assert client.post(f"{API}/users/{seller.id}/disable", headers=admin.headers).status_code == 200
    for headers in (seller.headers, _bearer(created["token"])):
        r = client.get(f"{API}/me", headers=headers)
        assert r.status_code == 401
        assert "disabled" in r.json()["detail"]
    assert client.post(f"{API}/users/{seller.id}/enable", headers=admin.headers).status_code == 200
    assert client.get(f"{API}/me", headers=_bearer(created["token"])).status_code == 200
