"""schemathesis against our own OpenAPI document: every operation under /api/v1 but DELETE (which would empty the
world the others read), requests drawn by schemathesis from the document (valid ones and, as schemathesis does,
some that break it), sent through the app as four users. schemathesis' own checks judge each answer (no 5xx, a
documented status, a documented content type, a body its response schema accepts), and ours that no user sees
a record of a business unit he may not read. A record id in the path is, in turn, a record of unit A, one of
unit B and what schemathesis drew, so that reads and writes of real records are tried, not only 404s."""

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.checks import leaked
from tests.contract.conftest import EXAMPLES
from tests.contract.world import World, build, path_values

ROLES = ("admin", "sales_a", "csr_b", "nobody")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Drawn requests per operation (each sent as the four users); CONTRACT_EXAMPLES raises it, as for the other tests.
DRAWS = max(2, EXAMPLES // 4)


def _operations(schema: Any) -> list[Any]:
    out = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/api/v1/") and operation.method.upper() != "DELETE":
            out.append(operation)
    return out


def _aimed(case: Any, world: World, draw: int) -> None:
    """Points the case's record ids at unit A's records, then B's, then leaves schemathesis' own draw."""
    if draw % 3 == 2 or not case.path_parameters:
        return
    unit = world.a if draw % 3 == 0 else world.b
    for name, value in list(case.path_parameters.items()):
        if isinstance(value, str) and _is_uuid(value):
            case.path_parameters[name] = path_values(world, case.operation.path, name, unit)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _send(client: Any, case: Any, headers: dict[str, str]) -> Any:
    """The case sent through the test client (httpx): schemathesis' own ASGI transport is built on requests,
    whose pools the urllib3-future that niquests (caldav's HTTP client) installs does not offer."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    kwargs.pop("allow_redirects", None)
    if not kwargs.get("cookies"):
        kwargs.pop("cookies", None)
    return client.request(**kwargs, follow_redirects=False)


def _fuzz(client: Any, operation: Any, world: World, hidden: dict[str, set[str]], failures: list[str],
          answered: Counter[tuple[str, int]]) -> None:
    draws = iter(range(10**6))

    @settings(max_examples=DRAWS, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        _aimed(case, world, next(draws))
        for role in ROLES:
            response = _send(client, case, world.roles[role].headers)
            answered[role, response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (FailureGroup, Exception) as exc:  # what failed, in schemathesis' words; the sweep goes on
                failures.append(f"{case.method} {case.formatted_path} as {role}: {str(exc)[:600]}")
            if shown := leaked(response, hidden.get(role, set())):
                failures.append(f"{case.method} {case.formatted_path} as {role} shows another unit's "
                                f"records {sorted(shown)}")

    run()


@pytest.mark.timeout(1800)
def test_schemathesis_finds_no_broken_answer_for_any_role(client, org, api_app) -> None:
    world = build(client, org)
    hidden = world.hidden()
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    operations = _operations(schema)
    assert len(operations) > 300  # the whole API, reads and writes, not a corner of it
    failures: list[str] = []
    answered: Counter[tuple[str, int]] = Counter()

    for operation in operations:
        _fuzz(client, operation, world, hidden, failures, answered)
    print(f"schemathesis: {len(operations)} operations, {answered.total()} calls: {sorted(answered.items())}")
    assert answered["admin", 200] + answered["admin", 201] > len(operations) // 4  # real answers, not only refusals
    assert failures == [], "\n\n".join(failures[:30]) + f"\n\n({len(failures)} in all)"


def test_the_checks_fail_a_server_error_a_schema_breach_and_an_undocumented_status(client, api_app, admin) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    operation = schema["/api/v1/contacts/{record_id}"]["GET"]
    case = operation.Case(path_parameters={"record_id": str(uuid.uuid4())})
    good = _send(client, case, admin.headers)
    case.validate_response(good, checks=CHECKS)  # a documented 404 problem passes
    request = good.request
    broken = [
        httpx.Response(500, json={"detail": "boom"}, request=request),
        httpx.Response(200, json={"id": 42, "last_name": ["not", "a", "string"]}, request=request),
        httpx.Response(418, json={"title": "teapot"}, request=request),
    ]
    for response in broken:
        response.elapsed = timedelta(0)  # as a client sets it on a response it read
        with pytest.raises((FailureGroup, Exception)) as caught:
            case.validate_response(response, checks=CHECKS)
        assert type(caught.value).__module__.startswith("schemathesis"), caught.value
