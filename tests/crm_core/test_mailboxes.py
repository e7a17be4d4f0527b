"""Email server profiles and mailboxes through the API: what an admin sets up, what a user may change of his own
mailbox, approval before sync, and secrets that are sealed at rest, never returned, audited or logged."""

import json
import logging
import uuid

import pytest
from sqlalchemy import select

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import AuditEntry, Mailbox
from crm_core.security import secrets
from crm_core.security.secrets import Keyring, SecretUnavailable
from crm_core.services.mailboxes import connection_of, rekey
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

P, M = "/api/v1/email-server-profiles", "/api/v1/mailboxes"
MAILBOX_PASSWORD = "Mailbox-pw-7f3a9c"  # what the tests look for everywhere it must not be
PROFILE_PASSWORD = "Profile-pw-2b8e41"
TEST_KEY = "test-secret-key"  # the `settings` fixture's CRM_SECRET_KEY


def _profile(client, admin: TestUser, name: str = "Contoso mail", **body) -> dict:
    values = {"name": name, "incoming_host": "imap.contoso.example", "outgoing_host": "smtp.contoso.example"}
    return created(client, admin, "email-server-profiles", {**values, **body})


def _mailbox(client, admin: TestUser, profile: dict, regarding_id: uuid.UUID | str, **body) -> dict:
    values = {"email_address": "rep@contoso.example", "regarding_type": "user", "regarding_id": str(regarding_id),
              "server_profile_id": profile["id"], "password": MAILBOX_PASSWORD}
    return created(client, admin, "mailboxes", {**values, **body})


