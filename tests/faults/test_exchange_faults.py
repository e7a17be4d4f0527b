"""Exchange Online (the fake Graph) and Exchange on-premises (the fake EWS) through a faulty network, as runs of
the mailbox job: connections reset in the middle of answers (TLS passes through the proxy untouched, so the
cuts are placed by bytes), and the throttling replies with a long wait (Graph's 429 with Retry-After, EWS's
ErrorServerBusy with BackOffMilliseconds), which must land on the mailbox's state as its next run.

Short waits waited out inside a pass, and a dropped connection dialled again, are the mail tests'
(tests/mailbridge/test_graph_sync.py, test_ews_throttling.py); here the run records what the user sees."""

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from crm_core.models import MailboxSyncState
from mailbridge.runs import run_mailbox_sync
from mailbridge.runs.dispatch import claim_due
from mailbridge.tracking import TrackingOptions
from tests.fakes.ews import EwsFake
from tests.faults.proxy import FaultProxy, reset
from tests.faults.tracked import API, assert_tracked_once, runs
from tests.mailbridge.ews_rep import EwsRep
from tests.mailbridge.graph_fixtures import GraphAccount, graph_account, graph_mailbox, graph_profile
from tests.mailbridge.tls import TestCertificate
from tests.mailbridge.tracking_fixtures import mail
from tests.org import OrgBuilder, TestUser

BODY = "A line of the mail, to give each answer some length.\r\n" * 40  # about 2 KB


def proxied_url(url: str, proxy_to: Any) -> tuple[str, FaultProxy]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    proxy: FaultProxy = proxy_to((parts.hostname, parts.port))
    return parts._replace(netloc=f"{parts.hostname}:{proxy.port}").geturl(), proxy


def state(session_factory: Any, mailbox_id: uuid.UUID) -> MailboxSyncState:
    with session_factory() as s:
        return s.get_one(MailboxSyncState, mailbox_id)


def assert_waits_for_the_server(
    session_factory: Any, client: Any, admin: TestUser, mailbox_id: uuid.UUID, result: Any, seconds: float
) -> None:
    """The run is "throttled" with the server's wait; the mailbox is not due again before it."""
    assert result.outcome == "throttled" and f"wait {seconds:.0f} s" in result.message
    [run] = runs(client, admin, mailbox_id)
    assert (run["outcome"], run["retry_after"]) == ("throttled", seconds)
    s = state(session_factory, mailbox_id)
    assert s.stage == "backing_off" and s.failure_count == 0  # a throttled mailbox is not on its way to parking
    assert s.throttled_until is not None and s.next_run_on is not None
    assert s.next_run_on >= s.throttled_until >= s.last_attempt_on + timedelta(seconds=seconds - 1)
    assert mailbox_id not in claim_due(session_factory, now=s.throttled_until - timedelta(seconds=5))
    assert claim_due(session_factory, now=s.next_run_on + timedelta(seconds=1)) == [mailbox_id]


def runs_until_succeeded(session_factory: Any, mailbox_id: uuid.UUID, options: TrackingOptions) -> list[Any]:
    results = []
    while not results or results[-1].outcome != "succeeded":
        assert len(results) < 4, [(r.outcome, r.message) for r in results]
        results.append(run_mailbox_sync(session_factory, mailbox_id, options=options))
    return results


def assert_cut_then_completed(results: list[Any], proxy: FaultProxy) -> None:
    """Both cuts struck; each cut run stopped the folder at its last commit, saying the connection broke (a
    temporary failure, not one that brings the mailbox nearer parking); then a run completed."""
    assert proxy.struck == 2 and 2 <= len(results) <= 3
    for cut in results[:-1]:
        assert (cut.outcome, cut.reason) == ("partial", "folder") and cut.message.startswith("INBOX: connect: ")


# -- Graph ---------------------------------------------------------------------------------------------------
class GraphRep:
    def __init__(
        self, client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any, fake: Any, proxy_to: Any
    ) -> None:
        self.account: GraphAccount = graph_account(fake)
        url, self.proxy = proxied_url(fake.graph_url, proxy_to)
        profile = graph_profile(client, admin, self.account, service_url=url)
        self.id, self.user = graph_mailbox(
            client, admin, org, session_factory, self.account, profile, incoming_filter="all", folders=["INBOX"]
        )
        self.options = TrackingOptions(timeout=10, ssl_context=self.account.ssl_context, parse_workers=0, batch_size=10)

    def deliver(self, n: int) -> list[str]:
        subjects = [f"order {i:02d}" for i in range(n)]
        for subject in subjects:
            self.account.box.add_message(
                self.account.box.folder_id("inbox"),
                mail(sender="jane@fabrikam.example", to=self.user.email, subject=subject, body=f"{subject}\r\n{BODY}"),
            )
        return subjects


