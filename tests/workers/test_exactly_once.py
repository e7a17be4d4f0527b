"""Issue 8's promise, tested the hard way: a worker is SIGKILLed at random points of a sync of thousands of
messages, many times, restarted each time, and when the mailbox is finally synced every message is tracked
once and none is lost.

The worker is a real `crm worker --beat` process (its whole process group is killed, the beat inside too) on
RabbitMQ when the suite runs on PostgreSQL (a killed worker's task is redelivered there), on the embedded
broker with SQLite (a killed worker's task is gone). Either way the lease of the dead worker expires after
CRM_SYNC_LEASE_SECONDS and the dispatcher sends the mailbox to the restarted worker, which resumes from the
last committed batch. The random points come from a seed printed with any failure, to replay a run."""

import os
import pwd
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.message_ids import normalise_message_id
from crm_core.models import MailboxSyncState, MailQuarantine, MailSighting, TrackedMessage
from tests.conftest import BACKEND
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import crm_mailbox
from tests.org import OrgBuilder
from tests.workers.brokers import Worker, broker_url, forget_queue, unique_queue, wait_for, worker_environment

API = "/api/v1"
FOLDERS = {"INBOX": 2400, "Sent": 600}
KILLS = 6
OWNER = "rep@contoso.example"


def _message(folder: str, n: int, tag: str) -> tuple[str, bytes]:
    message_id = f"<{tag}.{folder.lower()}.{n}@example.com>"
    sender, to = (OWNER, f"buyer{n % 97}@fabrikam.example") if folder == "Sent" \
        else (f"buyer{n % 97}@fabrikam.example", OWNER)
    raw = (f"From: {sender}\r\nTo: {to}\r\nSubject: {folder} message {n}\r\nMessage-ID: {message_id}\r\n"
           f"Date: Tue, 3 Mar 2026 09:{n // 60 % 60:02d}:{n % 60:02d} +0000\r\n\r\n"
           f"Message {n} of {folder}, the {tag} corpus.\r\n").encode()
    return message_id, raw


def _fill(account: DovecotAccount) -> set[str]:
    """Writes the corpus straight into the account's Maildir before Dovecot first opens it (APPENDing two
    thousand messages would take longer than the test); returns the Message-IDs, normalised."""
    server = account.server
    owner = pwd.getpwnam(server._accounts()[0])  # the user Dovecot's mail processes run as
    home = server.root / "mail" / account.username
    tag, ids = uuid.uuid4().hex[:8], set()
    for folder, count in FOLDERS.items():
        maildir = home if folder == "INBOX" else home / f".{folder}"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        for n in range(count):
            message_id, raw = _message(folder, n, tag)
            (maildir / "cur" / f"{1_700_000_000 + n}.M{n}P{os.getpid()}.crmtest,S={len(raw)}:2,S").write_bytes(raw)
            ids.add(normalise_message_id(message_id))
    for path in [home, *home.rglob("*")]:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    for folder, count in FOLDERS.items():  # Dovecot indexes them now, and sees them all
        assert account.client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"] == count
    return ids


def _tracked(session_factory: sessionmaker[Session], mailbox_id: uuid.UUID) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(MailSighting).where(MailSighting.mailbox_id == mailbox_id)) \
            or 0


@pytest.fixture
def setting(client: Any, migrated: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The worker's environment: RabbitMQ with PostgreSQL, the embedded broker with SQLite; a lease short
    enough that a dead worker's mailbox is taken over within seconds; small batches."""
    url, queue = broker_url("rabbitmq" if BACKEND == "postgresql" else "embedded"), unique_queue()
    env = worker_environment(tmp_path / "var", migrated, url, queue, CRM_SYNC_LEASE_SECONDS="3",
                             CRM_MAIL_SYNC_BATCH_SIZE="50")
    try:
        yield env
    finally:
        forget_queue(url, queue)


def test_a_worker_killed_again_and_again_tracks_every_message_once(
        setting: dict[str, str], client: Any, org: OrgBuilder, session_factory: Any,
        mailbox: DovecotAccount, tmp_path: Path) -> None:
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    print(f"kill points seeded with {seed}")
    expected = _fill(mailbox)
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    total = sum(FOLDERS.values())

    worker = Worker(setting, tmp_path / "worker.log")
    killed_at: list[int] = []
    try:
        worker.start()
        while len(killed_at) < KILLS:
            before = _tracked(session_factory, box.id)
            assert before < total, f"the sync finished after {killed_at} kills (seed {seed}): make it longer"
            # Killed only while it is tracking, at a random point: once a random share of what is left (leaving
            # room for the kills to come) is tracked, and a random moment later, most often inside a batch.
            target = before + rng.randint(1, (total - before) // (KILLS - len(killed_at) + 1))
            wait_for(f"tracking to reach {target} after kill {len(killed_at)} (seed {seed})",
                     lambda goal=target: _tracked(session_factory, box.id) >= goal, worker, seconds=60, every=0.1)
            time.sleep(rng.uniform(0.0, 0.2))
            worker.kill()
            killed_at.append(_tracked(session_factory, box.id))
            worker.start()
        print(f"killed at {killed_at} of {total} tracked")

        def finished() -> bool:
            with session_factory() as s:
                state = s.get(MailboxSyncState, box.id)
                done = state is not None and state.stage == "idle" and state.last_success_on is not None
            return done and _tracked(session_factory, box.id) >= total
        wait_for(f"the end of the sync (seed {seed}, killed at {killed_at})", finished, worker, seconds=120)
    finally:
        worker.stop()

    with session_factory() as s:
        sightings = s.execute(select(TrackedMessage.message_id, func.count(MailSighting.id))
                              .join(MailSighting, MailSighting.tracked_message_id == TrackedMessage.id)
                              .where(MailSighting.mailbox_id == box.id).group_by(TrackedMessage.message_id)).all()
        tracked = s.scalar(select(func.count()).select_from(TrackedMessage)
                           .where(TrackedMessage.email_id.is_not(None)))
        distinct_ids = s.scalar(select(func.count(distinct(TrackedMessage.message_id))))
        quarantined = s.scalar(select(func.count()).select_from(MailQuarantine))
    why = f"(seed {seed}, killed at {killed_at})"
    assert tracked == total, f"{tracked} emails tracked for {total} messages {why}"
    assert distinct_ids == total, f"{distinct_ids} distinct Message-IDs among {tracked} tracked {why}"
    doubled = {message_id: n for message_id, n in sightings if n != 1}
    assert doubled == {}, f"messages seen more than once {why}"
    assert {message_id for message_id, _ in sightings} == expected, f"lost or foreign messages {why}"
    assert quarantined == 0

    runs = client.get(f"{API}/mailboxes/{box.id}/sync-runs", headers=admin.headers).json()
    outcomes = [r["outcome"] for r in reversed(runs)]  # oldest first
    assert outcomes[-1] == "succeeded", f"{outcomes} {why}"
    assert set(outcomes[:-1]) <= {"abandoned"} and outcomes.count("abandoned") >= KILLS, f"{outcomes} {why}"
    health = client.get(f"{API}/mailboxes/{box.id}/sync-health", headers=admin.headers).json()
    assert health["stage"] == "idle" and health["quarantined"] == 0
