"""The contract tests' fixtures: the OpenAPI document of the app under test, and the Hypothesis settings
(CONTRACT_EXAMPLES bodies per write operation and role; few by default, as the machine is shared)."""

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.contract.checks import Contract

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "8"))
settings.register_profile(
    "contract",
    max_examples=EXAMPLES,
    deadline=None,  # a request through the whole app, on a loaded machine
    derandomize=bool(os.environ.get("CI") or os.environ.get("CRM_TEST_STRICT")),  # a CI failure reproduces anywhere
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
CONTRACT = settings.get_profile("contract")


@pytest.fixture(scope="session")
def contract(api_app: Any) -> Contract:
    return Contract(api_app.openapi())
