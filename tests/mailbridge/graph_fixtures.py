"""The Graph side of the mail tests: a mailbox on the fake Graph server (tests/fakes/graph) and the settings
our Graph source reads it with, and a CRM mailbox on a Graph email server profile, made through the API as an
admin would (application access with the app's secret, approved)."""

import functools
import ssl
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from mailbridge.sources.graph import GraphLimits, GraphSettings
from tests.api import created
from tests.org import OrgBuilder, TestUser

TEST_KEY = "test-secret-key"
# Waits short enough for a test, long enough that a Retry-After of a few seconds is still honoured.
TEST_LIMITS = GraphLimits(max_wait=3.0, backoff=0.05)


@dataclass
class GraphAccount:
    fake: Any  # tests.fakes.graph.GraphFake
    app: Any
    box: Any
    address: str

    @functools.cached_property
    def ssl_context(self) -> ssl.SSLContext:
        """One client context trusting the fake, as a process has one: msal's client is kept per context."""
        return ssl.create_default_context(cafile=str(self.fake.ca_file))

    def settings(self, folders: tuple[str, ...] = ("INBOX",), **more: Any) -> GraphSettings:
        values: dict[str, Any] = {
            "user": self.address, "tenant_id": self.fake.tenant_id, "client_id": self.app.client_id,
            "client_secret": self.app.secret, "graph_url": self.fake.graph_url,
            "authority_url": self.fake.base_url, "folders": folders, "timeout": 10.0,
            "ssl_context": self.ssl_context, "limits": TEST_LIMITS, **more}
        return GraphSettings(**values)


def graph_account(fake: Any, address: str | None = None) -> GraphAccount:
    address = address or f"rep-{uuid.uuid4().hex[:6]}@contoso.example"
    app = fake.register_app(secret=f"secret-{uuid.uuid4().hex[:8]}")
    return GraphAccount(fake, app, fake.add_mailbox(address), address)


def graph_profile(client: Any, admin: TestUser, account: GraphAccount, **body: Any) -> dict[str, Any]:
    values = {"name": f"Exchange Online {uuid.uuid4().hex[:6]}", "incoming_protocol": "graph",
              "auth_type": "application", "tenant_id": account.fake.tenant_id, "client_id": account.app.client_id,
              "client_secret": account.app.secret, "service_url": account.fake.graph_url,
              "authority_url": account.fake.base_url, "mark_category": "Tracked to CRM", **body}
    return created(client, admin, "email-server-profiles", values)


def graph_mailbox(client: Any, admin: TestUser, org: OrgBuilder, session_factory: sessionmaker[Session],
                  account: GraphAccount, profile: dict[str, Any] | None = None,
                  **options: Any) -> tuple[uuid.UUID, TestUser]:
    """The CRM mailbox of a salesperson whose address is the fake mailbox's, approved."""
    secrets.install(session_factory, Keyring(TEST_KEY))
    rep = org.user(account.address, ["Salesperson"])
    profile = profile or graph_profile(client, admin, account)
    box = created(client, admin, "mailboxes", {
        "email_address": account.address, "regarding_type": "user", "regarding_id": str(rep.id),
        "server_profile_id": profile["id"], **options})
    r = client.post(f"/api/v1/mailboxes/{box['id']}/approve", headers=admin.headers)
    assert r.status_code == 200, r.text
    return uuid.UUID(box["id"]), rep
