"""Exchange Online through Microsoft Graph, end to end against the fake Graph server: a CRM mailbox on a Graph
profile syncs through the same pipeline as IMAP (first and incremental sync, deletion, a moved message, a
refused delta token, kill and rerun), honours throttling, marks what it tracked, sends with our Message-ID and
recognises the Sent Items copy, and stops with a clear reason when consent is revoked."""

import ssl
import uuid
from typing import Any

import pytest

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Mailbox
from crm_core.services.mailboxes import connection_of
from mailbridge.admin.checks import check_connection
from mailbridge.errors import AuthenticationFailed
from mailbridge.outgoing import OutgoingOptions, send_pending
from mailbridge.tracking import SyncSummary, TrackingOptions, sync_mailbox
from tests.api import created
from tests.mailbridge.graph_fixtures import GraphAccount, graph_account, graph_mailbox, graph_profile
from tests.mailbridge.tracking_fixtures import emails, mail
from tests.org import OrgBuilder, TestUser

CATEGORY = "Tracked to CRM"


class Killed(Exception):
    pass


@pytest.fixture
def account(graph_fake: Any) -> GraphAccount:
    return graph_account(graph_fake)


def context(account: GraphAccount) -> ssl.SSLContext:
    return account.ssl_context


def sync(session_factory: Any, box_id: uuid.UUID, account: GraphAccount, **options: Any) -> SyncSummary:
    progress = options.pop("progress", None)
    return sync_mailbox(session_factory, box_id, TrackingOptions(timeout=10, ssl_context=context(account),
                                                                 **options), progress)


def inbox_mail(account: GraphAccount, rep: TestUser, count: int, start: int = 0, folder: str = "inbox") -> list[str]:
    return [account.box.add_message(account.box.folder_id(folder), mail(
        sender=f"c{i}@fabrikam.example", to=rep.email, subject=f"order {i}")) for i in range(start, start + count)]


def subjects(client: Any, rep: TestUser) -> list[str]:
    return sorted(e["subject"] for e in emails(client, rep))


def value_downloads(account: GraphAccount) -> int:
    return sum(1 for r in account.fake.requests if r.path.endswith("/$value"))


@pytest.fixture
def mailbox(client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any,
            account: GraphAccount) -> tuple[uuid.UUID, TestUser]:
    return graph_mailbox(client, admin, org, session_factory, account, incoming_filter="all",
                         folders=["INBOX", "Archive"])


def test_first_and_incremental_sync_track_each_mail_once_and_mark_it_in_outlook(
        client, session_factory, account: GraphAccount, mailbox) -> None:
    box_id, rep = mailbox
    ids = inbox_mail(account, rep, 3)

    first = sync(session_factory, box_id, account, batch_size=2)

    assert (first.folders["INBOX"].tracked, first.folders["Archive"].tracked) == (3, 0)
    assert subjects(client, rep) == ["order 0", "order 1", "order 2"]
    assert all(CATEGORY in account.box.message(i).categories for i in ids)
    assert value_downloads(account) == 3

    inbox_mail(account, rep, 1, start=3)
    account.box.update(ids[0], is_read=True)
    second = sync(session_factory, box_id, account)

    assert (second.tracked, second.folders["INBOX"].fetched) == (1, 1)
    assert value_downloads(account) == 4  # a read flag or our own category is no reason to download again
    assert sync(session_factory, box_id, account).fetched == 0
    assert subjects(client, rep) == ["order 0", "order 1", "order 2", "order 3"]
    # One token for the three passes: msal's cache is kept between them, Entra ID is not asked each time.
    assert sum(1 for r in account.fake.requests if r.path.endswith("/oauth2/v2.0/token")) == 1


def test_a_deleted_message_dates_its_sighting_and_a_moved_one_stays_one_activity(
        client, session_factory, account: GraphAccount, mailbox) -> None:
    box_id, rep = mailbox
    ids = inbox_mail(account, rep, 3)
    sync(session_factory, box_id, account)

    account.box.delete(ids[0])
    account.box.move(ids[1], "archive")
    summary = sync(session_factory, box_id, account)

    assert summary.folders["INBOX"].vanished == 2
    archive = summary.folders["Archive"]
    assert (archive.fetched, archive.duplicates, archive.tracked) == (1, 1, 0)
    assert subjects(client, rep) == ["order 0", "order 1", "order 2"]  # deleting in Outlook keeps the activity


def test_a_refused_delta_token_reads_the_folder_again_without_duplicates(
        client, session_factory, account: GraphAccount, mailbox) -> None:
    box_id, rep = mailbox
    inbox_mail(account, rep, 3)
    sync(session_factory, box_id, account)
    account.box.reset_delta("inbox")
    inbox_mail(account, rep, 1, start=3)

    summary = sync(session_factory, box_id, account)

    assert summary.folders["INBOX"].strategy == "delta (read again)"
    assert (summary.tracked, summary.duplicates) == (1, 0)
    assert any(r.status == 410 for r in account.fake.requests)
    assert value_downloads(account) == 4  # only the new message's bytes
    assert subjects(client, rep) == ["order 0", "order 1", "order 2", "order 3"]


def test_throttling_is_honoured_and_never_more_than_four_requests_are_in_flight(
        client, session_factory, account: GraphAccount, mailbox) -> None:
    box_id, rep = mailbox
    inbox_mail(account, rep, 60)
    account.fake.throttle(times=2, retry_after=1)
    account.fake.fail(times=1, status=503)  # no Retry-After: our own back-off

    summary = sync(session_factory, box_id, account, batch_size=60)

    assert summary.tracked == 60
    statuses = [r.status for r in account.fake.requests]
    assert statuses.count(429) >= 2 and statuses.count(503) >= 1
    assert account.fake.max_in_flight <= 4


