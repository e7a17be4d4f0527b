"""Tracking the mail in view from the add-in, against a real Dovecot: the server reads the mail from the mailbox
itself (by its Message-ID), makes the activity sync would make, and a later sync finds it known; repeated calls
change nothing; untrack, re-track, create a contact, a lead or a case from the mail; mailboxes the user does not
work are refused. Signed in with the development mode's CRM tokens (the Entra ID path is test_track_graph.py's)."""

import email.utils
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from addin_manifest.auth.principal import AddinAuth
from crm_core.models import MailSighting
from mailbridge.tracking.options import TrackingOptions
from tests.api import created, problem
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import CrmMailbox, append, crm_mailbox, emails, mail, sync
from tests.org import OrgBuilder, TestUser

SENDER = "jane@fabrikam.example"


@pytest.fixture
def dev_mode(client: Any) -> Iterator[None]:
    client.app.state.addin_auth = AddinAuth(validator=None, dev_tokens=True)
    yield
    del client.app.state.addin_auth


@pytest.fixture
def box(client: Any, org: OrgBuilder, admin: TestUser, session_factory: sessionmaker[Session],
        mailbox: DovecotAccount, dev_mode: None) -> CrmMailbox:
    return crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="known_records")


def _delivered(box: CrmMailbox, *, sender: str = SENDER, subject: str = "Quote for 40 seats") -> str:
    message_id = email.utils.make_msgid(domain="fabrikam.example")
    append(box.account, mail(sender=f"Jane Doe <{sender}>", to=box.address, subject=subject, message_id=message_id))
    return message_id


def _track(client: Any, user: TestUser, message_id: str, **body: Any) -> Any:
    return client.post("/addin/api/track", json={"item_id": "AAMkAGI2-rest_id", "internet_message_id": message_id,
                                                 **body}, headers=user.headers)


def _sightings(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(MailSighting)) or 0)


def test_tracking_makes_the_activity_sync_would_make_and_sync_then_finds_it(
        client: Any, org: OrgBuilder, admin: TestUser, session_factory: sessionmaker[Session], box: CrmMailbox) -> None:
    rep = box.user
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe", "email_address1": SENDER})
    deal = created(client, admin, "opportunities", {"name": "40 seats", "currency_code": "USD",
                                                    "customer_type": "contact", "customer_id": jane["id"]})
    message_id = _delivered(box)

    r = _track(client, rep, message_id, regarding={"type": "opportunity", "id": deal["id"]})

    assert r.status_code == 201, r.text
    out = r.json()
    assert out["created"] is True and out["mailbox_id"] == str(box.id)
    assert out["regarding"] == {"type": "opportunity", "id": deal["id"], "name": "40 seats"}
    [activity] = emails(client, rep)
    assert activity["id"] == out["email_id"] and activity["subject"] == "Quote for 40 seats"
    assert activity["regarding_id"] == deal["id"]
    # The parties are resolved as sync resolves them: Jane is the sender, as her contact.
    ctx = client.get("/addin/api/context", params={"sender": SENDER, "internet_message_id": message_id},
                     headers=rep.headers).json()
    assert ctx["tracked"]["email_id"] == out["email_id"] and ctx["tracked"]["regarding"]["name"] == "40 seats"

    again = _track(client, rep, message_id, regarding={"type": "opportunity", "id": deal["id"]})
    assert again.status_code == 200 and again.json()["email_id"] == out["email_id"]
    assert again.json()["created"] is False

    seen = _sightings(session_factory)
    summary = sync(session_factory, box)
    assert summary.tracked == 0 and summary.duplicates == 1  # the same mail: one activity, one more sighting
    assert _sightings(session_factory) == seen + 1
    assert [e["id"] for e in emails(client, rep)] == [out["email_id"]]


