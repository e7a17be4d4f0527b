"""EWS streaming notifications as a trigger, end to end: the listener holds a streaming subscription per approved EWS
mailbox on the fake Exchange server (through exchangelib's real HTTP path, chunked GetStreamingEvents included);
mail delivered there marks the mailbox `sync_requested_on`, and the dispatcher and the sync do the rest. A server
that refuses streaming leaves the mailbox to its schedule; a lost subscription is made again; connections that
time out, or are throttled, are taken up again.

The fake's "minute" (a connection's ConnectionTimeout unit) lasts a second here, so that connections end and are
renewed within each test."""

import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from crm_core.db.types import utcnow
from mailbridge.notifications import sync_request_served
from mailbridge.runs import run_mailbox_sync
from mailbridge.runs.dispatch import claim_due
from mailbridge.sources.ews.listener import EwsListener, ListenerOptions
from mailbridge.sources.ews.streaming import StreamOptions
from mailbridge.tracking import TrackingOptions
from tests.fakes.ews import EwsFake
from tests.fakes.ews import fixtures as ews_fixtures
from tests.mailbridge.ews_rep import EwsRep
from tests.mailbridge.tls import TestCertificate
from tests.mailbridge.tracking_fixtures import emails, mail
from tests.org import OrgBuilder, TestUser

ews, ews_certificate = ews_fixtures.ews, ews_fixtures.ews_certificate  # fixtures: a fresh fake per test

DEADLINE = 15.0  # seconds: generous, only a bound for a test that would otherwise hang


class Rep(EwsRep):
    """A salesperson, his mailbox on the fake Exchange server and its approved CRM mailbox (NTLM, his login)."""

    def deliver(self, subject: str) -> str:
        return self.box.add_message("inbox", mail(sender="jane@fabrikam.example", to=self.address, subject=subject))

    def requested(self) -> str | None:
        """The mailbox's `sync_requested_on`, as the API shows it."""
        r = self.client.get(f"/api/v1/mailboxes/{self.id}", headers=self.admin.headers)
        assert r.status_code == 200, r.text
        return r.json()["sync_requested_on"]  # type: ignore[no-any-return]

    def subjects(self) -> list[str]:
        return sorted(e["subject"] for e in emails(self.client, self.user))


def eventually(check: Callable[[], Any], timeout: float = DEADLINE) -> Any:
    """The first truthy value of `check()`, polled until the deadline; what it last returned otherwise."""
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


@pytest.fixture
def rep(client: Any, admin: TestUser, org: OrgBuilder, ews: EwsFake) -> Rep:
    ews.subscriptions.minute = 1.0
    return Rep(client, admin, org, ews)


@pytest.fixture
def listener(session_factory: Any, ews_certificate: TestCertificate) -> Iterator[EwsListener]:
    options = ListenerOptions(
        stream=StreamOptions(connection_minutes=1, retry_seconds=0.2, max_retry_seconds=1.0),
        timeout=10,
        ssl_context=ews_certificate.client_context(),
    )
    listening = EwsListener(session_factory, options)
    try:
        yield listening
    finally:
        listening.close()


def sync(session_factory: Any, rep: Rep, certificate: TestCertificate, trigger: str) -> Any:
    options = TrackingOptions(timeout=10, ssl_context=certificate.client_context(), parse_workers=0)
    return run_mailbox_sync(session_factory, rep.id, trigger=trigger, options=options)


def test_delivered_mail_asks_for_a_sync_which_the_dispatcher_sends_and_the_sync_tracks(
    session_factory, rep: Rep, listener: EwsListener, ews: EwsFake, ews_certificate: TestCertificate
) -> None:
    first = sync(session_factory, rep, ews_certificate, "schedule")  # the next scheduled pass is minutes away
    assert first.outcome == "succeeded" and claim_due(session_factory) == []
    listener.refresh()
    assert listener.listening == {rep.id}
    # Connections end after their timeout and the same subscription is asked again.
    assert eventually(lambda: ews.requests.count("GetStreamingEvents") >= 2)
    assert ews.requests.count("Subscribe") == 1 and rep.requested() is None

    rep.deliver("Order 1001")

    assert eventually(rep.requested), "the notification did not mark the mailbox"
    assert claim_due(session_factory) == [rep.id]
    result = sync(session_factory, rep, ews_certificate, "requested")
    assert result.outcome == "succeeded" and result.summary is not None and result.summary.tracked == 1
    assert rep.subjects() == ["Order 1001"]


