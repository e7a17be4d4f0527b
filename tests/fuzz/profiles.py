"""The Hypothesis profiles of the fuzz tests, chosen with HYPOTHESIS_PROFILE (default: "fuzz-default").

- fuzz-default: ~60 examples a property, for every test run on a loaded machine.
- fuzz: thousands, for a fuzzing session (`HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest tests/fuzz`).
- fuzz-ci: the default's counts, derandomized, so a CI failure reproduces on any machine.

Each profile keeps its examples database under var/ (git-ignored): a failure found once is tried first on the
next run. The deadline is generous (parsers of hostile input may be slow on a loaded machine) but finite,
so an endless expansion or a catastrophic regex still fails."""

import os
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

DATABASE = DirectoryBasedExampleDatabase(str(Path(__file__).resolve().parents[2] / "var" / "hypothesis-fuzz"))
_COMMON = {
    "deadline": timedelta(seconds=5),
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    "database": DATABASE,
}

settings.register_profile("fuzz-default", max_examples=60, **_COMMON)
settings.register_profile("fuzz", max_examples=3000, **_COMMON)
settings.register_profile("fuzz-ci", max_examples=60, derandomize=True, **{**_COMMON, "database": None})

# .ci/run sets CRM_TEST_STRICT (not CI): either way the run is derandomized, so a CI failure reproduces.
_IN_CI = bool(os.environ.get("CI") or os.environ.get("CRM_TEST_STRICT"))
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "fuzz-ci" if _IN_CI else "fuzz-default")
if PROFILE not in {"fuzz-default", "fuzz", "fuzz-ci"}:
    PROFILE = "fuzz-default"
FUZZ = settings.get_profile(PROFILE)


def fewer(divisor: int, floor: int = 5) -> settings:
    """The profile with fewer examples, for properties that run a whole sync per example."""
    return settings(FUZZ, max_examples=max(floor, FUZZ.max_examples // divisor))
