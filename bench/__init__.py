"""Benchmarks: scripts run by hand (`.venv/bin/python bench/<name>.py`), their figures in docs/benchmarks.md."""
