"""Graph change notifications, end to end: the real app served over HTTPS on loopback (Graph calls only https)
and the fake Graph server, which validates our endpoints through the handshake and posts notifications and
lifecycle events to them. A notification only asks for a sync sooner: the delta sync still finds the mail."""

import datetime as dt
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select, update

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import ValidationFailed
from crm_core.models.graph_subscriptions import GraphSubscription, client_state_digest
from mailbridge.errors import MailError
from mailbridge.notifications import (
    ensure_subscriptions,
    handle_notifications,
    requested_syncs,
    sync_request_served,
)
from mailbridge.notifications.router import WebhookOptions
from mailbridge.tracking import TrackingOptions, sync_mailbox
from tests.mailbridge.graph_fixtures import GraphAccount, graph_account, graph_mailbox
from tests.mailbridge.tls import TestCertificate
from tests.mailbridge.tracking_fixtures import emails, mail
from tests.org import TestUser


@dataclass(frozen=True)
class ServedApp:
    url: str  # https://127.0.0.1:PORT, what Graph calls back
    certificate: TestCertificate

    def post(self, path: str, **options: Any) -> httpx.Response:
        return httpx.post(self.url + path, verify=self.certificate.client_context(), timeout=10, **options)


@pytest.fixture(scope="module")
def served(api_app: Any, graph_certificate: TestCertificate) -> Iterator[ServedApp]:
    """The app (the tests' own, on their database) served by uvicorn over HTTPS on 127.0.0.1 and a free port;
    its lifecycle work reaches the fake Graph through the test certificate."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(api_app, ssl_certfile=str(graph_certificate.cert_path),
                                           ssl_keyfile=str(graph_certificate.key_path), log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="crm-https", daemon=True)
    thread.start()
    api_app.state.graph_webhook = WebhookOptions(url, graph_certificate.client_context())
    try:
        assert eventually(lambda: server.started), "uvicorn did not start"
        yield ServedApp(url, graph_certificate)
    finally:
        del api_app.state.graph_webhook
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """The first truthy value of `check()`, polled until the deadline; what it last returned otherwise."""
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


@pytest.fixture
def account(graph_fake: Any) -> GraphAccount:
    return graph_account(graph_fake)


@pytest.fixture
def mailbox(client, admin: TestUser, org, session_factory, account: GraphAccount) -> tuple[uuid.UUID, TestUser]:
    return graph_mailbox(client, admin, org, session_factory, account, incoming_filter="all")


def context(account: GraphAccount) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(account.fake.ca_file))


def ensure(session_factory: Any, box_id: uuid.UUID, served: ServedApp, account: GraphAccount, **options: Any) -> Any:
    return ensure_subscriptions(session_factory, box_id, served.url, ssl_context=context(account), **options)


def rows(session_factory: Any, box_id: uuid.UUID) -> dict[str, GraphSubscription]:
    with UnitOfWork(session_factory) as uow:
        found = uow.session.scalars(select(GraphSubscription).where(GraphSubscription.mailbox_id == box_id)).all()
        uow.session.expunge_all()
        return {row.folder: row for row in found}


def requested_on(client: Any, admin: TestUser, box_id: uuid.UUID) -> str | None:
    r = client.get(f"/api/v1/mailboxes/{box_id}", headers=admin.headers)
    assert r.status_code == 200, r.text
    return r.json()["sync_requested_on"]  # type: ignore[no-any-return]


def fake_subscription(account: GraphAccount, subscription_id: str) -> Any:
    return next((s for s in account.fake.subscriptions if s.id == subscription_id), None)


def subscription_requests(account: GraphAccount, method: str) -> int:
    return sum(1 for r in account.fake.requests if r.method == method and "/subscriptions" in r.path)


def deliver_new_mail(account: GraphAccount, rep: TestUser, subject: str) -> Any:
    """A message arrives in the inbox; returns Graph's notification delivery for it, as our app answered it."""
    account.box.add_message(account.box.folder_id("inbox"), mail(sender="c@fabrikam.example", to=rep.email,
                                                                  subject=subject))
    assert account.fake.drain_notifications()
    return account.fake.notifications[-1]


def sync(session_factory: Any, box_id: uuid.UUID, account: GraphAccount) -> Any:
    return sync_mailbox(session_factory, box_id, TrackingOptions(timeout=10, ssl_context=context(account)))


def expire_soon(session_factory: Any, account: GraphAccount, row: GraphSubscription, at: dt.datetime) -> None:
    """As if days went by: Graph (and our row) end the subscription at `at`."""
    fake_subscription(account, row.subscription_id).expiration = at
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(update(GraphSubscription).where(GraphSubscription.id == row.id)
                            .values(expires_on=utcnow() + dt.timedelta(hours=1)))
        uow.commit()


