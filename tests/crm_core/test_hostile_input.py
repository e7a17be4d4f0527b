"""Input that databases choke on still gets a clear 4xx, on SQLite and PostgreSQL alike."""

import pytest

from tests.org import OrgBuilder


@pytest.mark.parametrize("body", [
    {"name": "Nul\x00Byte"},
    {"name": "ok", "industry_code": 99999999},
    {"name": "ok", "number_of_employees": 2**70},
    {"name": "ok", "revenue": "1e30"},
])
def test_unstorable_values_are_422(client, org: OrgBuilder, body: dict) -> None:
    admin = org.admin()
    r = client.post("/api/v1/accounts", json=body, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("params", [{"name": "a\x00b"}, {"industry_code": 2**70}, {"statecode": 99999999}])
def test_unqueryable_filters_are_422_or_empty(client, org: OrgBuilder, params: dict) -> None:
    admin = org.admin()
    r = client.get("/api/v1/accounts", params=params, headers=admin.headers)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert r.json()["items"] == []
