"""The schema comes from migrations alone: empty to head, matching the models, and back down."""

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect

from crm_core.db import migrate
from crm_core.db.base import Base
from crm_core.db.engine import make_engine
from tests.conftest import BACKEND, _fresh_pg_database


@pytest.fixture
def empty_database(tmp_path) -> Iterator[str]:
    if BACKEND != "postgresql":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    url, admin = _fresh_pg_database()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


def test_empty_to_head_matches_the_models_and_downgrades(empty_database: str) -> None:
    engine = make_engine(empty_database)
    try:
        assert migrate.current(engine) is None
        migrate.upgrade(empty_database)
        assert migrate.current(engine) is not None
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        # No drift: autogenerate finds nothing the migrations lack (raises if it does).
        command.check(migrate.config(empty_database))
        migrate.upgrade(empty_database)  # idempotent
        command.downgrade(migrate.config(empty_database), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(empty_database)
        assert "accounts" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_cycle_closing_foreign_keys_exist(migrated: str) -> None:
    engine = make_engine(migrated)
    try:
        found = inspect(engine).get_foreign_keys("accounts")
        fks = {(fk["constrained_columns"][0], fk["referred_table"]) for fk in found}
    finally:
        engine.dispose()
    assert ("owning_user_id", "users") in fks
    assert ("primary_contact_id", "contacts") in fks
    assert ("created_by_id", "users") in fks
