"""The contract checks themselves: each breach they exist for is caught (a sweep that passes proves something
only if it can fail), and the body strategy draws only what the schema it was drawn from accepts."""

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.contract.checks import Contract, leaked
from tests.contract.conftest import CONTRACT
from tests.contract.schema_strategy import from_schema

PATH = "/api/v1/accounts/{record_id}"


def answer(status: int, body: Any, media_type: str = "application/json") -> Any:
    request = httpx.Request("GET", "http://testserver/api/v1/accounts/1")
    return httpx.Response(status, json=body, headers={"content-type": media_type}, request=request)


@pytest.mark.parametrize(
    ("response", "breach"),
    [
        (answer(500, {"detail": "boom"}), "server error"),
        (answer(418, {"detail": "teapot"}), "status not documented"),
        (answer(200, {"id": 7}), "$"),  # an account without its required fields
        (answer(404, {"detail": "Not Found"}), "not application/problem+json"),
        (
            answer(404, {"title": "x", "status": 403, "detail": "y", "instance": "/"}, "application/problem+json"),
            "differs",
        ),
    ],
    ids=["5xx", "undocumented", "schema", "not-a-problem", "problem-status"],
)
def test_each_breach_is_caught(contract: Contract, response: Any, breach: str) -> None:
    found = contract.violations("get", PATH, response)
    assert any(breach in f for f in found), found


def test_a_foreign_id_is_found_anywhere_in_a_body() -> None:
    r = SimpleNamespace(
        headers={"content-type": "application/json"},
        json=lambda: {"items": [{"regarding": {"id": "b-1"}}], "by_owner": {"b-2": 1}},
    )
    assert leaked(r, {"b-1", "b-2", "b-3"}) == {"b-1", "b-2"}


def test_drawn_bodies_fit_their_own_schemas(contract: Contract) -> None:
    schemas = [
        op["requestBody"]["content"]["application/json"]["schema"]
        for ops in contract.spec["paths"].values()
        for method, op in ops.items()
        if method in ("post", "patch", "put") and "application/json" in op.get("requestBody", {}).get("content", {})
    ]
    assert len(schemas) > 100

    @CONTRACT
    @given(data=st.data())
    def fits(data: st.DataObject) -> None:
        schema = data.draw(st.sampled_from(schemas))
        body = data.draw(from_schema(contract.spec, schema))
        errors = [e.message for e in contract.validator(schema).iter_errors(body)]
        assert errors == [], (schema, body)

    fits()
