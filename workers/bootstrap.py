"""Start-up chores shared by the CLI and the server: migrate, create the organisation, a system session."""

from collections.abc import Iterator
from contextlib import contextmanager

from crm_core import hooks
from crm_core.db import migrate
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.security import secrets
from crm_core.services.organisation import ensure_organisation
from crm_core.settings import Settings


def upgrade(settings: Settings, revision: str = "head") -> None:
    settings.ensure_data_dir()
    migrate.upgrade(settings.database_url, revision)
    if revision == "head":
        with system_uow(settings) as uow:
            ensure_organisation(uow.session)
            uow.commit()


@contextmanager
def system_uow(settings: Settings) -> Iterator[UnitOfWork]:
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    hooks.install(factory)
    secrets.install(factory, secrets.Keyring.from_settings(settings))  # mailboxes' secrets, sealed and opened
    try:
        with UnitOfWork(factory) as uow:
            yield uow
    finally:
        engine.dispose()