def test_a_mail_sync_tracked_already_only_gets_its_regarding(
        client: Any, org: OrgBuilder, admin: TestUser, session_factory: sessionmaker[Session], box: CrmMailbox) -> None:
    created(client, admin, "contacts", {"last_name": "Doe", "email_address1": SENDER})
    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    message_id = _delivered(box)
    assert sync(session_factory, box).tracked == 1
    [before] = emails(client, box.user)

    r = _track(client, box.user, message_id, regarding={"type": "account", "id": account["id"]})

    assert r.status_code == 200 and r.json()["email_id"] == before["id"] and r.json()["created"] is False
    [after] = emails(client, box.user)
    assert after["regarding_id"] == account["id"]


def test_a_person_may_track_what_the_mailbox_filter_leaves_but_not_what_is_blocked(
        client: Any, org: OrgBuilder, admin: TestUser, session_factory: sessionmaker[Session], box: CrmMailbox) -> None:
    message_id = _delivered(box, sender="stranger@unknown.example")
    assert sync(session_factory, box).tracked == 0  # known records only: sync leaves a stranger's mail

    r = _track(client, box.user, message_id)
    assert r.status_code == 201, r.text
    assert r.json()["regarding"] is None

    client.app.state.addin_tracking_options = lambda: TrackingOptions(timeout=10, block_list=("hr.example",))
    try:
        blocked = _delivered(box, sender="boss@hr.example")
        body = problem(_track(client, box.user, blocked), 422)
    finally:
        del client.app.state.addin_tracking_options
    assert "block list" in body["detail"]


def test_untrack_then_track_again(client: Any, org: OrgBuilder, admin: TestUser, session_factory: sessionmaker[Session],
                                  box: CrmMailbox) -> None:
    created(client, admin, "contacts", {"last_name": "Doe", "email_address1": SENDER})
    message_id = _delivered(box)
    first = _track(client, box.user, message_id).json()["email_id"]

    r = client.delete("/addin/api/track", params={"internet_message_id": message_id}, headers=box.user.headers)

    assert r.status_code == 204
    assert emails(client, box.user) == []
    assert sync(session_factory, box).tracked == 0  # untracked: sync leaves it too
    problem(client.delete("/addin/api/track", params={"internet_message_id": message_id},
                          headers=box.user.headers), 404)
    again = _track(client, box.user, message_id)
    assert again.status_code == 201 and again.json()["email_id"] != first
    assert len(emails(client, box.user)) == 1


def test_create_a_contact_a_lead_and_a_case_from_the_mail(client: Any, org: OrgBuilder, box: CrmMailbox) -> None:
    rep = box.user
    message_id = _delivered(box, sender="new.person@northwind.example")
    base = {"item_id": None, "internet_message_id": message_id}

    r = client.post("/addin/api/contacts", json={**base, "email": "new.person@northwind.example",
                                                  "first_name": "New", "last_name": "Person"}, headers=rep.headers)
    assert r.status_code == 201, r.text
    contact = r.json()
    assert contact["record"]["type"] == "contact" and contact["record"]["name"] == "New Person"
    assert contact["tracked"]["regarding"]["id"] == contact["record"]["id"]

    lead_body = {**base, "email": "new.person@northwind.example", "last_name": "Person",
                 "subject": "Wants 40 seats", "company_name": "Northwind", "track": False}
    duplicate = problem(client.post("/addin/api/leads", json=lead_body, headers=rep.headers), 409)
    assert "duplicate" in duplicate["detail"]
    lead = client.post("/addin/api/leads", json={**lead_body, "ignore_duplicates": True}, headers=rep.headers)
    assert lead.status_code == 201 and lead.json()["tracked"] is None and lead.json()["record"]["type"] == "lead"

    case = client.post("/addin/api/cases", json={**base, "title": "Printer jam", "customer": {
        "type": "contact", "id": contact["record"]["id"]}}, headers=org.user(
            f"agent-{uuid.uuid4().hex[:4]}@contoso.example", ["Customer Service Representative"]).headers)
    assert case.status_code in (403, 409)  # an agent may not use the rep's mailbox
    case = client.post("/addin/api/cases", json={**base, "title": "Printer jam", "customer": {
        "type": "contact", "id": contact["record"]["id"]}}, headers=rep.headers)
    assert case.status_code == 201, case.text
    out = case.json()
    assert out["number"] and out["tracked"]["regarding"] == {"type": "case", "id": out["record"]["id"],
                                                             "name": "Printer jam"}
    [activity] = emails(client, rep)
    assert activity["regarding_id"] == out["record"]["id"]


