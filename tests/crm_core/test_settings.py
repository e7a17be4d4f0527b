"""Settings: CRM_ variables, the SQLite default under the data dir, and a secret key made once, kept private."""

import stat
from pathlib import Path

import pytest

from crm_core.settings import Settings


def test_defaults_put_sqlite_under_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("CRM_DATABASE_URL", "CRM_DATA_DIR", "CRM_SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.database_url == "sqlite:///var/crm.db"
    assert (s.host, s.port) == ("127.0.0.1", 8000)


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CRM_PORT=9000\nCRM_DATABASE_URL=postgresql+psycopg://u:pw@db/crm\n")
    monkeypatch.setenv("CRM_PORT", "9100")  # the environment wins over .env
    s = Settings()
    assert s.port == 9100
    assert s.database_url == "postgresql+psycopg://u:pw@db/crm"
    assert "pw" not in str(s.redacted())


def test_secret_key_generated_once_with_private_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    s = Settings(data_dir=tmp_path / "var")
    key = s.resolved_secret_key()
    path = tmp_path / "var" / "secret_key"
    assert path.read_text().strip() == key and len(key) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path / "var").resolved_secret_key() == key
    assert key not in repr(s) and key not in str(s.redacted())


def test_explicit_secret_key_is_used_and_nothing_written(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "var", secret_key="from-env")
    assert s.resolved_secret_key() == "from-env"
    assert not (tmp_path / "var" / "secret_key").exists()
