"""What a worker process holds: its settings and one session factory, made on first use (never at import, so
that importing the tasks touches no database) and reused by every task the process runs."""

import threading
from dataclasses import replace
from functools import cache

from sqlalchemy.orm import Session, sessionmaker

from crm_core import hooks
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.security import secrets
from crm_core.settings import Settings
from mailbridge.runs import RunPolicy
from mailbridge.tracking import TrackingOptions

_lock = threading.Lock()


@cache
def settings() -> Settings:
    return Settings()


@cache
def _factory() -> sessionmaker[Session]:
    current = settings()
    factory = make_session_factory(make_engine(current.database_url))
    hooks.install(factory)
    secrets.install(factory, secrets.Keyring.from_settings(current))  # mailbox passwords, opened for the connectors
    return factory


def session_factory() -> sessionmaker[Session]:
    with _lock:  # the threads pool's first tasks may ask at once
        return _factory()


def run_policy(current: Settings | None = None) -> RunPolicy:
    return RunPolicy.from_settings(current or settings())


def tracking_options(current: Settings | None = None) -> TrackingOptions:
    """The tracking options of a worker's sync, with calendar_sync's meeting-mail hook plugged in (mailbridge
    cannot import calendar_sync; the composition root can)."""
    from calendar_sync.meetings.incoming import apply_meeting_mail

    return replace(TrackingOptions.from_settings(current or settings()), meeting_mail=apply_meeting_mail)


def reset() -> None:
    """Forget the cached settings and factory, closing its connections (tests that change the environment)."""
    if _factory.cache_info().currsize:
        engine = _factory().kw.get("bind")
        if engine is not None:
            engine.dispose()
    settings.cache_clear()
    _factory.cache_clear()