def test_mailboxes_the_user_does_not_work_are_refused(client: Any, org: OrgBuilder, box: CrmMailbox) -> None:
    message_id = _delivered(box)
    other = org.user(f"other-{uuid.uuid4().hex[:4]}@contoso.example", ["Salesperson"])

    problem(_track(client, other, message_id), 409)  # he has no CRM mailbox
    problem(_track(client, other, message_id, mailbox=box.address), 403)  # someone else's
    problem(_track(client, box.user, message_id, mailbox="nobody@contoso.example"), 409)
    assert "Message-ID" in problem(_track(client, box.user, "<not-there@example.com>"), 404)["detail"]
    problem(_track(client, box.user, "   "), 422)
    problem(client.post("/addin/api/track", json={"internet_message_id": message_id}), 401)


def test_a_mail_in_a_queues_shared_mailbox_is_tracked_from_that_mailbox_by_its_members_only(
        client: Any, org: OrgBuilder, admin: TestUser, session_factory: sessionmaker[Session],
        mailbox: DovecotAccount, dev_mode: None) -> None:
    """Outlook shows a shared mailbox's item with its owner (getSharedPropertiesAsync): the pane sends that address,
    and the server reads the mail from the queue's CRM mailbox and records that mailbox as where it was seen."""
    agent = org.user(f"agent-{uuid.uuid4().hex[:4]}@contoso.example", ["Customer Service Representative"])
    outsider = org.user(f"rep-{uuid.uuid4().hex[:4]}@contoso.example", ["Salesperson"])
    support = f"support-{uuid.uuid4().hex[:4]}@contoso.example"
    queue = created(client, admin, "queues", {"name": "Support", "email_address": support, "queue_view_type": 1})
    r = client.put(f"/api/v1/queues/{queue['id']}/members", json={"user_ids": [str(agent.id)]},
                   headers=admin.headers)
    assert r.status_code == 200, r.text
    shared = crm_mailbox(client, admin, org, session_factory, mailbox, user=agent, regarding_type="queue",
                         regarding_id=queue["id"], email_address=support)
    message_id = _delivered(CrmMailbox(shared.id, agent, mailbox), subject="Label printer broken")

    refused = problem(_track(client, outsider, message_id, mailbox=support.upper()), 403)
    assert "private queue" in refused["detail"]
    r = _track(client, agent, message_id, mailbox=support.upper())  # as Outlook may spell it
    assert r.status_code == 201, r.text
    assert r.json()["mailbox_id"] == str(shared.id)
    with session_factory() as session:
        seen = session.scalars(select(MailSighting.mailbox_id)).all()
    assert seen == [shared.id]
    [activity] = client.get("/api/v1/activities", params={"activity_type": "email"},
                            headers=admin.headers).json()["items"]
    assert activity["subject"] == "Label printer broken"


def test_cors_answers_the_addin_origins_only_and_only_on_its_api(client: Any) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    own = client.app.state.crm.settings.base_url
    r = client.options("/addin/api/track", headers={"Origin": own, **preflight})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == own
    assert "authorization" in r.headers["access-control-allow-headers"].lower()

    r = client.options("/addin/api/track", headers={"Origin": "https://evil.example", **preflight})
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
    r = client.get("/api/v1/accounts", headers={"Origin": own})
    assert "access-control-allow-origin" not in r.headers  # the REST API stays same-origin
