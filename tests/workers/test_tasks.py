"""The Celery tasks themselves, run eagerly in this process (the broker is another test's business,
tests/workers/test_worker_brokers.py): the dispatcher sends the due mailbox's sync and it tracks the mail; the
calendars task syncs each enabled calendar under its lease; the chores run; old history is pruned."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import MailboxSyncRun
from crm_core.models.calendars import Calendar
from crm_core.security.principal import Principal
from crm_core.services.calendars import CalendarService
from crm_core.settings import Settings
from tests.calendar_sync.dav_servers import DavServer
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import TEST_KEY, append, crm_mailbox, emails, mail
from tests.org import OrgBuilder
from workers import runtime, tasks
from workers.celery_app import app


@pytest.fixture
def eager(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The tasks' runtime pointed at the test database, and Celery running each task inline where it is sent."""
    for key, value in {"CRM_DATABASE_URL": settings.database_url, "CRM_SECRET_KEY": TEST_KEY,
                       "CRM_DATA_DIR": str(tmp_path / "var"), "CRM_MAIL_PARSE_WORKERS": "0"}.items():
        monkeypatch.setenv(key, value)
    runtime.reset()
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False
        runtime.reset()


def test_the_dispatcher_sends_the_due_mailbox_whose_sync_tracks_its_mail(client, org: OrgBuilder, session_factory,
                                                                         mailbox: DovecotAccount,
                                                                         eager: None) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    append(mailbox, mail(sender="jane@fabrikam.example", to=box.address, subject="Quote"))

    assert tasks.dispatch.delay().get() == 1

    assert [e["subject"] for e in emails(client, admin)] == ["Quote"]
    runs = client.get(f"/api/v1/mailboxes/{box.id}/sync-runs", headers=admin.headers).json()
    assert [(r["trigger"], r["outcome"], r["tracked"]) for r in runs] == [("schedule", "succeeded", 1)]
    assert tasks.dispatch.delay().get() == 0  # not due again before its interval


def test_the_calendars_task_syncs_each_enabled_calendar(client, org: OrgBuilder, session_factory,
                                                        radicale: DavServer, eager: None) -> None:
    rep = org.user("rep@contoso.example", ["Salesperson"])
    ids = []
    for enabled in (True, False):
        with UnitOfWork(session_factory) as uow:
            calendar = CalendarService(uow, Principal.system()).create({
                "name": f"rep-{uuid.uuid4().hex[:6]}", "kind": "caldav", "url": radicale.new_calendar(),
                "user_id": rep.id, "username": radicale.username, "password": radicale.password,
                "enabled": enabled})
            ids.append(calendar.id)

    assert tasks.sync_calendars.delay().get() == 1

    with session_factory() as s:
        synced = {c.id: c.last_synced_on for c in s.scalars(select(Calendar))}
    assert synced[ids[0]] is not None and synced[ids[1]] is None


def test_chores_run_and_old_history_is_pruned(client, org: OrgBuilder, session_factory, mailbox: DovecotAccount,
                                              eager: None) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox)
    with session_factory() as s:
        for days in (91, 10):
            s.add(MailboxSyncRun(id=uuid.uuid4(), mailbox_id=box.id, worker="w:1", connector="imap", folders=[],
                                 started_on=utcnow() - timedelta(days=days), outcome="succeeded"))
        s.commit()

    assert set(tasks.chores.delay().get()) == {"knowledge", "sla_timers", "contracts"}
    assert tasks.prune_history.delay().get() == 1

    with session_factory() as s:
        ages = [(utcnow() - r.started_on).days for r in s.scalars(select(MailboxSyncRun))]
    assert ages == [10]
