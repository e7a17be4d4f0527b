"""Secrets stay secret: mail and calendar passwords, Exchange client secrets, a Graph refresh token, a webhook's
signing secret and API tokens appear in no API answer (except the webhook secret, shown once in the answer that
made it, as Stripe does), in no column of any table in clear, and in no log line (text or JSON, tracebacks
included) written while a connection test and a sync fail on a wrong password or the settings are logged."""

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import LargeBinary, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.base import Base
from crm_core.settings import Settings
from mailbridge.runs.runner import run_mailbox_sync
from tests.api import created
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
SECRETS = {
    "profile password": "Prof1le-pw-5b0e7c",
    "mailbox password": "Ma1lbox-pw-a3f9d1",
    "graph client secret": "Gr4ph-client-secret-77c2",
    "ews client secret": "Ews-client-secret-0d4e9a",
    "refresh token": "0.AQ-refresh-token-e61b0f",
    "webhook secret": "whsec-signing-secret-4a8c1d92",
    "caldav password": "Cald4v-pw-19e3b7",
}


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every log record of the test at DEBUG, formatted as CRM_LOG_FORMAT=json formats it (workers/logs.py)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(process)d"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _setup(client, admin: TestUser, org: OrgBuilder, account: DovecotAccount) -> tuple[list[str], dict[str, str]]:
    """The records, made as an admin would; returns every answer's text and the ids."""
    answers: list[str] = []

    def post(collection: str, body: dict[str, Any]) -> dict[str, Any]:
        record = created(client, admin, collection, body)
        answers.append(json.dumps(record))
        return record

    rep = org.user("rep@contoso.example", ["Salesperson"])
    imap = post(
        "email-server-profiles",
        {
            "name": "Dovecot",
            "incoming_host": account.server.host,
            "incoming_port": account.server.port,
            "incoming_security": "plain",
            "username": "service",
            "password": SECRETS["profile password"],
        },
    )
    box = post(
        "mailboxes",
        {
            "email_address": rep.email,
            "regarding_type": "user",
            "regarding_id": str(rep.id),
            "server_profile_id": imap["id"],
            "username": account.username,
            "password": SECRETS["mailbox password"],
        },
    )  # not Dovecot's: the login fails
    graph = post(
        "email-server-profiles",
        {
            "name": "Graph",
            "incoming_protocol": "graph",
            "auth_type": "delegated",
            "tenant_id": "contoso.onmicrosoft.com",
            "client_id": "app-1",
            "client_secret": SECRETS["graph client secret"],
        },
    )
    post(
        "email-server-profiles",
        {
            "name": "EWS",
            "incoming_protocol": "ews",
            "auth_type": "oauth",
            "service_url": "https://10.0.0.9/EWS/Exchange.asmx",
            "tenant_id": "contoso.onmicrosoft.com",
            "client_id": "app-2",
            "client_secret": SECRETS["ews client secret"],
        },
    )
    other = org.user("other@contoso.example", ["Salesperson"])
    post(
        "mailboxes",
        {
            "email_address": other.email,
            "regarding_type": "user",
            "regarding_id": str(other.id),
            "server_profile_id": graph["id"],
            "oauth_refresh_token": SECRETS["refresh token"],
        },
    )
    post(
        "calendars",
        {
            "name": "Rep's DAV",
            "kind": "caldav",
            "url": "https://10.0.0.8/dav/rep/",
            "username": "rep",
            "password": SECRETS["caldav password"],
            "user_id": str(rep.id),
        },
    )
    hook = client.post(
        f"{API}/webhooks",
        json={
            "name": "Billing",
            "url": "https://93.184.215.14/hook",
            "events": ["record.created"],
            "secret": SECRETS["webhook secret"],
        },
        headers=admin.headers,
    )
    assert hook.status_code == 201, hook.text
    assert SECRETS["webhook secret"] in hook.text  # shown once, to the admin who set it
    r = client.post(f"{API}/mailboxes/{box['id']}/approve", headers=admin.headers)
    assert r.status_code == 200, r.text
    answers.append(r.text)
    return answers, {"box": box["id"], "imap": imap["id"], "graph": graph["id"], "hook": hook.json()["id"]}


