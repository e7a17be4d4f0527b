"""A user's consent for a delegated Graph mailbox: the consent URL (Entra ID's authorize endpoint with a sealed,
expiring state), the callback redeeming the code for a refresh token sealed on the mailbox, a sync with it;
a forged or expired state, a declined consent and a non-delegated mailbox refused with a clear reason."""

import json
import ssl
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Mailbox
from crm_core.security.principal import load_principal
from crm_core.security.secrets import keyring_of
from mailbridge.admin import consent
from mailbridge.admin.consent import complete_consent, consent_url
from mailbridge.tracking import TrackingOptions, sync_mailbox
from tests.api import problem
from tests.mailbridge.graph_fixtures import GraphAccount, graph_account, graph_mailbox, graph_profile
from tests.mailbridge.tracking_fixtures import mail
from tests.org import OrgBuilder, TestUser

REDIRECT = "https://crm.contoso.example/api/v1/mailbox-consent/callback"


@pytest.fixture
def account(graph_fake: Any) -> GraphAccount:
    return graph_account(graph_fake)


def context(account: GraphAccount) -> ssl.SSLContext:
    return account.ssl_context


@pytest.fixture
def delegated(client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any,
              account: GraphAccount) -> tuple[uuid.UUID, TestUser]:
    profile = graph_profile(client, admin, account, auth_type="delegated")
    return graph_mailbox(client, admin, org, session_factory, account, profile, incoming_filter="all")


def start(session_factory: Any, user: TestUser, box_id: uuid.UUID, account: GraphAccount) -> str:
    with UnitOfWork(session_factory) as uow:
        return consent_url(uow, load_principal(uow.session, user.id), box_id, REDIRECT,
                           ssl_context=context(account))


def test_a_user_consents_and_his_mailbox_syncs_with_his_token(client, org: OrgBuilder, session_factory,
                                                              account: GraphAccount, delegated) -> None:
    box_id, rep = delegated
    assert client.get(f"/api/v1/mailboxes/{box_id}", headers=rep.headers).json()["may_sync"] is False

    url = start(session_factory, rep, box_id, account)

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert url.startswith(f"{account.fake.authority}/oauth2/v2.0/authorize")
    assert (query["client_id"], query["redirect_uri"], query["login_hint"]) == (
        [account.app.client_id], [REDIRECT], [account.address])
    assert "offline_access" in query["scope"][0] and "Mail.ReadWrite" in query["scope"][0]
    # The user signs in and consents at Entra ID, which sends his browser back with a code and our state.
    code = account.fake.authorization_code(account.app, account.address)
    assert complete_consent(session_factory, code, query["state"][0], ssl_context=context(account)) == box_id

    shown = client.get(f"/api/v1/mailboxes/{box_id}", headers=rep.headers).json()
    assert (shown["has_oauth_refresh_token"], shown["may_sync"]) == (True, True)
    account.box.add_message(account.box.folder_id("inbox"), mail(sender="jane@fabrikam.example", to=rep.email))
    consented = stored_refresh_token(session_factory, box_id)
    summary = sync_mailbox(session_factory, box_id, TrackingOptions(timeout=10, ssl_context=context(account)))
    assert summary.tracked == 1
    # Entra ID rotated the refresh token on use: the new one is kept, so the consent outlives the old one.
    rotated = stored_refresh_token(session_factory, box_id)
    assert rotated != consented


def stored_refresh_token(session_factory: Any, box_id: uuid.UUID) -> str:
    with UnitOfWork(session_factory) as uow:
        row = uow.session.get(Mailbox, box_id)
        assert row is not None and row.oauth_refresh_token_secret is not None
        return keyring_of(uow.session).open(row.oauth_refresh_token_secret, f"mailbox:{box_id}:oauth_refresh_token")


def test_a_forged_or_expired_state_is_refused(client, session_factory, account: GraphAccount, delegated) -> None:
    box_id, _rep = delegated
    code = account.fake.authorization_code(account.app, account.address)
    problem(client.get("/api/v1/mailbox-consent/callback", params={"code": code, "state": "forged"}), 422, "state")

    with UnitOfWork(session_factory) as uow:
        stale = keyring_of(uow.session).seal(json.dumps({"mailbox": str(box_id), "redirect_uri": REDIRECT,
                                                         "expires": time.time() - 1}), consent.STATE_CONTEXT)
    body = problem(client.get("/api/v1/mailbox-consent/callback", params={"code": code, "state": stale}), 422,
                   "state")
    assert "expired" in body["detail"]
    with UnitOfWork(session_factory) as uow:
        row = uow.session.get(Mailbox, box_id)
        assert row is not None and row.oauth_refresh_token_secret is None


def test_a_declined_consent_and_a_mailbox_that_needs_none_say_so(client, admin: TestUser, org: OrgBuilder,
                                                                 session_factory, account: GraphAccount) -> None:
    declined = client.get("/api/v1/mailbox-consent/callback", params={
        "state": "x", "error": "access_denied", "error_description": "AADSTS65004: User declined to consent."})
    assert "User declined" in problem(declined, 422, "code")["detail"]

    app_box, rep = graph_mailbox(client, admin, org, session_factory, account)  # application access
    r = client.post(f"/api/v1/mailboxes/{app_box}/consent", json={"redirect_uri": REDIRECT}, headers=rep.headers)
    assert "delegated" in problem(r, 422, "mailbox")["detail"]
    other = org.user("someone@contoso.example", ["Salesperson"])
    r = client.post(f"/api/v1/mailboxes/{app_box}/consent", json={"redirect_uri": REDIRECT}, headers=other.headers)
    assert r.status_code in (403, 404)
