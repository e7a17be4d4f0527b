"""Helpers for tests that speak to the API as a user would."""

from typing import Any

from tests.org import TestUser


def created(client: Any, user: TestUser, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    """POSTs a new record and returns it, failing the test unless it answered 201."""
    r = client.post(f"/api/v1/{collection}", json=body, headers=user.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """Asserts an RFC 9457 problem of this status (naming `field` among its errors, if given)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body