def _reads(client, admin: TestUser, ids: dict[str, str]) -> list[str]:
    """Every read an admin has of these records: lists, items, health, runs, deliveries, updates."""
    paths = [f"{API}/{c}?limit=500" for c in ("email-server-profiles", "mailboxes", "webhooks", "calendars")]
    paths += [
        f"{API}/email-server-profiles/{ids['imap']}",
        f"{API}/email-server-profiles/{ids['graph']}",
        f"{API}/mailboxes/{ids['box']}",
        f"{API}/webhooks/{ids['hook']}",
        f"{API}/webhooks/{ids['hook']}/deliveries",
        f"{API}/mailboxes/{ids['box']}/sync-health",
        f"{API}/mailboxes/{ids['box']}/sync-runs",
        f"{API}/mailboxes/{ids['box']}/audit",
        f"{API}/email-server-profiles/{ids['imap']}/audit",
    ]
    out = []
    for path in paths:
        r = client.get(path, headers=admin.headers)
        assert r.status_code == 200, (path, r.text)
        out.append(r.text)
    r = client.patch(f"{API}/mailboxes/{ids['box']}", json={"name": "Rep"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    return [*out, r.text]


def _database_text(session_factory: sessionmaker[Session]) -> Iterator[tuple[str, str, str]]:
    """(table, column, value as text) of every non-null cell of every table."""
    with session_factory() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column in table.columns:
                    value = row[column.name]
                    if value is None:
                        continue
                    if isinstance(column.type, LargeBinary) or isinstance(value, bytes | memoryview):
                        text = bytes(value).decode("latin-1")
                    else:
                        text = value if isinstance(value, str) else json.dumps(value, default=str)
                    yield table.name, column.name, text


def test_no_secret_in_answers_database_or_logs(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount, captured: io.StringIO, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    answers, ids = _setup(client, admin, org, mailbox)
    tested = client.post(f"{API}/mailboxes/{ids['box']}/test", headers=admin.headers)
    assert tested.status_code == 200 and tested.json()["last_test"]["outcome"] == "failed", tested.text
    result = run_mailbox_sync(session_factory, uuid.UUID(ids["box"]), trigger="manual")
    assert result.outcome in ("failed", "stopped"), result
    synced = client.post(f"{API}/mailboxes/{ids['box']}/sync", headers=admin.headers)  # 409: stopped, says why
    answers += [tested.text, synced.text, *_reads(client, admin, ids)]
    tokens = [admin.token]

    for what, secret in [*SECRETS.items(), *(("api token", t) for t in tokens)]:
        assert not any(secret in a for a in answers), what
        leaks = [(t, c) for t, c, text in _database_text(session_factory) if secret in text]
        assert leaks == [], (what, leaks)
        assert secret not in captured.getvalue(), what
        assert secret not in caplog.text, what
    # The failing logins were logged, at DEBUG down to the IMAP commands: the password was not.
    assert "AUTHENTICATIONFAILED" in captured.getvalue() and "AUTHENTICATIONFAILED" in caplog.text


def test_the_settings_are_logged_redacted(tmp_path, captured: io.StringIO) -> None:
    from workers import logs

    settings = Settings(
        data_dir=tmp_path,
        secret_key="Server-secret-key-8e1f",
        metrics_token="Metrics-9a7c",
        entra_client_secret="Entra-secret-3d5b",
        log_format="json",
        log_level="DEBUG",
        database_url="postgresql+psycopg://crm:Db-pw-6c2e@db.example/crm",
        broker_url="redis://:Broker-pw-1f4a@redis.example:6379/0",
    )
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        logs.configure(settings)
        root.handlers[0].stream = stream  # type: ignore[attr-defined]
        logging.getLogger("crm").info("settings: %s", settings.redacted())
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["logger"] == "crm" and "settings" in line["message"]
    for secret in ("Server-secret-key-8e1f", "Metrics-9a7c", "Entra-secret-3d5b", "Db-pw-6c2e", "Broker-pw-1f4a"):
        assert secret not in stream.getvalue() and secret not in captured.getvalue(), secret