def _approve(client, admin: TestUser, mailbox: dict) -> dict:
    r = client.post(f"{M}/{mailbox['id']}/approve", headers=admin.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


# --- profiles ------------------------------------------------------------------------------------------------
def test_a_profile_keeps_its_servers_and_hides_its_password(client, admin: TestUser) -> None:
    profile = _profile(client, admin, username="svc@contoso.example", password=PROFILE_PASSWORD,
                       incoming_port=993, max_concurrent_connections=8)
    assert (profile["incoming_protocol"], profile["incoming_security"], profile["outgoing_security"]) == \
        ("imap", "tls", "starttls")
    assert (profile["has_password"], profile["state"], profile["max_concurrent_connections"]) == (True, "Active", 8)
    assert "password" not in profile and PROFILE_PASSWORD not in json.dumps(profile)
    r = client.patch(f"{P}/{profile['id']}", json={"password": None}, headers=admin.headers)
    assert r.json()["has_password"] is False
    problem(client.post(P, json={"name": "Contoso mail", "incoming_host": "imap.other.example"},
                        headers=admin.headers), 409)


def test_an_unknown_protocol_is_refused_clearly(client, admin: TestUser) -> None:
    body = problem(client.post(P, json={"name": "X", "incoming_host": "h.example", "incoming_protocol": "pop3"},
                               headers=admin.headers), 422, "incoming_protocol")
    assert "imap" in body["detail"] and "graph" in body["detail"]


def test_plain_connections_only_to_loopback(client, admin: TestUser) -> None:
    problem(client.post(P, json={"name": "Clear", "incoming_host": "imap.contoso.example",
                                 "incoming_security": "plain"}, headers=admin.headers), 422, "incoming_security")
    problem(client.post(P, json={"name": "Clear", "incoming_host": "imap.contoso.example",
                                 "outgoing_host": "smtp.contoso.example", "outgoing_security": "plain"},
                        headers=admin.headers), 422, "outgoing_security")
    problem(client.post(P, json={"name": "Odd", "incoming_host": "imap contoso"}, headers=admin.headers),
            422, "incoming_host")
    local = _profile(client, admin, "Local", incoming_host="127.0.0.1", incoming_security="plain")
    assert local["incoming_security"] == "plain"


def test_only_admins_see_and_change_profiles(client, admin: TestUser, org: OrgBuilder) -> None:
    profile = _profile(client, admin)
    rep = org.user("rep@contoso.example", ["Salesperson"])
    assert client.get(P, headers=rep.headers).status_code == 403
    assert client.get(f"{P}/{profile['id']}", headers=rep.headers).status_code == 403
    problem(client.post(P, json={"name": "Mine", "incoming_host": "h.example"}, headers=rep.headers), 403)


# --- mailboxes -----------------------------------------------------------------------------------------------
def test_a_new_mailbox_has_dynamics_defaults_and_waits_for_approval(client, admin: TestUser, org: OrgBuilder) -> None:
    rep = org.user("rep@contoso.example", ["Salesperson"])
    profile = _profile(client, admin)
    box = _mailbox(client, admin, profile, rep.id, email_address="Rep@CONTOSO.example")
    assert (box["email_address"], box["name"], box["regarding_type"], box["regarding_id"]) == \
        ("rep@contoso.example", "rep@contoso.example", "user", str(rep.id))
    assert box["folders"] == ["INBOX", "Sent"]
    assert (box["incoming_filter"], box["keep_content"], box["unknown_senders"]) == \
        ("known_records", "everything", "keep_address")
    assert (box["incoming_enabled"], box["outgoing_enabled"]) == (True, True)  # the profile has an SMTP server
    assert (box["approval_status"], box["may_sync"]) == ("pending", False)
    assert "approval" in box["sync_blocked_reason"]
    assert (box["has_password"], box["has_oauth_refresh_token"], box["last_test"]) == (True, False, None)

    queue = created(client, admin, "queues", {"name": "Support", "email_address": "support@contoso.example"})
    support = _mailbox(client, admin, profile, queue["id"], regarding_type="queue", name="Support",
                       email_address="support@contoso.example", folders=["INBOX"])
    assert (support["regarding_type"], support["incoming_filter"], support["folders"]) == ("queue", "all", ["INBOX"])


def test_mailbox_rules(client, admin: TestUser, org: OrgBuilder) -> None:
    rep = org.user("rep@contoso.example", ["Salesperson"])
    other = org.user("other@contoso.example", ["Salesperson"])
    profile = _profile(client, admin)
    inbound_only = _profile(client, admin, "Inbound only", outgoing_host=None)
    _mailbox(client, admin, profile, rep.id)

    def post(**body) -> object:
        values = {"email_address": "other@contoso.example", "regarding_type": "user", "regarding_id": str(other.id),
                  "server_profile_id": profile["id"], **body}
        return client.post(M, json=values, headers=admin.headers)

    problem(post(email_address="REP@contoso.example"), 409)  # the same address, normalised
    problem(post(regarding_id=str(rep.id)), 409)  # one mailbox per user
    problem(post(email_address="not an address"), 422, "email_address")
    problem(post(regarding_id=str(uuid.uuid4())), 422, "regarding_id")
    problem(post(server_profile_id=str(uuid.uuid4())), 422, "server_profile_id")
    problem(post(server_profile_id=inbound_only["id"], outgoing_enabled=True), 422, "outgoing_enabled")
    problem(post(folders=[]), 422, "folders")
    problem(post(folders=["INBOX", " "]), 422, "folders[1]")
    problem(post(incoming_filter="everything"), 422, "incoming_filter")
    problem(post(password=""), 422, "password")
    r = post(server_profile_id=inbound_only["id"])
    assert r.status_code == 201 and r.json()["outgoing_enabled"] is False  # the profile cannot send
    problem(client.patch(f"{M}/{r.json()['id']}", json={"incoming_enabled": None}, headers=admin.headers),
            422, "incoming_enabled")


def test_approval_then_sync_is_allowed_and_a_new_address_needs_it_again(client, admin: TestUser,
                                                                        org: OrgBuilder) -> None:
    rep = org.user("rep@contoso.example", ["Salesperson"])
    profile = _profile(client, admin)
    box = _mailbox(client, admin, profile, rep.id)
    problem(client.post(f"{M}/{box['id']}/approve", headers=rep.headers), 403)  # not by its own user
    box = _approve(client, admin, box)
    assert (box["approval_status"], box["approved_by_id"], box["may_sync"]) == ("approved", str(admin.id), True)
    assert box["approved_on"] is not None and box["sync_blocked_reason"] is None
    problem(client.post(f"{M}/{box['id']}/approve", headers=admin.headers), 409)

    r = client.patch(f"{M}/{box['id']}", json={"incoming_enabled": False}, headers=rep.headers)
    assert (r.json()["may_sync"], r.json()["sync_blocked_reason"]) == (False, "incoming sync is off for this mailbox")
    r = client.patch(f"{M}/{box['id']}", json={"incoming_enabled": True, "email_address": "rita@contoso.example"},
                     headers=rep.headers)
    assert (r.json()["approval_status"], r.json()["approved_by_id"], r.json()["may_sync"]) == ("pending", None, False)
    box = _approve(client, admin, box)
    assert box["may_sync"] is True

    assert client.post(f"{P}/{profile['id']}/deactivate", headers=admin.headers).status_code == 200
    box = client.get(f"{M}/{box['id']}", headers=admin.headers).json()
    assert (box["may_sync"], box["sync_blocked_reason"]) == \
        (False, "the email server profile 'Contoso mail' is inactive")


def test_without_any_password_a_mailbox_may_not_sync(client, admin: TestUser, org: OrgBuilder) -> None:
    rep = org.user("rep@contoso.example", ["Salesperson"])
    profile = _profile(client, admin)
    box = _approve(client, admin, _mailbox(client, admin, profile, rep.id, password=None))
    assert (box["has_password"], box["may_sync"]) == (False, False)
    assert "no password" in box["sync_blocked_reason"]
    client.patch(f"{P}/{profile['id']}", json={"password": PROFILE_PASSWORD}, headers=admin.headers)
    assert client.get(f"{M}/{box['id']}", headers=admin.headers).json()["may_sync"] is True  # the profile's


def test_a_user_changes_his_own_mailbox_options_and_nobody_else_sees_it(client, admin: TestUser,
                                                                       org: OrgBuilder) -> None:
    rep = org.user("rep@contoso.example", ["Salesperson"])
    boss = org.user("boss@contoso.example", ["Sales Manager"])
    profile = _profile(client, admin)
    box = _mailbox(client, admin, profile, rep.id)
    queue = created(client, admin, "queues", {"name": "Support"})
    support = _mailbox(client, admin, profile, queue["id"], regarding_type="queue", email_address="s@contoso.example")

    assert client.get(f"{M}/{box['id']}", headers=rep.headers).status_code == 200
    assert [m["id"] for m in client.get(M, headers=rep.headers).json()["items"]] == [box["id"]]
    r = client.patch(f"{M}/{box['id']}", json={"folders": ["INBOX", "Sent", "Customers"], "keep_content": "subject",
                                               "incoming_filter": "crm_replies", "password": "New-pw-1"},
                     headers=rep.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["folders"][-1], r.json()["keep_content"], r.json()["incoming_filter"]) == \
        ("Customers", "subject", "crm_replies")
    problem(client.patch(f"{M}/{box['id']}", json={"server_profile_id": profile["id"]}, headers=rep.headers), 403)
    problem(client.patch(f"{M}/{box['id']}", json={"regarding_type": "queue", "regarding_id": queue["id"]},
                         headers=rep.headers), 403)
    problem(client.delete(f"{M}/{box['id']}", headers=rep.headers), 403)
    problem(client.post(M, json={"email_address": "x@contoso.example", "regarding_type": "user",
                                 "regarding_id": str(rep.id), "server_profile_id": profile["id"]},
                        headers=rep.headers), 403)
    for stranger, mailbox in ((boss, box), (rep, support)):
        problem(client.get(f"{M}/{mailbox['id']}", headers=stranger.headers), 404)
        problem(client.patch(f"{M}/{mailbox['id']}", json={"folders": ["INBOX"]}, headers=stranger.headers), 404)
    assert client.get(M, headers=boss.headers).json()["items"] == []
    assert len(client.get(M, headers=admin.headers).json()["items"]) == 2
    assert client.delete(f"{M}/{support['id']}", headers=admin.headers).status_code == 204


# --- secrets -------------------------------------------------------------------------------------------------
def test_secrets_are_sealed_at_rest_never_returned_audited_or_logged(client, admin: TestUser, org: OrgBuilder,
                                                                     session_factory,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rep = org.user("rep@contoso.example", ["Salesperson"])
    profile = _profile(client, admin, username="svc@contoso.example", password=PROFILE_PASSWORD)
    box = _mailbox(client, admin, profile, rep.id, oauth_refresh_token="refresh-token-91c2")
    client.patch(f"{M}/{box['id']}", json={"password": MAILBOX_PASSWORD + "-2"}, headers=rep.headers)
    refused = client.post(M, json={"email_address": "x@contoso.example", "regarding_type": "user",
                                   "regarding_id": str(rep.id), "server_profile_id": profile["id"],
                                   "password": MAILBOX_PASSWORD, "folders": []}, headers=admin.headers)
    problem(refused, 422, "folders")
    plaintexts = (MAILBOX_PASSWORD, PROFILE_PASSWORD, "refresh-token-91c2")

    answers = [refused.text, client.get(M, headers=admin.headers).text, client.get(P, headers=admin.headers).text,
               client.get(f"{M}/{box['id']}", headers=rep.headers).text]
    with UnitOfWork(session_factory) as uow:
        row = uow.session.get(Mailbox, uuid.UUID(box["id"]))
        assert row is not None and row.password_secret is not None and row.oauth_refresh_token_secret is not None
        ciphertexts = (row.password_secret, row.oauth_refresh_token_secret)
        audit = [json.dumps(e.changes) for e in uow.session.scalars(select(AuditEntry))]
        opened = Keyring(TEST_KEY).open(row.password_secret, f"mailbox:{row.id}:password")
    assert opened == MAILBOX_PASSWORD + "-2"  # sealed, and only the right key and place open it
    assert all(c.startswith(f"v1.{Keyring(TEST_KEY).current_id}.") for c in ciphertexts)
    assert not any(p in c for p in plaintexts for c in ciphertexts)

    trail = client.get(f"{M}/{box['id']}/audit", headers=admin.headers).json()
    assert [e["changes"]["password_secret"] for e in trail if "password_secret" in e["changes"]] == \
        [["***", "***"], [None, "***"]]  # newest first: changed, then set; never the value
    for text in [*answers, *audit, caplog.text]:
        for secret in (*plaintexts, *ciphertexts):
            assert secret not in text


def test_rotation_old_secrets_open_with_the_previous_key_and_rekey_moves_them(client, admin: TestUser,
                                                                             org: OrgBuilder,
                                                                             session_factory) -> None:
    rep = org.user("rep@contoso.example", ["Salesperson"])
    profile = _profile(client, admin, password=PROFILE_PASSWORD)
    box = _mailbox(client, admin, profile, rep.id)
    rotated = Keyring("a-brand-new-key", [TEST_KEY])
    secrets.install(session_factory, rotated)
    try:
        with UnitOfWork(session_factory) as uow:
            mailbox = uow.session.get(Mailbox, uuid.UUID(box["id"]))
            assert mailbox is not None
            assert connection_of(uow.session, mailbox).incoming.password == MAILBOX_PASSWORD
            assert rekey(uow.session, rotated) == 2  # the mailbox's password and the profile's
            uow.commit()
        secrets.install(session_factory, Keyring("a-brand-new-key"))  # the former key dropped
        with UnitOfWork(session_factory) as uow:
            mailbox = uow.session.get(Mailbox, uuid.UUID(box["id"]))
            assert mailbox is not None
            assert connection_of(uow.session, mailbox).incoming.password == MAILBOX_PASSWORD
            assert rekey(uow.session, Keyring("a-brand-new-key")) == 0
        secrets.install(session_factory, Keyring(TEST_KEY))  # a server that never had the new key
        with UnitOfWork(session_factory) as uow:
            mailbox = uow.session.get(Mailbox, uuid.UUID(box["id"]))
            assert mailbox is not None
            with pytest.raises(SecretUnavailable, match="CRM_PREVIOUS_SECRET_KEYS"):
                connection_of(uow.session, mailbox)
    finally:
        secrets.install(session_factory, Keyring(TEST_KEY))


def test_a_sealed_secret_opens_only_where_it_was_sealed() -> None:
    keyring = Keyring(TEST_KEY)
    token = keyring.seal("pw", "mailbox:1:password")
    assert keyring.open(token, "mailbox:1:password") == "pw"
    for context in ("mailbox:2:password", "mailbox:1:oauth_refresh_token"):
        with pytest.raises(SecretUnavailable):
            keyring.open(token, context)
    assert token != keyring.seal("pw", "mailbox:1:password")  # a fresh nonce each time
    assert "pw" not in repr(keyring) and TEST_KEY not in repr(keyring)


def test_a_users_mailbox_moves_with_him_to_another_business_unit(client, admin: TestUser, org: OrgBuilder) -> None:
    branch = org.unit("Branch")
    rep = org.user("rep@contoso.example", ["Salesperson"], branch)
    box = _mailbox(client, admin, _profile(client, admin), rep.id)
    assert box["business_unit_id"] == str(branch)
    r = client.patch(f"/api/v1/users/{rep.id}", json={"business_unit_id": str(org.root_id)}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert client.get(f"{M}/{box['id']}", headers=admin.headers).json()["business_unit_id"] == str(org.root_id)
