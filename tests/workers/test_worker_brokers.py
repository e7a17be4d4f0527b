"""A real `crm worker --beat` process on each broker a deployment may choose (the embedded one, Redis, RabbitMQ),
against the test run's database and a real Dovecot: an approved mailbox is synced by the schedule alone, its
mail tracked once, the run recorded, the mailbox idle again; a mailbox added while the worker runs needs no
restart."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.dovecot import DovecotServer
from tests.mailbridge.tracking_fixtures import CrmMailbox, append, crm_mailbox, emails, mail
from tests.org import OrgBuilder, TestUser
from tests.workers.brokers import BROKERS, Worker, broker_url, forget_queue, unique_queue, wait_for, worker_environment

API = "/api/v1"


@pytest.fixture(params=BROKERS)
def worker(request: pytest.FixtureRequest, client: Any, migrated: str, tmp_path: Path) -> Iterator[Worker]:
    """`crm worker --beat` on the broker of the parameter, with the database `client` uses (created after
    `client`, so stopped before the next test wipes the database)."""
    url, queue = broker_url(request.param), unique_queue()
    env = worker_environment(tmp_path / "var", migrated, url, queue)
    process = Worker(env, tmp_path / "worker.log").start()
    try:
        yield process
    finally:
        process.stop()
        forget_queue(url, queue)


def _synced(client: Any, admin: TestUser, box: CrmMailbox, expected: int) -> list[dict[str, Any]] | None:
    """The mailbox's runs once a pass has tracked `expected` mails and the mailbox is idle again."""
    runs = client.get(f"{API}/mailboxes/{box.id}/sync-runs", headers=admin.headers).json()
    health = client.get(f"{API}/mailboxes/{box.id}/sync-health", headers=admin.headers).json()
    if health["stage"] == "idle" and any(r["outcome"] == "succeeded" for r in runs) \
            and len(emails(client, admin)) >= expected:
        return runs  # type: ignore[no-any-return]
    return None


def _mailbox_with_mail(client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any,
                       account: DovecotAccount, subjects: list[str]) -> CrmMailbox:
    # The mail is there before the mailbox is approved: its first pass finds all of it.
    for subject in subjects:
        append(account, mail(sender="jane@fabrikam.example", to="rep@contoso.example", subject=subject))
    return crm_mailbox(client, admin, org, session_factory, account, incoming_filter="all")


def test_a_worker_syncs_an_approved_mailbox_by_its_schedule(worker: Worker, client: Any, org: OrgBuilder,
                                                             session_factory: Any, mailbox: DovecotAccount) -> None:
    admin = org.admin()
    subjects = [f"Order {n}" for n in range(3)]
    box = _mailbox_with_mail(client, admin, org, session_factory, mailbox, subjects)

    runs = wait_for("synced mailbox", lambda: _synced(client, admin, box, len(subjects)), worker)

    tracked = emails(client, admin)
    assert sorted(e["subject"] for e in tracked) == subjects  # each once
    assert runs[0]["outcome"] == "succeeded" and runs[0]["trigger"] == "schedule"
    assert sum(r["tracked"] or 0 for r in runs) == len(subjects)
    health = client.get(f"{API}/mailboxes/{box.id}/sync-health", headers=admin.headers).json()
    assert health["stage"] == "idle" and health["worker"] is None and health["last_success_on"] is not None
    assert health["tracked_today"] == len(subjects) and health["quarantined"] == 0


def test_a_mailbox_added_while_the_worker_runs_is_synced_without_a_restart(
        worker: Worker, client: Any, org: OrgBuilder, session_factory: Any, mailbox: DovecotAccount,
        dovecot: DovecotServer) -> None:
    admin = org.admin()
    first = _mailbox_with_mail(client, admin, org, session_factory, mailbox, ["First mailbox"])
    wait_for("first mailbox synced", lambda: _synced(client, admin, first, 1), worker)

    username, password = dovecot.add_user()
    later = DovecotAccount(dovecot, username, password)
    try:
        second = _mailbox_with_mail(client, admin, org, session_factory, later, ["Second mailbox", "Again"])
        wait_for("second mailbox synced", lambda: _synced(client, admin, second, 3), worker)
    finally:
        later.close()

    assert sorted(e["subject"] for e in emails(client, admin)) == ["Again", "First mailbox", "Second mailbox"]
    assert worker.starts == 1 and worker.alive()


def test_a_message_file_cut_by_a_kill_does_not_stop_the_embedded_worker(
        client: Any, migrated: str, org: OrgBuilder, session_factory: Any, mailbox: DovecotAccount,
        tmp_path: Path) -> None:
    """A worker killed while it wrote a message to the embedded broker left an empty file behind (kombu writes
    in place); the next worker drops it and goes on."""
    queue = unique_queue()
    messages = tmp_path / "var" / "broker" / "messages"
    messages.mkdir(parents=True)
    (messages / f"1_{uuid.uuid4()}.{queue}.msg").write_bytes(b"")
    worker = Worker(worker_environment(tmp_path / "var", migrated, "", queue), tmp_path / "worker.log").start()
    try:
        admin = org.admin()
        box = _mailbox_with_mail(client, admin, org, session_factory, mailbox, ["After the cut"])
        wait_for("synced mailbox", lambda: _synced(client, admin, box, 1), worker)
    finally:
        worker.stop()
    assert "dropped a message" in worker.log()
