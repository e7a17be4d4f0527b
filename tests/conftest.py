"""Shared fixtures: a migrated database (SQLite, or a fresh PostgreSQL database when
CRM_TEST_DATABASE=postgresql), a clean slate per test, the app, and an organisation builder."""

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from crm_core import hooks
from crm_core.db import migrate
from crm_core.db.base import Base
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from crm_core.settings import Settings
from tests.live_server import live_server  # noqa: F401 - a fixture
from tests.org import OrgBuilder, TestUser
from tests.servers import missing

# The tests' mail, DAV and Exchange servers listen on loopback, which admin-entered server addresses may not
# point at unless CRM_OUTBOUND_ALLOW lists it (crm_core.network_guard, read from the environment, also by the CLI
# and workers the tests start): allowed here, once. tests/security removes it to prove the refusal. Webhooks keep
# their strict default: the settings fixtures below pass an empty allowance (tests/workers/test_webhooks.py).
TEST_OUTBOUND_ALLOW = '["127.0.0.0/8", "::1/128"]'
os.environ.setdefault("CRM_OUTBOUND_ALLOW", TEST_OUTBOUND_ALLOW)
BACKEND = os.environ.get("CRM_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get("CRM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _fresh_pg_database() -> tuple[str, Engine]:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        missing("PostgreSQL", f"start a server on 127.0.0.1:5432 with trust auth or set CRM_TEST_PG_URL ({exc.orig})")
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False), admin


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "postgresql":
        url, admin = _fresh_pg_database()
        try:
            yield url
        finally:
            name = make_url(url).database
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'crm.db'}"


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


@pytest.fixture(scope="session")
def engine(migrated: str) -> Iterator[Engine]:
    eng = make_engine(migrated)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = make_session_factory(engine)
    hooks.install(factory)
    # As the composition root does: the `settings` fixture's key, which the API seals mailbox secrets with.
    secrets.install(factory, Keyring("test-secret-key"))
    return factory


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # DELETE with the foreign-key triggers off: TRUNCATE of ninety tables takes a second or two, every
            # test; deleting the few rows a test wrote takes milliseconds. Every table is emptied, so nothing
            # dangles. session_replication_role needs a superuser; other roles get the slow way.
            if conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for t in tables:
                    conn.execute(text(f'DELETE FROM "{t}"'))
            else:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            conn.execute(text("PRAGMA defer_foreign_keys=ON"))
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def clean_db(engine: Engine) -> Engine:
    """A database with every table empty (the schema stays)."""
    _wipe(engine)
    return engine


@pytest.fixture
def settings(migrated: str, tmp_path: Path) -> Settings:
    return Settings(database_url=migrated, data_dir=tmp_path / "var", secret_key="test-secret-key",
                    outbound_allow=[])


@pytest.fixture(scope="session")
def api_app(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The API, built once: building its nine hundred routes takes seconds, and nothing of a test stays in it
    (the database is wiped; the principal cache is replaced for each test)."""
    from workers.app import create_app

    return create_app(Settings(database_url=migrated, data_dir=tmp_path_factory.mktemp("api") / "var",
                               secret_key="test-secret-key", outbound_allow=[]))


@pytest.fixture
def client(api_app: Any, clean_db: Engine) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from crm_core.api.auth import PrincipalCache

    api_app.state.crm = dataclasses.replace(api_app.state.crm, principals=PrincipalCache())
    with TestClient(api_app) as c:
        yield c


@pytest.fixture
def org(session_factory: sessionmaker[Session], clean_db: Engine) -> OrgBuilder:
    """An organisation with its root unit and default roles; builds units, users, teams and tokens."""
    return OrgBuilder(session_factory)


@pytest.fixture
def admin(org: OrgBuilder) -> TestUser:
    """A System Administrator of the test organisation."""
    return org.admin()
