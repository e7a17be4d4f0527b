"""Alembic environment: our metadata, and batch mode on SQLite so that ALTERs work there too."""

from alembic import context
from sqlalchemy import create_engine, pool

import crm_core.models  # noqa: F401  (registers every table on the metadata)
from crm_core.db.base import Base
from crm_core.db.engine import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    # SQLite migrates with foreign keys off, as Alembic advises for batch mode: tables are recreated, and
    # tables in a foreign-key cycle (users <-> business units) could not be dropped otherwise.
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=pool.NullPool)
    else:
        engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
