"""Callers are cached per process, yet a change of rights holds on the very next call in every process."""

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from crm_core.settings import Settings
from tests.org import OrgBuilder
from workers.app import create_app


@pytest.fixture
def other_process(settings: Settings, client) -> Iterator[TestClient]:
    """A second app on the same database: its own principal cache, as another worker process would have."""
    with TestClient(create_app(settings)) as c:
        yield c


def test_role_removed_in_one_process_holds_in_another(client, other_process, org: OrgBuilder) -> None:
    admin = org.admin()
    rep = org.user("rep@example.com", ["Salesperson"])
    assert other_process.get("/api/v1/accounts", headers=rep.headers).status_code == 200  # cached there now
    r = client.put(f"/api/v1/users/{rep.id}/roles", json={"role_ids": []}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert other_process.get("/api/v1/accounts", headers=rep.headers).status_code == 403


def test_revoked_token_and_disabled_user_fail_everywhere(client, other_process, org: OrgBuilder) -> None:
    admin = org.admin()
    rep = org.user("rep@example.com", ["Salesperson"])
    mine = client.post("/api/v1/me/tokens", json={"name": "laptop"}, headers=rep.headers).json()
    laptop = {"Authorization": f"Bearer {mine['token']}"}
    assert other_process.get("/api/v1/me", headers=laptop).status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{mine['id']}", headers=rep.headers).status_code == 204
    assert other_process.get("/api/v1/me", headers=laptop).status_code == 401

    assert other_process.get("/api/v1/me", headers=rep.headers).status_code == 200
    assert client.post(f"/api/v1/users/{rep.id}/disable", headers=admin.headers).status_code == 200
    assert other_process.get("/api/v1/me", headers=rep.headers).status_code == 401


def test_new_business_unit_below_widens_a_cached_managers_reach(client, other_process, org: OrgBuilder) -> None:
    admin = org.admin()
    sales = org.unit("Sales")
    manager = org.user("boss@example.com", ["Sales Manager"], sales)
    assert other_process.get("/api/v1/accounts", headers=manager.headers).json()["items"] == []
    east = client.post("/api/v1/business-units", json={"name": "East", "parent_id": str(sales)},
                       headers=admin.headers).json()
    rep = org.user("east@example.com", ["Salesperson"], uuid.UUID(east["id"]))
    client.post("/api/v1/accounts", json={"name": "East Co"}, headers=rep.headers)
    names = [a["name"] for a in other_process.get("/api/v1/accounts", headers=manager.headers).json()["items"]]
    assert names == ["East Co"]
