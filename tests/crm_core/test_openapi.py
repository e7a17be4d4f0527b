"""The OpenAPI document tells the truth: every operation is authenticated and its errors are problem+json."""

from crm_core.api.schemas.common import Problem
from tests.org import TestUser


def test_every_operation_documents_problem_errors_and_bearer_auth(client) -> None:
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    operations = [(path, method, op) for path, item in schema["paths"].items() if path.startswith("/api/v1/")
                  for method, op in item.items()]
    assert len(operations) > 50
    for path, method, op in operations:
        for code in ("401", "422"):
            assert list(op["responses"][code]["content"]) == ["application/problem+json"], (method, path, code)
        assert op.get("security") == [{"HTTPBearer": []}], (method, path)


def test_error_bodies_match_the_documented_problem(client, admin: TestUser) -> None:
    responses = [
        client.get("/api/v1/accounts"),
        client.post("/api/v1/accounts", json={"name": ""}, headers=admin.headers),
        client.get("/api/v1/accounts/00000000-0000-0000-0000-000000000000", headers=admin.headers),
    ]
    assert [r.status_code for r in responses] == [401, 422, 404]
    for r in responses:
        Problem.model_validate(r.json())  # raises if a field is missing or of the wrong type