def test_subscribing_validates_our_endpoints_and_keeps_only_a_digest_of_the_client_state(
        client, admin, session_factory, served: ServedApp, account: GraphAccount, mailbox) -> None:
    box_id, _ = mailbox

    summary = ensure(session_factory, box_id, served, account)

    assert sorted(summary.created) == ["INBOX", "Sent"]
    stored = rows(session_factory, box_id)
    graph = {s.id: s for s in account.fake.subscriptions}  # the fake makes one only after the handshake passed
    assert {row.subscription_id for row in stored.values()} == set(graph)
    for row in stored.values():
        made = graph[row.subscription_id]
        assert made.notification_url == served.url + "/api/v1/graph/notifications"
        assert made.lifecycle_url == served.url + "/api/v1/graph/lifecycle"
        assert made.change_types == ("created", "updated", "deleted")
        assert made.expiration > utcnow() + dt.timedelta(days=6)
        assert row.client_state_sha256 == client_state_digest(made.client_state)
        assert made.client_state not in (row.client_state_sha256, row.folder, row.subscription_id)
    assert graph[stored["INBOX"].subscription_id].folder_id == account.box.folder_id("inbox")
    assert len({graph[row.subscription_id].client_state for row in stored.values()}) == 2  # a secret each
    assert requested_on(client, admin, box_id) is None

    again = ensure(session_factory, box_id, served, account)
    assert (again.created, sorted(again.kept)) == ([], ["INBOX", "Sent"])
    assert subscription_requests(account, "POST") == 2 and subscription_requests(account, "PATCH") == 0


def test_graph_refuses_an_endpoint_that_fails_the_handshake_and_nothing_is_stored(
        session_factory, served: ServedApp, account: GraphAccount, mailbox) -> None:
    box_id, _ = mailbox
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"https://127.0.0.1:{closed.getsockname()[1]}"

    with pytest.raises(MailError, match="validation request failed"):
        ensure_subscriptions(session_factory, box_id, nowhere, ssl_context=context(account))
    with pytest.raises(ValidationFailed, match="HTTPS"):
        ensure_subscriptions(session_factory, box_id, served.url.replace("https", "http"))

    assert rows(session_factory, box_id) == {} and account.fake.subscriptions == []


def test_new_mail_makes_graph_notify_the_mailbox_asks_for_a_sync_and_the_sync_finds_it(
        client, admin, session_factory, served: ServedApp, account: GraphAccount, mailbox) -> None:
    box_id, rep = mailbox
    ensure(session_factory, box_id, served, account)

    delivery = deliver_new_mail(account, rep, "order 1")

    assert delivery.status == 202 and delivery.url == served.url + "/api/v1/graph/notifications"
    assert requested_on(client, admin, box_id) is not None
    assert emails(client, rep) == []  # a notification tracks nothing itself
    assert [r.mailbox_id for r in requested_syncs(session_factory)] == [box_id]

    started = utcnow()
    assert sync(session_factory, box_id, account).tracked == 1  # the delta is the source of truth
    sync_request_served(session_factory, box_id, started)
    assert [e["subject"] for e in emails(client, rep)] == ["order 1"]

    # The sync's own category on the tracked mail is a change Graph notifies: one more pass, which finds only
    # that, marks nothing, and so settles.
    assert account.fake.drain_notifications()
    assert requested_on(client, admin, box_id) is not None
    started = utcnow()
    assert sync(session_factory, box_id, account).fetched == 0
    assert account.fake.drain_notifications()
    assert sync_request_served(session_factory, box_id, started)
    assert requested_on(client, admin, box_id) is None and requested_syncs(session_factory) == []


def test_a_notification_with_a_wrong_client_state_changes_nothing_and_the_sync_still_finds_the_mail(
        client, admin, session_factory, served: ServedApp, account: GraphAccount, mailbox) -> None:
    box_id, rep = mailbox
    ensure(session_factory, box_id, served, account)
    inbox = rows(session_factory, box_id)["INBOX"]
    fake_subscription(account, inbox.subscription_id).client_state = "forged"

    delivery = deliver_new_mail(account, rep, "order 2")

    assert delivery.status == 202  # a prober learns nothing from the answer
    assert requested_on(client, admin, box_id) is None
    item = delivery.payload["value"][0]
    forged = [dict(item, clientState="forged"), dict(item, clientState=None), dict(item, subscriptionId="other"),
              "not an item"]
    outcome = handle_notifications(session_factory, {"value": forged})
    assert (outcome.accepted, outcome.ignored, outcome.mailboxes) == (0, 4, set())
    assert served.post("/api/v1/graph/notifications", content=b"{not json").status_code == 400
    assert requested_on(client, admin, box_id) is None

    assert sync(session_factory, box_id, account).tracked == 1
    assert [e["subject"] for e in emails(client, rep)] == ["order 2"]


def test_the_endpoints_answer_the_validation_handshake(served: ServedApp) -> None:
    token = "Validation: Testing client application <script>&"
    for path in ("/api/v1/graph/notifications", "/api/v1/graph/lifecycle"):
        r = served.post(path, params={"validationToken": token})
        assert (r.status_code, r.text) == (200, token)
        assert r.headers["content-type"].startswith("text/plain")


