"""Tracking from the add-in with Exchange Online: the pane's Entra ID token (signed by the fake tenant's key and
checked as any add-in token) is exchanged on-behalf-of the user for a Graph token, and the mail's MIME is read
with the user's own rights from the fake Graph, through msal and httpx as in production. The activity is the one
a Graph sync makes: the sync that follows finds it known."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from addin_manifest.auth.keys import SigningKeys
from addin_manifest.auth.obo import OnBehalfOf
from addin_manifest.auth.principal import AddinAuth
from addin_manifest.auth.tokens import TokenValidator
from mailbridge.tracking import TrackingOptions
from mailbridge.tracking.imap_sync import sync_mailbox
from tests.api import problem
from tests.mailbridge.graph_fixtures import GraphAccount, graph_account, graph_mailbox
from tests.mailbridge.tracking_fixtures import emails, mail
from tests.org import OrgBuilder, TestUser


@pytest.fixture
def account(graph_fake: Any) -> GraphAccount:
    return graph_account(graph_fake)


@pytest.fixture
def addin_app(graph_fake: Any) -> Any:
    """The CRM's own app registration in the tenant: the audience of the add-in's tokens, and the client of the
    on-behalf-of exchange."""
    return graph_fake.register_app(secret=f"addin-{uuid.uuid4().hex[:8]}")


def _auth(account: GraphAccount, addin_app: Any, *, obo: bool = True) -> AddinAuth:
    fake = account.fake
    keys = SigningKeys(authority_url=fake.base_url, client=httpx.Client(verify=account.ssl_context, timeout=10))
    return AddinAuth(
        validator=TokenValidator(client_id=addin_app.client_id, tenants=[fake.tenant_id], keys=keys),
        dev_tokens=False, ssl_context=account.ssl_context,
        obo=OnBehalfOf(addin_app.client_id, addin_app.secret, authority_url=fake.base_url, graph_url=fake.graph_url,
                       ssl_context=account.ssl_context, timeout=10) if obo else None)


@pytest.fixture
def rep(client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any, account: GraphAccount,
        addin_app: Any) -> Iterator[tuple[uuid.UUID, TestUser]]:
    box_id, user = graph_mailbox(client, admin, org, session_factory, account, incoming_filter="all")
    r = client.patch(f"/api/v1/users/{user.id}", json={"entra_tenant_id": account.fake.tenant_id,
                                                       "entra_object_id": account.box.user_id}, headers=admin.headers)
    assert r.status_code == 200, r.text
    account.fake.grant_delegated(addin_app, account.address)  # the user consented to the add-in
    client.app.state.addin_auth = _auth(account, addin_app)
    yield box_id, user
    del client.app.state.addin_auth


def _deliver(account: GraphAccount, subject: str) -> tuple[str, str]:
    graph_id = account.box.add_message(account.box.folder_id("inbox"), mail(
        sender="jane@fabrikam.example", to=account.address, subject=subject))
    return graph_id, account.box.message(graph_id).internet_message_id


def _track(client: Any, token: str, graph_id: str, message_id: str) -> Any:
    return client.post("/addin/api/track", json={"item_id": graph_id, "internet_message_id": message_id},
                       headers={"Authorization": f"Bearer {token}"})


def test_the_mail_is_read_on_behalf_of_the_user_and_sync_then_finds_it(
        client: Any, account: GraphAccount, addin_app: Any, rep: tuple[uuid.UUID, TestUser],
        session_factory: Any) -> None:
    box_id, user = rep
    # The app's own access to the mailbox is barred (an application access policy): only the user's own
    # delegated access can read it, so a tracked mail proves the on-behalf-of path.
    account.fake.restrict_app(account.app, [])
    graph_id, message_id = _deliver(account, "Quote for 40 seats")
    token = account.fake.api_token(addin_app, account.address)

    r = _track(client, token, graph_id, message_id)

    assert r.status_code == 201, r.text
    [activity] = emails(client, user)
    assert activity["id"] == r.json()["email_id"] and activity["subject"] == "Quote for 40 seats"
    assert _track(client, token, graph_id, message_id).json()["created"] is False

    account.fake.restrict_app(account.app, [account.address])
    summary = sync_mailbox(session_factory, box_id, TrackingOptions(timeout=10, ssl_context=account.ssl_context))
    assert summary.tracked == 0 and summary.duplicates == 1
    assert len(emails(client, user)) == 1


def test_without_on_behalf_of_the_mailbox_connection_reads_it(
        client: Any, account: GraphAccount, addin_app: Any, rep: tuple[uuid.UUID, TestUser]) -> None:
    client.app.state.addin_auth = _auth(account, addin_app, obo=False)
    graph_id, message_id = _deliver(account, "Read with the app's own access")
    r = _track(client, account.fake.api_token(addin_app, account.address), graph_id, message_id)
    assert r.status_code == 201, r.text


def test_consent_withdrawn_and_tokens_not_for_us(client: Any, account: GraphAccount, addin_app: Any,
                                                 rep: tuple[uuid.UUID, TestUser]) -> None:
    graph_id, message_id = _deliver(account, "No consent")
    account.fake.revoke_delegated(addin_app, account.address)
    body = problem(_track(client, account.fake.api_token(addin_app, account.address), graph_id, message_id), 403)
    assert body["title"] == "Consent required"

    other_app = account.fake.register_app(secret="other")  # a token for another app's API is not ours
    problem(_track(client, account.fake.api_token(other_app, account.address), graph_id, message_id), 401)
    problem(_track(client, account.fake.api_token(addin_app, account.address, scopes="User.Read"), graph_id,
                   message_id), 401)
    assert emails(client, rep[1]) == []


def test_a_shared_mailboxs_mail_is_read_with_the_users_delegated_access(
        client: Any, admin: TestUser, account: GraphAccount, addin_app: Any, rep: tuple[uuid.UUID, TestUser]) -> None:
    """A queue's shared mailbox in Exchange Online: the pane names it (getSharedPropertiesAsync), the server reads
    the mail on behalf of the user (Mail.Read.Shared), so it takes his Full Access to that mailbox, and records the
    queue's mailbox as where the mail was seen."""
    _, user = rep
    support = f"support-{uuid.uuid4().hex[:4]}@contoso.example"
    shared = account.fake.add_mailbox(support)
    queue = client.post("/api/v1/queues", json={"name": "Support", "email_address": support},
                        headers=admin.headers).json()
    profile = client.get("/api/v1/mailboxes", headers=admin.headers).json()["items"][0]["server_profile_id"]
    r = client.post("/api/v1/mailboxes", json={"email_address": support, "regarding_type": "queue",
                                               "regarding_id": queue["id"], "server_profile_id": profile},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    box_id = r.json()["id"]
    assert client.post(f"/api/v1/mailboxes/{box_id}/approve", headers=admin.headers).status_code == 200
    account.fake.restrict_app(account.app, [])  # the app's own access is barred: only the user's can read it
    graph_id = shared.add_message(shared.folder_id("inbox"), mail(sender="jane@fabrikam.example", to=support,
                                                                  subject="Label printer broken"))
    message_id = shared.message(graph_id).internet_message_id
    token = account.fake.api_token(addin_app, account.address)

    def track() -> Any:
        return client.post("/addin/api/track", json={"item_id": graph_id, "internet_message_id": message_id,
                                                     "mailbox": support}, headers={"Authorization": f"Bearer {token}"})

    refused = problem(track(), 403)  # no Full Access to the shared mailbox: Exchange says no, and so do we
    assert support in refused["detail"] and "Full Access" in refused["detail"]
    assert emails(client, user) == []
    shared.delegates.add(account.address)
    r = track()
    assert r.status_code == 201, r.text
    assert r.json()["mailbox_id"] == box_id
    [activity] = emails(client, admin)
    assert activity["subject"] == "Label printer broken"
