"""What operations see: /healthz, /readyz (database at the latest schema, broker reachable), /metrics for
Prometheus (read from the database, so it speaks for every worker; locked to loopback or a token), and logs as
one JSON object per line that carry the settings without their secrets."""

import dataclasses
import io
import json
import logging

import pytest
from pydantic import SecretStr

from crm_core.settings import Settings
from mailbridge.runs import run_mailbox_sync
from mailbridge.tracking import TrackingOptions
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import append, crm_mailbox, mail
from tests.org import OrgBuilder
from workers import logs


def _metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{wanted}}} in:\n{text}")


def test_ready_when_the_database_is_at_the_latest_schema(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_not_ready_when_the_broker_does_not_answer(client) -> None:
    app = client.app
    saved = app.state.crm
    unreachable = saved.settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    app.state.crm = dataclasses.replace(saved, settings=unreachable)
    try:
        r = client.get("/readyz")
    finally:
        app.state.crm = saved
    assert r.status_code == 503 and r.json()["checks"]["broker"].startswith("unavailable")


def test_metrics_count_synced_mail_runs_and_lag_per_mailbox(client, org: OrgBuilder, session_factory,
                                                           mailbox: DovecotAccount) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all", name="Sales inbox")
    for n in range(2):
        append(mailbox, mail(sender="jane@fabrikam.example", to=box.address, subject=f"Order {n}"))
    run_mailbox_sync(session_factory, box.id, options=TrackingOptions(timeout=10, parse_workers=0))

    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert _metric(text, "crm_mail_messages_synced_total", connector="imap") == 2
    assert _metric(text, "crm_mailbox_sync_runs_total", connector="imap", outcome="succeeded") == 1
    assert _metric(text, "crm_mailbox_sync_run_seconds_count", connector="imap") == 1
    assert _metric(text, "crm_mailbox_sync_stage", mailbox="Sales inbox", stage="idle") == 1
    assert 0 <= _metric(text, "crm_mailbox_sync_lag_seconds", mailbox="Sales inbox") < 60


def test_metrics_need_the_token_when_one_is_set(client) -> None:
    app = client.app
    saved = app.state.crm
    app.state.crm = dataclasses.replace(saved, settings=saved.settings.model_copy(
        update={"metrics_token": SecretStr("scrape-me")}))
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
    finally:
        app.state.crm = saved


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_logs_are_one_object_per_line_without_secrets(tmp_path, restore_logging, monkeypatch) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="very-secret-key", log_format="json",
                        database_url="postgresql://crm:db-password@db.example/crm",
                        broker_url="amqp://crm:broker-password@mq.example//")
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    logs.configure(settings)
    logging.getLogger("mailbridge.runs").info("mailbox %s: run %s", "m-1", "succeeded")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert lines[-1]["message"] == "mailbox m-1: run succeeded" and lines[-1]["logger"] == "mailbridge.runs"
    text = stream.getvalue()
    for secret in ("very-secret-key", "db-password", "broker-password"):
        assert secret not in text
