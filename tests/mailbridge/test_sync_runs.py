"""Syncs run as jobs (mailbridge.runs): the lease that keeps one worker per mailbox, the run history, the state
machine and its policy (back-off honouring the server, parking, stopping on refused credentials), the
dispatcher that finds due mailboxes by their own interval, and the health the admin console reads."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core.db.types import utcnow
from crm_core.models import MailboxAlert, MailboxSyncRun, MailboxSyncState
from crm_core.services import leases, mailbox_sync
from mailbridge.errors import TemporaryFailure
from mailbridge.runs import RunPolicy, run_mailbox_sync
from mailbridge.runs.dispatch import claim_due
from mailbridge.runs.policy import after_error
from mailbridge.runs.runner import lease_key
from mailbridge.tracking import TrackingOptions
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import append, crm_mailbox, emails, mail
from tests.org import OrgBuilder

API = "/api/v1"
OPTIONS = TrackingOptions(timeout=10, parse_workers=0)


def _state(session_factory, mailbox_id: uuid.UUID) -> MailboxSyncState:
    with session_factory() as s:
        return s.get_one(MailboxSyncState, mailbox_id)


def test_a_run_tracks_mail_records_itself_and_schedules_the_next_one(client, org: OrgBuilder, session_factory,
                                                                    mailbox: DovecotAccount) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all", sync_interval_seconds=600)
    for n in range(3):
        append(mailbox, mail(sender="jane@fabrikam.example", to=box.address, subject=f"Order {n}"))

    result = run_mailbox_sync(session_factory, box.id, trigger="manual", options=OPTIONS)

    assert result.outcome == "succeeded" and result.summary is not None and result.summary.tracked == 3
    state = _state(session_factory, box.id)
    assert state.stage == "idle" and state.failure_count == 0 and state.last_success_on is not None
    assert state.next_run_on is not None
    assert timedelta(seconds=590) < state.next_run_on - state.last_success_on <= timedelta(seconds=600)
    runs = client.get(f"{API}/mailboxes/{box.id}/sync-runs", headers=admin.headers).json()
    assert [(r["outcome"], r["trigger"], r["tracked"], r["connector"]) for r in runs] == [
        ("succeeded", "manual", 3, "imap")]
    health = client.get(f"{API}/mailboxes/{box.id}/sync-health", headers=admin.headers).json()
    assert health["stage"] == "idle" and health["tracked_today"] == 3 and health["lag_seconds"] < 60
    assert {f["folder"] for f in health["folders"]} >= {"INBOX"}
    # Nobody holds the mailbox after the run.
    with session_factory() as s:
        assert leases.holder(s, lease_key(box.id)) is None


def test_a_mailbox_another_worker_holds_is_left_alone(client, org: OrgBuilder, session_factory,
                                                      mailbox: DovecotAccount) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    append(mailbox, mail(sender="jane@fabrikam.example", to=box.address))
    assert leases.acquire(session_factory, lease_key(box.id), "other-host:1", 60)

    assert run_mailbox_sync(session_factory, box.id, options=OPTIONS).outcome == "busy"
    assert emails(client, admin) == []
    # The lease expires (a dead worker): the mailbox is taken over.
    assert leases.acquire(session_factory, lease_key(box.id), "other-host:1", -1)
    assert run_mailbox_sync(session_factory, box.id, options=OPTIONS).outcome == "succeeded"
    assert len(emails(client, admin)) == 1


def test_an_unreachable_server_backs_off_then_parks_with_an_alert(client, org: OrgBuilder, session_factory,
                                                                  mailbox: DovecotAccount) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox)
    profile_id = client.get(f"{API}/mailboxes/{box.id}", headers=admin.headers).json()["server_profile_id"]
    r = client.patch(f"{API}/email-server-profiles/{profile_id}", json={"incoming_port": _closed_port()},
                     headers=admin.headers)
    assert r.status_code == 200, r.text
    policy = RunPolicy(backoff_base_seconds=10, park_after_failures=3)

    first = run_mailbox_sync(session_factory, box.id, options=OPTIONS, policy=policy)
    assert first.outcome == "failed" and first.reason == "connect"
    state = _state(session_factory, box.id)
    assert state.stage == "backing_off" and state.failure_count == 1
    assert timedelta(seconds=5) <= state.next_run_on - state.last_attempt_on <= timedelta(seconds=10)
    # Not due while backing off.
    assert box.id not in claim_due(session_factory, policy)

    run_mailbox_sync(session_factory, box.id, options=OPTIONS, policy=policy)
    third = run_mailbox_sync(session_factory, box.id, options=OPTIONS, policy=policy)
    assert third.outcome == "failed"
    state = _state(session_factory, box.id)
    assert state.stage == "parked" and state.failure_count == 3 and "3 failures in a row" in state.last_error_message
    health = client.get(f"{API}/mailboxes/{box.id}/sync-health", headers=admin.headers).json()
    assert health["stage"] == "parked"
    assert {(a["level"], a["code"]) for a in health["alerts"]} == {("warning", "sync_failing"), ("error", "parked")}
    assert box.id not in claim_due(session_factory, policy, now=utcnow() + timedelta(days=1))

    # The admin fixes the port and asks for a sync: resumed, due at once, then healthy with the alerts gone.
    client.patch(f"{API}/email-server-profiles/{profile_id}", json={"incoming_port": mailbox.server.port},
                 headers=admin.headers)
    r = client.post(f"{API}/mailboxes/{box.id}/sync-requests", headers=admin.headers)
    assert r.status_code == 202 and r.json()["may_sync"] is True
    assert claim_due(session_factory, policy) == [box.id]
    assert run_mailbox_sync(session_factory, box.id, options=OPTIONS, policy=policy).outcome == "succeeded"
    health = client.get(f"{API}/mailboxes/{box.id}/sync-health", headers=admin.headers).json()
    assert health["stage"] == "idle" and health["alerts"] == [] and health["failure_count"] == 0


def test_refused_credentials_stop_the_mailbox_with_an_error_alert(client, org: OrgBuilder, session_factory,
                                                                 mailbox: DovecotAccount) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox)
    client.patch(f"{API}/mailboxes/{box.id}", json={"password": "wrong"}, headers=admin.headers)

    result = run_mailbox_sync(session_factory, box.id, options=OPTIONS)

    assert result.outcome == "stopped" and result.reason == "auth"
    assert _state(session_factory, box.id).stage == "stopped"
    with session_factory() as s:
        alerts = s.scalars(select(MailboxAlert).where(MailboxAlert.mailbox_id == box.id)).all()
        assert [(a.level, a.code) for a in alerts] == [("error", "authentication")]
    assert box.id not in claim_due(session_factory)  # stopped: not retried until the credentials change
    client.patch(f"{API}/mailboxes/{box.id}", json={"password": mailbox.password}, headers=admin.headers)
    assert claim_due(session_factory) == [box.id]


def test_the_dispatcher_reads_each_mailboxes_interval_and_requests(client, org: OrgBuilder, session_factory,
                                                                   mailbox: DovecotAccount) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox, sync_interval_seconds=60)
    assert claim_due(session_factory) == [box.id]  # a new mailbox syncs at once, without a restart
    assert claim_due(session_factory) == []  # queued: not sent twice
    run_mailbox_sync(session_factory, box.id, options=OPTIONS)
    assert claim_due(session_factory) == []
    assert claim_due(session_factory, now=utcnow() + timedelta(seconds=61)) == [box.id]


def test_a_dead_workers_mailbox_is_dispatched_again_and_its_run_marked_abandoned(
        client, org: OrgBuilder, session_factory, mailbox: DovecotAccount) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    append(mailbox, mail(sender="jane@fabrikam.example", to=box.address))
    dead_run = uuid.uuid4()
    with session_factory() as s:  # what a worker SIGKILLed mid-pass leaves: running, a run, an expired lease
        state = mailbox_sync.state_of(s, box.id)
        s.add(MailboxSyncRun(id=dead_run, mailbox_id=box.id, worker="gone:1", connector="imap", folders=[]))
        mailbox_sync.start(state, dead_run)
        s.commit()
    assert leases.acquire(session_factory, lease_key(box.id), "gone:1", 60)
    assert claim_due(session_factory) == []  # its lease still runs
    leases.acquire(session_factory, lease_key(box.id), "gone:1", -1)  # ... and now it has expired
    assert claim_due(session_factory) == [box.id]
    assert run_mailbox_sync(session_factory, box.id, options=OPTIONS).outcome == "succeeded"
    with session_factory() as s:
        assert s.get_one(MailboxSyncRun, dead_run).outcome == "abandoned"


def test_the_transition_table_refuses_what_it_does_not_list() -> None:
    state = MailboxSyncState(mailbox_id=uuid.uuid4(), stage="idle", failure_count=0)
    with pytest.raises(mailbox_sync.IllegalTransition):
        mailbox_sync.move(state, "parked")
    for stage, targets in mailbox_sync.TRANSITIONS.items():
        assert targets <= set(mailbox_sync.TRANSITIONS), stage
    assert "parked" not in mailbox_sync.TRANSITIONS["idle"] | mailbox_sync.TRANSITIONS["queued"]


def test_back_off_grows_with_jitter_and_never_undercuts_the_servers_hint() -> None:
    policy = RunPolicy(backoff_base_seconds=30, backoff_max_seconds=600)
    delays = [after_error(TemporaryFailure("busy"), n, policy).delay for n in (1, 2, 3, 4, 5, 6, 7)]
    assert 15 <= delays[0] <= 30 and 60 <= delays[2] <= 120 and 300 <= delays[6] <= 600
    assert len({round(policy.backoff(3), 6) for _ in range(20)}) > 1  # jittered
    hinted = after_error(TemporaryFailure("throttled", retry_after=900), 1, policy)
    assert hinted.delay == 900 and hinted.throttled_for == 900


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