def test_subscriptions_are_renewed_before_they_expire_and_made_again_when_graph_forgot_them(
        client, admin, session_factory, served: ServedApp, account: GraphAccount, mailbox) -> None:
    box_id, rep = mailbox
    ensure(session_factory, box_id, served, account)
    before = rows(session_factory, box_id)
    expire_soon(session_factory, account, before["Sent"], utcnow() + dt.timedelta(hours=1))
    expire_soon(session_factory, account, before["INBOX"], utcnow() - dt.timedelta(seconds=1))  # Graph ended it

    summary = ensure(session_factory, box_id, served, account)

    assert (summary.renewed, summary.replaced) == (["Sent"], ["INBOX"])
    after = rows(session_factory, box_id)
    assert after["Sent"].subscription_id == before["Sent"].subscription_id
    assert after["Sent"].expires_on > utcnow() + dt.timedelta(days=6)
    assert fake_subscription(account, after["Sent"].subscription_id).expiration > utcnow() + dt.timedelta(days=6)
    assert after["INBOX"].subscription_id != before["INBOX"].subscription_id
    assert fake_subscription(account, after["INBOX"].subscription_id) is not None
    assert subscription_requests(account, "PATCH") == 2 and subscription_requests(account, "POST") == 3

    assert deliver_new_mail(account, rep, "order 3").status == 202
    assert requested_on(client, admin, box_id) is not None  # the new subscription's clientState counts


def test_a_removed_subscription_is_made_again_and_asks_for_a_sync(
        client, admin, session_factory, served: ServedApp, account: GraphAccount, mailbox) -> None:
    box_id, rep = mailbox
    ensure(session_factory, box_id, served, account)
    old = rows(session_factory, box_id)["INBOX"].subscription_id

    assert account.fake.lifecycle(old, "subscriptionRemoved") == 202

    assert requested_on(client, admin, box_id) is not None  # changes meanwhile were not notified
    new = eventually(lambda: (rows(session_factory, box_id)["INBOX"].subscription_id != old
                              and rows(session_factory, box_id)["INBOX"].subscription_id))
    assert new and fake_subscription(account, new) is not None and fake_subscription(account, old) is None
    sync_request_served(session_factory, box_id, utcnow())
    assert deliver_new_mail(account, rep, "order 4").status == 202
    assert requested_on(client, admin, box_id) is not None


def test_reauthorization_required_renews_the_subscription_now(
        session_factory, served: ServedApp, account: GraphAccount, mailbox) -> None:
    box_id, _ = mailbox
    ensure(session_factory, box_id, served, account)
    inbox = rows(session_factory, box_id)["INBOX"]
    expire_soon(session_factory, account, inbox, utcnow() + dt.timedelta(minutes=50))

    assert account.fake.lifecycle(inbox.subscription_id, "reauthorizationRequired") == 202

    week = utcnow() + dt.timedelta(days=6)
    assert eventually(lambda: rows(session_factory, box_id)["INBOX"].expires_on > week)
    assert fake_subscription(account, inbox.subscription_id).expiration > week  # the same subscription, renewed
    assert subscription_requests(account, "PATCH") == 1


def test_missed_notifications_ask_for_a_sync(client, admin, session_factory, served: ServedApp,
                                             account: GraphAccount, mailbox) -> None:
    box_id, _ = mailbox
    ensure(session_factory, box_id, served, account)

    assert account.fake.lifecycle(rows(session_factory, box_id)["Sent"].subscription_id, "missed") == 202

    assert requested_on(client, admin, box_id) is not None
    assert [r.mailbox_id for r in requested_syncs(session_factory)] == [box_id]


def test_a_lifecycle_event_with_a_wrong_client_state_changes_nothing(
        client, admin, session_factory, served: ServedApp, account: GraphAccount, mailbox) -> None:
    box_id, _ = mailbox
    ensure(session_factory, box_id, served, account)
    before = rows(session_factory, box_id)
    requests = len(account.fake.requests)

    for event in ("subscriptionRemoved", "reauthorizationRequired", "missed"):
        items = [{"subscriptionId": row.subscription_id, "clientState": "guessed", "lifecycleEvent": event,
                  "tenantId": account.fake.tenant_id} for row in before.values()]
        assert served.post("/api/v1/graph/lifecycle", json={"value": items}).status_code == 202

    assert requested_on(client, admin, box_id) is None
    assert {f: r.subscription_id for f, r in rows(session_factory, box_id).items()} == \
        {f: r.subscription_id for f, r in before.items()}
    assert len(account.fake.requests) == requests  # nothing was asked of Graph


def test_a_mailbox_that_may_not_sync_gets_no_subscriptions(
        client, admin, org, session_factory, served: ServedApp, graph_fake: Any) -> None:
    account = graph_account(graph_fake)
    box_id, _ = graph_mailbox(client, admin, org, session_factory, account)
    assert client.patch(f"/api/v1/mailboxes/{box_id}", json={"incoming_enabled": False},
                        headers=admin.headers).status_code == 200

    summary = ensure(session_factory, box_id, served, account)

    assert summary.skipped == "incoming sync is off for this mailbox"
    assert account.fake.subscriptions == [] and rows(session_factory, box_id) == {}
