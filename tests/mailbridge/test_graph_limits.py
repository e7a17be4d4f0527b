"""What a Graph mailbox costs Exchange Online, against the fake Graph server through our real stack (msal,
httpx): a first sync never trips the mailbox's limit of 4 requests in flight (requests inside a $batch count
one by one), not even with another client of the same mailbox busy at the same time; the pass after it reads
our own marking's echo without downloading or marking anything; and Entra ID is asked once across passes."""

import threading
import uuid
from typing import Any

import pytest

from mailbridge.sources.graph.client import BatchRequest, GraphClient
from mailbridge.sources.graph.folders import user_path
from mailbridge.sources.graph.throttling import MailboxSlots
from mailbridge.tracking import SyncSummary, TrackingOptions, sync_mailbox
from tests.mailbridge.graph_fixtures import TEST_LIMITS, GraphAccount, graph_account, graph_mailbox
from tests.mailbridge.tracking_fixtures import mail
from tests.org import OrgBuilder, TestUser

CATEGORY = "Tracked to CRM"


@pytest.fixture
def account(graph_fake: Any) -> GraphAccount:
    return graph_account(graph_fake)


@pytest.fixture
def mailbox(
    client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any, account: GraphAccount
) -> tuple[uuid.UUID, TestUser]:
    return graph_mailbox(client, admin, org, session_factory, account, incoming_filter="all", folders=["INBOX"])


def sync(session_factory: Any, box_id: uuid.UUID, account: GraphAccount, **options: Any) -> SyncSummary:
    return sync_mailbox(
        session_factory, box_id, TrackingOptions(timeout=10, ssl_context=account.ssl_context, **options)
    )


def deliver(account: GraphAccount, rep: TestUser, count: int) -> list[str]:
    inbox = account.box.folder_id("inbox")
    return [
        account.box.add_message(inbox, mail(sender=f"c{i}@fabrikam.example", to=rep.email, subject=f"order {i}"))
        for i in range(count)
    ]


def requests_of(account: GraphAccount, *, method: str | None = None, ending: str = "") -> list[Any]:
    return [r for r in account.fake.requests if (method is None or r.method == method) and r.path.endswith(ending)]


def test_a_first_sync_of_200_messages_gets_no_429_from_the_mailbox_concurrency_limit(
    session_factory, account: GraphAccount, mailbox
) -> None:
    box_id, rep = mailbox
    ids = deliver(account, rep, 200)

    summary = sync(session_factory, box_id, account)

    assert summary.tracked == 200
    assert [r for r in account.fake.requests if r.status == 429] == []
    assert account.fake.max_in_flight <= 4
    assert len(requests_of(account, method="GET", ending="/$value")) == 200
    assert all(CATEGORY in account.box.message(i).categories for i in ids)  # every mail marked in Outlook


def test_the_pass_after_a_first_sync_reads_our_marking_back_but_downloads_and_marks_nothing(
    session_factory, account: GraphAccount, mailbox
) -> None:
    box_id, rep = mailbox
    deliver(account, rep, 120)
    sync(session_factory, box_id, account, batch_size=50)  # 50 per delta page: the echo spans three pages
    account.fake.clear_requests()

    summary = sync(session_factory, box_id, account, batch_size=50)

    assert (summary.fetched, summary.tracked) == (0, 0)
    assert requests_of(account, ending="/$value") == []
    assert requests_of(account, method="PATCH") == []
    # Graph's delta cannot leave our own category change out: its pages are read, and that is all.
    assert len(requests_of(account, method="GET", ending="/delta")) == 3
    assert sync(session_factory, box_id, account, batch_size=50).fetched == 0


def test_two_passes_ask_entra_id_for_its_discovery_and_a_token_once(
    session_factory, account: GraphAccount, mailbox
) -> None:
    box_id, rep = mailbox
    deliver(account, rep, 3)

    sync(session_factory, box_id, account)
    deliver(account, rep, 1)
    sync(session_factory, box_id, account)

    assert len(requests_of(account, method="GET", ending="/.well-known/openid-configuration")) == 1
    assert len(requests_of(account, method="POST", ending="/oauth2/v2.0/token")) == 1
    assert all(account.app.secret not in str(r.query) for r in account.fake.requests)


def test_two_clients_of_one_mailbox_share_its_four_slots(account: GraphAccount) -> None:
    """The mail sync, the calendar store and the add-in each have a client of their own for the same mailbox;
    Graph's limit is per app and mailbox, so their requests are counted together."""
    inbox = account.box.folder_id("inbox")
    ids = [
        account.box.add_message(inbox, mail(sender="c@fabrikam.example", to=account.address, subject=f"m{i}"))
        for i in range(40)
    ]
    base = user_path(account.address)
    account.fake.delay = 0.02  # each request lasts long enough for the two clients' requests to meet
    errors: list[BaseException] = []

    def busy(client: GraphClient) -> None:
        try:
            for _ in range(3):
                answers = client.batch(
                    [BatchRequest(str(n), "GET", f"{base}/messages/{i}/$value") for n, i in enumerate(ids)], "download"
                )
                assert all(a.ok for a in answers.values())
                client.get_json(f"{base}/mailFolders/inbox", "find the inbox")
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)

    clients = [GraphClient(account.settings()) for _ in range(2)]
    threads = [threading.Thread(target=busy, args=(c,)) for c in clients]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for c in clients:
            c.close()

    assert errors == []
    assert [r for r in account.fake.requests if r.status == 429] == []
    assert account.fake.max_in_flight <= 4


def test_the_slots_are_one_set_per_app_and_mailbox() -> None:
    first = MailboxSlots.shared("app-a", "Rep@Contoso.example", TEST_LIMITS)
    assert MailboxSlots.shared("app-a", "rep@contoso.example", TEST_LIMITS) is first
    assert MailboxSlots.shared("app-b", "rep@contoso.example", TEST_LIMITS) is not first
    assert MailboxSlots.shared("app-a", "other@contoso.example", TEST_LIMITS) is not first
    with first.hold(20) as taken:  # a full $batch: all four, no more
        assert taken == 4
