"""The `crm` command as an admin uses it: migrate, create users and tokens, clear errors without tracebacks."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workers.cli import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh SQLite under a temp dir, whichever database the suite runs on (test_serve covers PostgreSQL)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    return {}


def test_help_reads_well() -> None:
    out = CliRunner().invoke(app, ["--help"]).output
    for command in ("serve", "db", "user", "token", "demo"):
        assert command in out


def test_user_and_token_then_api_call(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["user", "create", "--email", "Rep@Example.com", "--name", "Rita Rep",
                            "--role", "Salesperson"])
    assert r.exit_code == 0, r.output
    assert "rep@example.com" in r.output
    r = runner.invoke(app, ["token", "create", "--email", "rep@example.com", "--name", "script"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("crm_")

    from fastapi.testclient import TestClient

    from crm_core.settings import Settings
    from workers.app import create_app

    with TestClient(create_app(Settings(data_dir=tmp_path / "var"))) as client:
        r = client.post("/api/v1/accounts", json={"name": "Scripted"}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["roles"] == ["Salesperson"]


def test_errors_are_one_clear_line(env: dict[str, str]) -> None:
    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"])
    r = runner.invoke(app, ["user", "create", "--email", "x@example.com", "--name", "X", "--role", "Wizard"])
    assert r.exit_code == 1
    assert "unknown roles ['Wizard']" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["token", "create", "--email", "ghost@example.com"])
    assert r.exit_code == 1 and "no user with email ghost@example.com" in r.output
    runner.invoke(app, ["user", "create", "--email", "x@example.com", "--name", "X"])
    r = runner.invoke(app, ["user", "create", "--email", "X@example.com", "--name", "X"])
    assert r.exit_code == 1 and "exists already" in r.output
    r = runner.invoke(app, ["user", "create", "--email", "not an email", "--name", "X"])
    assert r.exit_code == 1 and "not a valid email address" in r.output