@pytest.mark.parametrize("refusal", ["ErrorInvalidRequest", "ErrorSchemaValidation"])
def test_a_server_without_streaming_leaves_the_mailbox_to_its_schedule(
    session_factory,
    rep: Rep,
    listener: EwsListener,
    ews: EwsFake,
    ews_certificate: TestCertificate,
    caplog: pytest.LogCaptureFixture,
    refusal: str,
) -> None:
    ews.refuse_streaming(refusal)
    caplog.set_level(logging.INFO, logger="mailbridge.sources.ews")
    listener.refresh()
    assert eventually(lambda: not listener.listening)
    listener.refresh()  # not asked again soon, nor logged again
    listener.refresh()

    rep.deliver("Order 1002")

    assert ews.requests.count("Subscribe") == 1 and "GetStreamingEvents" not in ews.requests
    refusals = [r for r in caplog.records if "no streaming notifications" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.INFO
    assert rep.requested() is None
    # The schedule: due now (a new mailbox), and synced as any other.
    assert claim_due(session_factory, now=utcnow() + timedelta(minutes=10)) == [rep.id]
    assert sync(session_factory, rep, ews_certificate, "schedule").outcome == "succeeded"
    assert rep.subjects() == ["Order 1002"]


def test_a_lost_subscription_is_made_again_and_asks_for_a_sync(
    session_factory, rep: Rep, listener: EwsListener, ews: EwsFake
) -> None:
    listener.refresh()
    assert eventually(lambda: ews.subscriptions.connections == 1)

    ews.lose_subscriptions(rep.address)  # as after a restart of the mailbox server

    # The next connection is refused (ErrorSubscriptionNotFound); a new subscription is made, and since what
    # changed meanwhile was not notified, a sync is asked for at once.
    assert eventually(lambda: ews.requests.count("Subscribe") == 2)
    assert eventually(rep.requested)
    assert listener.listening == {rep.id}
    sync_request_served(session_factory, rep.id, utcnow())
    assert rep.requested() is None

    rep.deliver("Order 1003")  # notified through the new subscription

    assert eventually(rep.requested)


def test_a_throttled_connection_waits_and_goes_on(
    session_factory, rep: Rep, listener: EwsListener, ews: EwsFake
) -> None:
    ews.busy(2, back_off_ms=300, operation="GetStreamingEvents")  # ErrorServerBusy with BackOffMilliseconds
    listener.refresh()
    assert eventually(lambda: ews.subscriptions.connections == 1)
    assert ews.requests.count("GetStreamingEvents") >= 3 and ews.requests.count("Subscribe") == 1

    rep.deliver("Order 1004")

    assert eventually(rep.requested)


def test_mailboxes_added_and_switched_off_are_picked_up(
    client, admin, org, session_factory, rep: Rep, listener: EwsListener, ews: EwsFake
) -> None:
    listener.refresh()
    other = Rep(client, admin, org, ews)
    listener.refresh()
    assert listener.listening == {rep.id, other.id}
    assert eventually(lambda: ews.subscriptions.connections == 2)

    r = client.patch(f"/api/v1/mailboxes/{rep.id}", headers=admin.headers, json={"incoming_enabled": False})
    assert r.status_code == 200, r.text
    listener.refresh()

    assert listener.listening == {other.id}
    assert eventually(lambda: {s.address for s in ews.subscriptions.by_id.values()} == {other.address})
    other.deliver("Order 1005")
    assert eventually(other.requested)
    assert rep.requested() is None