def test_a_long_retry_after_stops_the_folder_keeping_what_it_committed_and_the_next_pass_resumes(
        client, session_factory, account: GraphAccount, mailbox) -> None:
    box_id, rep = mailbox
    ids = inbox_mail(account, rep, 5)
    # The third message's download (the second batch's) is throttled: come back in ten minutes.
    account.fake.throttle(times=1, retry_after=600, match=f"/messages/{ids[2]}/$value")

    stopped = sync(session_factory, box_id, account, batch_size=2)

    inbox = stopped.folders["INBOX"]
    assert (inbox.tracked, inbox.retry_after) == (2, 600)
    assert inbox.error is not None and "throttled" in inbox.error
    assert stopped.folders["Archive"].error is None
    resumed = sync(session_factory, box_id, account, batch_size=2)
    assert (resumed.folders["INBOX"].tracked, resumed.folders["INBOX"].duplicates) == (3, 0)
    assert len(subjects(client, rep)) == 5


def test_a_pass_killed_midway_reruns_without_loss_or_duplicates(client, session_factory, account: GraphAccount,
                                                                 mailbox) -> None:
    box_id, rep = mailbox
    inbox_mail(account, rep, 5)

    def die(event: Any) -> None:
        if event.done == 3:
            raise Killed

    with pytest.raises(Killed):
        sync(session_factory, box_id, account, batch_size=2, progress=die)
    rerun = sync(session_factory, box_id, account, batch_size=2)

    assert (rerun.tracked, rerun.duplicates) == (3, 0)
    assert subjects(client, rep) == [f"order {i}" for i in range(5)]


def test_sending_keeps_our_message_id_and_the_sent_items_copy_is_not_tracked_twice(
        client, admin: TestUser, org: OrgBuilder, session_factory, account: GraphAccount) -> None:
    box_id, rep = graph_mailbox(client, admin, org, session_factory, account, incoming_filter="all",
                                folders=["INBOX", "Sent"])
    draft = created(client, rep, "activities", {
        "activity_type": "email", "subject": "Your quote", "body_text": "Our offer.",
        "parties": [{"role": "to", "address": "jane@fabrikam.example"}]})
    assert client.post(f"/api/v1/activities/{draft['id']}/send", headers=rep.headers).status_code == 200

    summary = send_pending(session_factory, OutgoingOptions(ssl_context=context(account), timeout=10))

    assert (summary.sent, summary.failed) == (1, 0)
    sent = client.get(f"/api/v1/activities/{draft['id']}", headers=rep.headers).json()
    [copy] = account.box.sent
    assert copy.internet_message_id.strip("<>") == sent["message_id"]
    assert sent["tracking_token"] in copy.subject
    synced = sync(session_factory, box_id, account)
    assert synced.folders["Sent"].fetched == 1 and synced.folders["Sent"].tracked == 0
    assert [e["subject"] for e in emails(client, rep)] == [sent["subject"]]


def test_revoked_consent_stops_the_mailbox_with_the_reason(client, admin: TestUser, org: OrgBuilder,
                                                           session_factory, account: GraphAccount) -> None:
    profile = graph_profile(client, admin, account, auth_type="delegated")
    box_id, rep = graph_mailbox(client, admin, org, session_factory, account, profile, incoming_filter="all")
    refresh = account.fake.grant_delegated(account.app, account.address)
    client.patch(f"/api/v1/mailboxes/{box_id}", json={"oauth_refresh_token": refresh}, headers=rep.headers)
    inbox_mail(account, rep, 1)
    assert sync(session_factory, box_id, account).tracked == 1

    account.fake.revoke_delegated(account.app, account.address)
    with pytest.raises(AuthenticationFailed) as refused:
        sync(session_factory, box_id, account)

    assert refused.value.reason == "consent_revoked"
    shown = client.get(f"/api/v1/mailboxes/{box_id}", headers=rep.headers).json()
    assert (shown["may_sync"], shown["sync_stopped_reason"]) == (False, "consent_revoked")


@pytest.mark.parametrize("problem", ["ok", "wrong secret", "no such mailbox", "access policy", "missing folder"])
def test_the_connection_test_says_what_is_wrong(client, admin: TestUser, org: OrgBuilder, session_factory,
                                                account: GraphAccount, problem: str) -> None:
    profile = graph_profile(client, admin, account)
    box_id, _rep = graph_mailbox(client, admin, org, session_factory, account, profile,
                                 folders=["INBOX", "Projects"] if problem == "missing folder" else ["INBOX"])
    if problem == "wrong secret":
        client.patch(f"/api/v1/email-server-profiles/{profile['id']}", json={"client_secret": "wrong"},
                     headers=admin.headers)
    elif problem == "no such mailbox":
        other = graph_account(account.fake)
        client.patch(f"/api/v1/mailboxes/{box_id}", json={"email_address": f"nobody-{other.address}"},
                     headers=admin.headers)
    elif problem == "access policy":
        account.fake.restrict_app(account.app, ["someone.else@contoso.example"])
    with UnitOfWork(session_factory) as uow:
        connection = connection_of(uow.session, uow.session.get(Mailbox, box_id))

    outcome = check_connection(connection, ssl_context=context(account))

    expected = {"ok": None, "wrong secret": "auth", "no such mailbox": "mailbox_not_found",
                "access policy": "access_denied", "missing folder": "folder_missing"}[problem]
    assert (outcome.ok, outcome.reason) == (problem == "ok", expected), outcome.message
    if problem == "missing folder":
        assert "Projects" in outcome.message
