"""A mailbox's folder-level tracking rules through the API: its user and the admins list, add and remove them,
nobody else sees them, a bad regarding record is refused with the field named, and a tracked folder is synced
beside the mailbox's own folders."""

import uuid

from sqlalchemy import select

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import AuditEntry, Mailbox
from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from crm_core.services.mailboxes import connection_of
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

M = "/api/v1/mailboxes"
TEST_KEY = "test-secret-key"  # the `settings` fixture's CRM_SECRET_KEY


def _mailbox(client, admin: TestUser, owner: TestUser) -> dict:
    profile = created(
        client,
        admin,
        "email-server-profiles",
        {"name": f"Contoso mail {uuid.uuid4().hex[:6]}", "incoming_host": "imap.contoso.example"},
    )
    return created(
        client,
        admin,
        "mailboxes",
        {
            "email_address": owner.email,
            "regarding_type": "user",
            "regarding_id": str(owner.id),
            "server_profile_id": profile["id"],
            "password": "pw",
            "folders": ["INBOX", "Sent"],
        },
    )


def _rules(box: dict) -> str:
    return f"{M}/{box['id']}/folder-tracking-rules"


def test_the_mailbox_user_tracks_folders_and_nobody_else_sees_them(client, admin: TestUser, org: OrgBuilder) -> None:
    rep = org.user("rep@contoso.example", ["Salesperson"])
    other = org.user("other@contoso.example", ["Salesperson"])
    box = _mailbox(client, admin, rep)
    account = created(client, rep, "accounts", {"name": "Contoso"})

    r = client.post(
        _rules(box),
        json={"folder": "CRM/Contoso", "regarding_type": "account", "regarding_id": account["id"]},
        headers=rep.headers,
    )
    assert r.status_code == 201, r.text
    linked = r.json()
    assert (linked["folder"], linked["regarding_type"], linked["regarding_id"]) == (
        "CRM/Contoso",
        "account",
        account["id"],
    )
    plain = client.post(_rules(box), json={"folder": "CRM"}, headers=admin.headers)
    assert plain.status_code == 201, plain.text
    assert plain.json()["regarding_id"] is None

    listed = client.get(_rules(box), headers=rep.headers)
    assert [r["folder"] for r in listed.json()] == ["CRM", "CRM/Contoso"]
    problem(client.post(_rules(box), json={"folder": "crm"}, headers=rep.headers), 409)

    for method, url, body in (
        ("GET", _rules(box), None),
        ("POST", _rules(box), {"folder": "Mine"}),
        ("DELETE", f"{_rules(box)}/{linked['id']}", None),
    ):
        problem(client.request(method, url, json=body, headers=other.headers), 404)

    assert client.delete(f"{_rules(box)}/{linked['id']}", headers=rep.headers).status_code == 204
    problem(client.delete(f"{_rules(box)}/{linked['id']}", headers=rep.headers), 404)
    assert [r["folder"] for r in client.get(_rules(box), headers=admin.headers).json()] == ["CRM"]


def test_a_bad_regarding_record_is_refused_with_its_field(client, admin: TestUser, org: OrgBuilder) -> None:
    rep = org.user("rep@contoso.example", ["Salesperson"])
    box = _mailbox(client, admin, rep)
    url = _rules(box)

    problem(
        client.post(
            url,
            json={"folder": "CRM", "regarding_type": "account", "regarding_id": str(uuid.uuid4())},
            headers=rep.headers,
        ),
        422,
        "regarding_id",
    )
    problem(
        client.post(
            url,
            json={"folder": "CRM", "regarding_type": "planet", "regarding_id": str(uuid.uuid4())},
            headers=rep.headers,
        ),
        422,
        "regarding_type",
    )
    problem(
        client.post(url, json={"folder": "CRM", "regarding_type": "account"}, headers=rep.headers), 422, "regarding_id"
    )
    problem(client.post(url, json={"folder": "  "}, headers=rep.headers), 422, "folder")
    problem(client.post(url, json={"folder": "x" * 201}, headers=rep.headers), 422)
    assert client.get(url, headers=rep.headers).json() == []
    problem(client.get(f"{M}/{uuid.uuid4()}/folder-tracking-rules", headers=admin.headers), 404)


def test_tracked_folders_are_synced_beside_the_mailbox_folders_and_audited(
    client, admin: TestUser, org: OrgBuilder, session_factory
) -> None:
    secrets.install(session_factory, Keyring(TEST_KEY))
    rep = org.user("rep@contoso.example", ["Salesperson"])
    box = _mailbox(client, admin, rep)
    for folder in ("CRM", "sent"):  # "sent" is among the mailbox's folders already: read once
        assert client.post(_rules(box), json={"folder": folder}, headers=rep.headers).status_code == 201

    with UnitOfWork(session_factory) as uow:
        mailbox = uow.session.get(Mailbox, uuid.UUID(box["id"]))
        assert mailbox is not None
        assert connection_of(uow.session, mailbox).folders == ("INBOX", "Sent", "CRM")
        trail = uow.session.scalars(select(AuditEntry).where(AuditEntry.record_id == mailbox.id)).all()
        assert any(any(k.startswith("tracking_folder.") and k.endswith(".folder") for k in e.changes) for e in trail)
