"""Finding the servers a test needs, and skipping (or, under CRM_TEST_STRICT=1, failing) when one is missing."""

import os

import pytest

STRICT = os.environ.get("CRM_TEST_STRICT") == "1"


def missing(what: str, install: str) -> None:
    """Skip the test, saying what to install; in CI (CRM_TEST_STRICT=1) a missing server fails the run."""
    message = f"{what} is not available: {install}"
    if STRICT:
        pytest.fail(f"{message} (CRM_TEST_STRICT=1 forbids skipping)")
    pytest.skip(message)
