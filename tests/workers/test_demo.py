"""`crm demo load`: a whole organisation on a clean database, loaded once, that each demo user sees through
his own roles."""

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from crm_core import hooks
from crm_core.db import migrate
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import (
    Account,
    Activity,
    ActivityParty,
    AuditEntry,
    BusinessUnit,
    Case,
    Contact,
    Email,
    Lead,
    Mailbox,
    ResourceBooking,
    ServiceActivity,
    TrackedMessage,
)
from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from crm_core.settings import Settings
from workers import demo, demo_data
from workers.cli import app

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def _load(factory: sessionmaker[Session], **kwargs: object) -> demo.DemoResult | None:
    with UnitOfWork(factory) as uow:
        return demo.load(uow, **kwargs)  # type: ignore[arg-type]


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def loaded(session_factory: sessionmaker[Session], clean_db: Engine) -> demo.DemoResult:
    result = _load(session_factory)
    assert result is not None
    return result


def _names(client: "TestClient", token: str, collection: str, field: str) -> set[str]:
    response = client.get(f"/api/v1/{collection}", params={"limit": 500},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {item[field] for item in response.json()["items"]}


def _env(settings: Settings) -> dict[str, str]:
    return {"CRM_DATABASE_URL": settings.database_url, "CRM_DATA_DIR": str(settings.data_dir),
            "CRM_SECRET_KEY": "test-secret-key", "COLUMNS": "120"}


def test_the_cli_loads_the_demo_on_a_clean_database_and_prints_how_to_use_it(
    settings: Settings, clean_db: Engine, session_factory: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(app, ["demo", "load"], env=_env(settings))

    assert result.exit_code == 0, result.output
    assert "Contoso Ltd" in result.output
    for user in demo_data.USERS:
        assert user.email in result.output
    assert f"http://{settings.host}:{settings.port}" in result.output
    assert 'curl -H "Authorization: Bearer $CRM_TOKEN"' in result.output
    assert _count(session_factory, Account) == len(demo_data.ACCOUNTS)
    assert _count(session_factory, Contact) == 40
    assert _count(session_factory, Lead) == len(demo_data.LEADS)
    # The demo's activities, and the mail its import tracked (workers/demo_mail.py: 7 messages, one of which
    # is the Sent copy of an email the CRM sent, met again rather than tracked twice).
    assert "mail: 6 emails tracked (7 messages imported, 1 already in the CRM), 1 case opened" in result.output
    # And one service activity, booked on the service calendar at the first time its technician and a bay are free.
    assert "1 booked service activity" in result.output
    assert _count(session_factory, Activity) == len(demo_data.ACTIVITIES) + 6 + 1
    with session_factory() as session:
        [booking] = session.scalars(select(ServiceActivity)).all()
        assert booking.service_id is not None and booking.statuscode == 4  # Reserved, the default
        assert session.scalar(select(func.count()).select_from(ResourceBooking)) == 2  # the technician and a bay


def test_a_second_load_with_if_empty_does_nothing_and_without_it_is_refused(
    settings: Settings, loaded: demo.DemoResult, session_factory: sessionmaker[Session]
) -> None:
    models = (Account, Contact, Lead, Activity, BusinessUnit, Mailbox, TrackedMessage, Case)
    before = [_count(session_factory, m) for m in models]
    assert before[-3:] == [2, 7, 1]  # the demo's mail is there: two mailboxes, each message met once, a case

    skipped = CliRunner().invoke(app, ["demo", "load", "--if-empty"], env=_env(settings))
    assert skipped.exit_code == 0, skipped.output
    assert "the demo was not loaded" in skipped.output
    assert _load(session_factory, if_empty=True) is None

    refused = CliRunner().invoke(app, ["demo", "load"], env=_env(settings))
    assert refused.exit_code == 1
    assert "is loaded already" in refused.output
    assert "Traceback" not in refused.output

    after = [_count(session_factory, m) for m in models]
    assert after == before


def test_each_token_sees_what_its_roles_give(settings: Settings, loaded: demo.DemoResult) -> None:
    from fastapi.testclient import TestClient

    from workers.app import create_app

    tokens = {u.key: loaded.tokens[u.email] for u in demo_data.USERS}
    owned_in = {unit: {a.name for a in demo_data.ACCOUNTS if a.owner in keys} for unit, keys in {
        "Sales": ("manager", "sales", demo_data.TEAM), "Sales West": ("west",), "Service": ("service",),
    }.items()}
    with TestClient(create_app(settings)) as client:
        everything = _names(client, tokens["admin"], "accounts", "name")
        assert everything == {a.name for a in demo_data.ACCOUNTS}
        # Salespeople read their own business unit only (team-owned records included); the manager reads
        # his unit and the one below it.
        assert _names(client, tokens["sales"], "accounts", "name") == owned_in["Sales"]
        assert _names(client, tokens["west"], "accounts", "name") == owned_in["Sales West"]
        assert _names(client, tokens["manager"], "accounts", "name") == owned_in["Sales"] | owned_in["Sales West"]
        assert _names(client, tokens["service"], "accounts", "name") == owned_in["Service"]
        assert len(_names(client, tokens["west"], "contacts", "full_name")) < len(
            _names(client, tokens["admin"], "contacts", "full_name"))

        assert len(_names(client, tokens["west"], "activities", "subject")) < len(
            _names(client, tokens["admin"], "activities", "subject"))

        fabrikam = client.get("/api/v1/accounts", params={"name": "Fabrikam, Inc."},
                              headers={"Authorization": f"Bearer {tokens['admin']}"}).json()["items"][0]
        hidden = client.get(f"/api/v1/accounts/{fabrikam['id']}",
                            headers={"Authorization": f"Bearer {tokens['west']}"})
        assert hidden.status_code == 404
        assert hidden.headers["content-type"] == "application/problem+json"

        timeline = client.get(f"/api/v1/accounts/{fabrikam['id']}/timeline",
                              headers={"Authorization": f"Bearer {tokens['manager']}"})
        assert timeline.status_code == 200, timeline.text
        items = timeline.json()["items"]
        regarding = {a.subject for a in demo_data.ACTIVITIES if a.regarding == "account:fabrikam"}
        assert regarding <= {i["subject"] for i in items}
        assert [i["occurred_on"] for i in items] == sorted((i["occurred_on"] for i in items), reverse=True)


def test_records_went_through_the_services(loaded: demo.DemoResult, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        fabrikam = session.execute(select(Account).where(Account.name == "Fabrikam, Inc.")).scalar_one()
        europe = session.execute(select(Account).where(Account.name == "Fabrikam Europe GmbH")).scalar_one()
        contacts = list(session.scalars(select(Contact)))
        # Created by their owner, so the audit trail names him.
        assert fabrikam.created_by_id == fabrikam.owning_user_id is not None
        assert europe.parent_account_id == fabrikam.id
        assert fabrikam.primary_contact_id in {c.id for c in contacts if c.parent_account_id == fabrikam.id}
        assert len(fabrikam.addresses) == 2
        # Emails were typed as "Olivia.Anderson@..." and normalised by the contact service.
        assert all(c.email_address1 == c.email_address1.lower() for c in contacts)
        assert any(c.email_address2 for c in contacts)
        assert any(len(c.addresses) == 2 for c in contacts)
        assert any(c.birth_date for c in contacts)
        team_owned = session.scalars(select(Account).where(Account.owning_team_id.is_not(None))).all()
        assert {a.name for a in team_owned} == {a.name for a in demo_data.ACCOUNTS if a.owner == demo_data.TEAM}
        entries = session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.record_id == fabrikam.id))
        assert entries and entries >= 2  # created, then given its primary contact


def test_activities_of_every_kind_with_parties_around_now(
    loaded: demo.DemoResult, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        activities = list(session.scalars(select(Activity)))
        parties = list(session.scalars(select(ActivityParty)))
    assert {a.activity_type for a in activities} >= {"phone_call", "email", "task", "appointment", "letter", "fax"}
    # Tracked mail is regarding the case email-to-case opened, or nothing when it starts no thread (linked to its
    # parties only).
    assert {a.regarding_type for a in activities} == {"account", "contact", "lead", "case", None}
    now = utcnow()
    assert any(a.statecode == 1 and a.occurred_on < now for a in activities)
    assert any(a.statecode in (0, 3) and a.occurred_on > now for a in activities)
    emails = {a.id for a in activities if a.activity_type == "email"}
    assert any(p.activity_id in emails and p.party_type == "contact" for p in parties)
    assert any(p.party_type is None and p.address_used for p in parties)  # a bare, unresolved address
    assert any(p.participation == 5 for p in parties)  # required attendees of appointments


def test_the_content_is_the_same_on_every_load(
    loaded: demo.DemoResult, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'again.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        factory = secrets.install(hooks.install(make_session_factory(engine)), Keyring("another-key"))
        _load(factory)
        query = select(Contact.full_name, Contact.email_address1, Contact.birth_date).order_by(Contact.email_address1)
        mail = select(Email.subject, Email.message_id, Email.in_reply_to, Email.tracking_token).order_by(
            Email.subject, Email.message_id)
        with session_factory() as first, factory() as second:
            assert first.execute(query).all() == second.execute(query).all()
            assert first.execute(mail).all() == second.execute(mail).all()
    finally:
        engine.dispose()