@pytest.fixture
def graph_rep(client, admin: TestUser, org: OrgBuilder, session_factory, graph_fake, proxy_to) -> GraphRep:
    return GraphRep(client, admin, org, session_factory, graph_fake, proxy_to)


def test_graph_connections_reset_mid_answer_then_a_rerun_tracks_each_mail_once(
    client, admin: TestUser, session_factory, graph_rep: GraphRep
) -> None:
    subjects = graph_rep.deliver(30)
    # The first two connections to Graph die 20 KB into what the server sends (mid-answer to a download).
    graph_rep.proxy.schedule(reset(20_000), reset(20_000))

    results = runs_until_succeeded(session_factory, graph_rep.id, graph_rep.options)

    assert_cut_then_completed(results, graph_rep.proxy)
    assert_tracked_once(client, session_factory, graph_rep.id, graph_rep.user, subjects, graph_rep.options)


def test_a_graph_429_with_a_long_retry_after_becomes_the_mailboxes_next_run(
    client, admin: TestUser, session_factory, graph_rep: GraphRep
) -> None:
    subjects = graph_rep.deliver(3)
    graph_rep.account.fake.throttle(times=1, retry_after=600, match="/$value")

    throttled = run_mailbox_sync(session_factory, graph_rep.id, options=graph_rep.options)

    assert_waits_for_the_server(session_factory, client, admin, graph_rep.id, throttled, 600)
    assert run_mailbox_sync(session_factory, graph_rep.id, options=graph_rep.options).outcome == "succeeded"
    assert_tracked_once(client, session_factory, graph_rep.id, graph_rep.user, subjects, graph_rep.options)


# -- EWS -----------------------------------------------------------------------------------------------------
class ProxiedEwsRep(EwsRep):
    def __init__(
        self, client: Any, admin: TestUser, org: OrgBuilder, fake: EwsFake, certificate: TestCertificate, proxy_to: Any
    ) -> None:
        super().__init__(client, admin, org, fake)
        url, self.proxy = proxied_url(fake.url, proxy_to)
        profile_id = client.get(f"{API}/mailboxes/{self.id}", headers=admin.headers).json()["server_profile_id"]
        r = client.patch(f"{API}/email-server-profiles/{profile_id}", json={"service_url": url}, headers=admin.headers)
        assert r.status_code == 200, r.text
        self.options = TrackingOptions(
            timeout=10, ssl_context=certificate.client_context(), parse_workers=0, batch_size=10
        )

    def deliver(self, n: int) -> list[str]:
        subjects = [f"order {i:02d}" for i in range(n)]
        for subject in subjects:
            self.box.add_message(
                "inbox",
                mail(sender="jane@fabrikam.example", to=self.address, subject=subject, body=f"{subject}\r\n{BODY}"),
            )
        return subjects


@pytest.fixture
def ews_rep(
    client, admin: TestUser, org: OrgBuilder, ews: EwsFake, ews_certificate: TestCertificate, proxy_to
) -> ProxiedEwsRep:
    return ProxiedEwsRep(client, admin, org, ews, ews_certificate, proxy_to)


def test_ews_connections_reset_mid_answer_then_a_rerun_tracks_each_mail_once(
    client, admin: TestUser, session_factory, ews_rep: ProxiedEwsRep
) -> None:
    subjects = ews_rep.deliver(30)
    # The first connection dies 20 KB into the answer to a GetItem, and so does the one dialled again.
    ews_rep.proxy.schedule(reset(20_000), reset(20_000))

    results = runs_until_succeeded(session_factory, ews_rep.id, ews_rep.options)

    assert_cut_then_completed(results, ews_rep.proxy)
    assert_tracked_once(client, session_factory, ews_rep.id, ews_rep.user, subjects, ews_rep.options)


def test_an_ews_server_busy_with_a_long_back_off_becomes_the_mailboxes_next_run(
    client, admin: TestUser, session_factory, ews: EwsFake, ews_rep: ProxiedEwsRep
) -> None:
    subjects = ews_rep.deliver(3)
    ews.busy(times=1, back_off_ms=300_000, operation="GetItem")

    throttled = run_mailbox_sync(session_factory, ews_rep.id, options=ews_rep.options)

    assert_waits_for_the_server(session_factory, client, admin, ews_rep.id, throttled, 300)
    assert run_mailbox_sync(session_factory, ews_rep.id, options=ews_rep.options).outcome == "succeeded"
    assert_tracked_once(client, session_factory, ews_rep.id, ews_rep.user, subjects, ews_rep.options)
