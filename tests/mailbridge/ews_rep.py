"""A salesperson on the fake Exchange server, as the EWS tests need him: his CRM user, his mailbox on the fake
(NTLM, his own login) and its approved CRM mailbox on an EWS email server profile, tracking every mail."""

import uuid
from typing import Any

from tests.api import created
from tests.fakes.ews import EwsFake, FakeMailbox
from tests.org import OrgBuilder, TestUser

PASSWORD = "Passw0rd!"


class EwsRep:
    def __init__(self, client: Any, admin: TestUser, org: OrgBuilder, fake: EwsFake) -> None:
        self.client, self.admin = client, admin
        self.address = f"rep-{uuid.uuid4().hex[:6]}@contoso.example"
        self.user = org.user(self.address, ["Salesperson"])
        login = f"CONTOSO\\{self.address.split('@')[0]}"
        self.box: FakeMailbox = fake.add_mailbox(self.address, username=login, password=PASSWORD)
        profile = created(client, admin, "email-server-profiles", {
            "name": f"Contoso Exchange {uuid.uuid4().hex[:6]}", "incoming_protocol": "ews", "auth_type": "ntlm",
            "service_url": fake.url})
        # Every mail, known sender or not: a sync that did not recognise an activity would track it again.
        mailbox = created(client, admin, "mailboxes", {
            "email_address": self.address, "regarding_type": "user", "regarding_id": str(self.user.id),
            "server_profile_id": profile["id"], "username": login, "password": PASSWORD, "incoming_filter": "all"})
        r = client.post(f"/api/v1/mailboxes/{mailbox['id']}/approve", headers=admin.headers)
        assert r.status_code == 200, r.text
        self.id = uuid.UUID(mailbox["id"])
