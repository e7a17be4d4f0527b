"""Fuzz tests: Hypothesis properties over every parser fed with outside data (see docs/reliability.md).

The profiles live in profiles.py so the test modules can import them; importing them here registers them
for `--hypothesis-profile` too. They are applied per test (not loaded globally), so the rest of the suite
keeps its own Hypothesis settings."""

from tests.fuzz import profiles  # noqa: F401 - registers the profiles
