"""Webhooks as an administrator and a receiver see them: events written to the outbox with the change, delivered
by the workers to a real HTTP receiver on loopback with a signature the receiver verifies, retried after a
5xx and after a 429's Retry-After, every attempt logged; loopback refused unless allowed; admins only."""

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from crm_core import network_guard, webhook_signatures
from crm_core.audit import entry_row
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import AuditEntry, WebhookDelivery
from crm_core.services.webhook_delivery import deliver_due
from crm_core.settings import Settings
from mailbridge.tracking import import_local
from tests.api import created, problem
from tests.mailbridge.tracking_fixtures import contact, emails, local_mailbox, mail, maildir
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
W = f"{API}/webhooks"
SECRET = "a-receiver-shared-secret-0123"
LOOPBACK = ["127.0.0.0/8"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny HTTP server on 127.0.0.1 answering with the scripted (status, headers) in turn, then 200."""

    url: str
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            code, headers = state.script.pop(0) if state.script else (200, {})
            payload = f"answer {code}".encode()
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/crm?source=test"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The workers' settings with loopback allowed: the receiver listens on 127.0.0.1."""
    return settings.model_copy(update={"outbound_allow": LOOPBACK})


@pytest.fixture
def api_allows_loopback(client: Any, api_app: Any, settings: Settings) -> Iterator[None]:
    """The API's settings with the same allowance, for this test only."""
    before = api_app.state.crm
    api_app.state.crm = replace(before, settings=before.settings.model_copy(update={"outbound_allow": LOOPBACK}))
    try:
        yield
    finally:
        api_app.state.crm = before


def _webhook(client, admin: TestUser, url: str, **body) -> dict:
    body.setdefault("name", "Billing sync")
    body.setdefault("events", ["record.created"])
    body.setdefault("secret", SECRET)
    return created(client, admin, "webhooks", {"url": url, **body})


def _deliveries(client, admin: TestUser, webhook: dict) -> list[dict]:
    r = client.get(f"{W}/{webhook['id']}/deliveries", headers=admin.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _pending(session_factory) -> list[WebhookDelivery]:
    with UnitOfWork(session_factory) as uow:
        rows = list(uow.session.scalars(select(WebhookDelivery).where(WebhookDelivery.status == "pending")))
        uow.session.expunge_all()
        return rows


@pytest.mark.usefixtures("api_allows_loopback")
def test_a_change_is_delivered_signed_to_the_receiver(
    client, admin: TestUser, receiver: Receiver, session_factory, settings: Settings
) -> None:
    hook = _webhook(client, admin, receiver.url, entities=["account"])
    assert hook["secret"] == SECRET  # shown in the answer that set it, and never again
    assert client.get(f"{W}/{hook['id']}", headers=admin.headers).json()["secret"] is None
    account = created(client, admin, "accounts", {"name": "Contoso"})
    created(client, admin, "contacts", {"last_name": "Not subscribed"})  # another entity: no event
    problem(client.post(f"{API}/accounts", json={"name": ""}, headers=admin.headers), 422)  # rolled back: none

    assert deliver_due(session_factory, settings) == 1
    [got] = receiver.received
    assert got.path == "/hooks/crm?source=test"
    assert got.headers["content-type"] == "application/json"
    assert webhook_signatures.verify(SECRET, got.headers["x-crm-signature"], got.body)
    assert not webhook_signatures.verify("another-secret-entirely", got.headers["x-crm-signature"], got.body)
    assert not webhook_signatures.verify(SECRET, got.headers["x-crm-signature"], got.body + b" ")
    event = json.loads(got.body)
    assert (event["type"], event["record"]) == ("record.created", {"entity": "account", "id": account["id"]})
    assert event["changes"]["name"] == {"old": None, "new": "Contoso"}
    assert got.headers["x-crm-event-id"] == event["id"]
    datetime.fromisoformat(event["occurred_on"])

    [delivery] = _deliveries(client, admin, hook)
    assert (delivery["status"], delivery["attempt_count"], delivery["event_id"]) == ("delivered", 1, event["id"])
    assert [(a["status_code"], a["response_excerpt"]) for a in delivery["attempts"]] == [(200, "answer 200")]
    assert deliver_due(session_factory, settings) == 0  # delivered once


@pytest.mark.usefixtures("api_allows_loopback")
def test_a_500_is_retried_later_and_the_log_shows_both_attempts(
    client, admin: TestUser, receiver: Receiver, session_factory, settings: Settings
) -> None:
    hook = _webhook(client, admin, receiver.url)
    created(client, admin, "accounts", {"name": "Contoso"})
    receiver.script.append((500, {}))
    t0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert deliver_due(session_factory, settings, now=t0) == 1
    [pending] = _pending(session_factory)
    retry_at = pending.next_attempt_at
    assert retry_at is not None
    # Equal-jitter back-off around the 30 s base: between 15 and 30 seconds.
    assert t0 + timedelta(seconds=15) <= retry_at <= t0 + timedelta(seconds=30)
    assert deliver_due(session_factory, settings, now=t0 + timedelta(seconds=14)) == 0  # not due yet
    assert deliver_due(session_factory, settings, now=retry_at) == 1

    [delivery] = _deliveries(client, admin, hook)
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
    assert delivery["attempts"][0]["response_excerpt"] == "answer 500"
    assert delivery["attempts"][0]["next_attempt_at"] is not None
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["x-crm-event-id"] == receiver.received[1].headers["x-crm-event-id"]


@pytest.mark.usefixtures("api_allows_loopback")
def test_a_429_is_retried_after_its_retry_after(
    client, admin: TestUser, receiver: Receiver, session_factory, settings: Settings
) -> None:
    hook = _webhook(client, admin, receiver.url)
    created(client, admin, "accounts", {"name": "Contoso"})
    receiver.script.append((429, {"Retry-After": "120"}))
    t0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    deliver_due(session_factory, settings, now=t0)
    [pending] = _pending(session_factory)
    assert pending.next_attempt_at == t0 + timedelta(seconds=120)
    [delivery] = _deliveries(client, admin, hook)
    assert [(a["status_code"], a["next_attempt_at"]) for a in delivery["attempts"]] == [
        (429, (t0 + timedelta(seconds=120)).isoformat().replace("+00:00", "Z"))
    ]


@pytest.mark.usefixtures("api_allows_loopback")
def test_after_the_last_attempt_a_delivery_fails_and_a_4xx_is_not_retried(
    client, admin: TestUser, receiver: Receiver, session_factory, settings: Settings
) -> None:
    hook = _webhook(client, admin, receiver.url)
    created(client, admin, "accounts", {"name": "Contoso"})
    receiver.script.extend([(503, {})] * 3)
    few = settings.model_copy(update={"webhook_max_attempts": 3})
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for _ in range(3):
        deliver_due(session_factory, few, now=now)
        now += timedelta(days=1)
    [delivery] = _deliveries(client, admin, hook)
    assert (delivery["status"], delivery["attempt_count"]) == ("failed", 3)
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 503]
    assert delivery["attempts"][-1]["next_attempt_at"] is None

    created(client, admin, "accounts", {"name": "Fabrikam"})
    receiver.script.append((410, {}))
    deliver_due(session_factory, settings, now=now)
    newest = _deliveries(client, admin, hook)[0]
    assert (newest["status"], [a["status_code"] for a in newest["attempts"]]) == ("failed", [410])


@pytest.mark.usefixtures("api_allows_loopback")
def test_case_resolved_and_email_tracked_events(
    client, org: OrgBuilder, admin: TestUser, receiver: Receiver, session_factory, settings: Settings, tmp_path: Path
) -> None:
    _webhook(client, admin, receiver.url, events=["case.resolved", "email.tracked"])
    account = created(client, admin, "accounts", {"name": "Contoso"})
    case = created(
        client, admin, "cases", {"title": "Broken", "customer_type": "account", "customer_id": account["id"]}
    )
    r = client.post(f"{API}/cases/{case['id']}/resolve", json={"subject": "Fixed"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    # A mail tracked by the sync pipeline (its batches write their audit entries in bulk, past the flush hook).
    box_id, rep = local_mailbox(client, admin, org, session_factory)
    contact(client, rep, "Jane", "Doe", "jane@customer.example")
    path = maildir(
        tmp_path / "Maildir", {"": [mail(sender="jane@customer.example", to=rep.email, subject="Invoice question")]}
    )
    assert import_local(session_factory, box_id, path).tracked == 1
    [tracked_email] = emails(client, rep)

    deliver_due(session_factory, settings)
    events = sorted((json.loads(g.body)["type"], json.loads(g.body)["record"]["id"]) for g in receiver.received)
    assert events == [("case.resolved", case["id"]), ("email.tracked", tracked_email["id"])]
    tracked_event = next(json.loads(g.body) for g in receiver.received if b"email.tracked" in g.body)
    assert tracked_event["changes"]["subject"]["new"] == "Invoice question"


def test_bulk_audit_entries_reach_the_outbox_too(
    client, admin: TestUser, session_factory, api_allows_loopback: None, receiver: Receiver
) -> None:
    _webhook(client, admin, receiver.url, events=["email.tracked"])
    email_id = uuid.uuid4()
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(
            insert(AuditEntry),
            [
                entry_row(
                    uow.session,
                    "activity",
                    email_id,
                    "create",
                    {"subject": [None, "Invoice"], "tracking.fingerprint": [None, "abc"]},
                )
            ],
        )
        uow.rollback()  # the event goes with the change it reports
    assert _pending(session_factory) == []
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(
            insert(AuditEntry),
            [
                entry_row(
                    uow.session,
                    "activity",
                    email_id,
                    "create",
                    {"subject": [None, "Invoice"], "tracking.fingerprint": [None, "abc"]},
                )
            ],
        )
        uow.commit()
    assert [(d.event_type, d.record_id) for d in _pending(session_factory)] == [("email.tracked", email_id)]


@pytest.mark.usefixtures("api_allows_loopback")
def test_send_test_event_posts_at_once(client, admin: TestUser, receiver: Receiver) -> None:
    hook = _webhook(client, admin, receiver.url)
    r = client.post(f"{W}/{hook['id']}/test", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["event_type"], r.json()["status"]) == ("webhook.test", "delivered")
    [got] = receiver.received
    assert json.loads(got.body)["type"] == "webhook.test"
    assert webhook_signatures.verify(SECRET, got.headers["x-crm-signature"], got.body)


def test_loopback_and_metadata_urls_are_refused_without_the_allowance(
    client, admin: TestUser, receiver: Receiver, session_factory, settings: Settings
) -> None:
    for url in (
        receiver.url,
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "ftp://example.com/",
    ):
        body = {"name": "x", "url": url, "events": ["record.created"]}
        problem(client.post(W, json=body, headers=admin.headers), 422, "url")
    assert client.get(W, headers=admin.headers).json()["items"] == []


def test_the_address_is_checked_again_at_delivery(
    client, api_app, admin: TestUser, receiver: Receiver, session_factory, settings: Settings
) -> None:
    before = api_app.state.crm
    api_app.state.crm = replace(before, settings=settings)
    try:
        hook = _webhook(client, admin, receiver.url)
    finally:
        api_app.state.crm = before
    created(client, admin, "accounts", {"name": "Contoso"})
    deliver_due(session_factory, settings.model_copy(update={"outbound_allow": []}))
    assert receiver.received == []
    [delivery] = _deliveries(client, admin, hook)
    assert delivery["status"] == "failed"
    assert "loopback" in delivery["attempts"][0]["error"]


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return {"inside.example": ["93.184.216.34", "192.168.1.5"], "public.example": ["93.184.216.34"]}[host]

    with pytest.raises(network_guard.OutboundRefused):
        network_guard.check_url("https://inside.example/x", (), resolver=resolver)
    target = network_guard.check_url("https://public.example:8443/x", (), resolver=resolver)
    assert (target.address, target.port, target.host) == ("93.184.216.34", 8443, "public.example")
    allowed = network_guard.parse_allow(["192.168.1.0/24"])
    network_guard.check_url("https://inside.example/x", allowed, resolver=resolver)
    with pytest.raises(network_guard.OutboundRefused):  # IPv4-mapped loopback is loopback
        network_guard.check_url("http://[::ffff:127.0.0.1]/", ())


def test_only_administrators_and_customizers_keep_webhooks(
    client, org: OrgBuilder, admin: TestUser, api_allows_loopback: None, receiver: Receiver
) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    body = {"name": "x", "url": receiver.url, "events": ["record.created"]}
    problem(client.post(W, json=body, headers=seller.headers), 403)
    problem(client.get(W, headers=seller.headers), 403)
    hook = _webhook(client, admin, receiver.url)
    problem(client.get(f"{W}/{hook['id']}/deliveries", headers=seller.headers), 403)
    problem(client.post(f"{W}/{hook['id']}/test", headers=seller.headers), 403)
    customizer = org.user("custom@example.com", ["System Customizer"])
    assert client.get(f"{W}/{hook['id']}", headers=customizer.headers).status_code == 200
    problem(client.post(W, json={**body, "events": ["record.exploded"]}, headers=customizer.headers), 422, "events")
    problem(client.post(W, json={**body, "secret": "short"}, headers=customizer.headers), 422, "secret")
    trail = client.get(f"{W}/{hook['id']}/audit", headers=admin.headers).json()
    assert trail[0]["changes"]["secret_secret"] == [None, "***"]


@pytest.mark.usefixtures("api_allows_loopback")
def test_the_beat_scheduled_task_delivers_the_outbox(
    client, admin: TestUser, receiver: Receiver, settings: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers import runtime, tasks
    from workers.beat_schedule import beat_schedule

    assert beat_schedule(settings)["deliver-webhooks"]["task"] == tasks.deliver_webhooks.name
    _webhook(client, admin, receiver.url)
    created(client, admin, "accounts", {"name": "Contoso"})
    for key, value in {
        "CRM_DATABASE_URL": settings.database_url,
        "CRM_SECRET_KEY": "test-secret-key",
        "CRM_DATA_DIR": str(tmp_path / "var"),
        "CRM_OUTBOUND_ALLOW": json.dumps(LOOPBACK),
    }.items():
        monkeypatch.setenv(key, value)
    runtime.reset()
    try:
        assert tasks.deliver_webhooks() == 1
    finally:
        runtime.reset()
    [got] = receiver.received
    assert webhook_signatures.verify(SECRET, got.headers["x-crm-signature"], got.body)
