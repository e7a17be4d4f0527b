"""Helpers for the tracking tests: a CRM mailbox on a fresh Dovecot account (made through the API as an admin
would, approved), mail written by the test and appended over IMAP, a sync, and reads through the API."""

import email.utils
import mailbox as stdlib_mailbox
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from mailbridge.tracking import SyncSummary, TrackingOptions, sync_mailbox
from tests.api import created
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.org import OrgBuilder, TestUser

TEST_KEY = "test-secret-key"  # the `settings` fixture's CRM_SECRET_KEY, which the API sealed passwords with


@dataclass
class CrmMailbox:
    id: uuid.UUID
    user: TestUser
    account: DovecotAccount

    @property
    def address(self) -> str:
        return self.user.email


def crm_mailbox(client: Any, admin: TestUser, org: OrgBuilder, session_factory: sessionmaker[Session],
                account: DovecotAccount, *, user: TestUser | None = None, **options: Any) -> CrmMailbox:
    """A user's mailbox on `account`, approved; options as the API takes them (incoming_filter, folders...)."""
    secrets.install(session_factory, Keyring(TEST_KEY))
    user = user or org.user(f"rep-{uuid.uuid4().hex[:6]}@contoso.example", ["Salesperson"])
    profile = created(client, admin, "email-server-profiles", {
        "name": f"Dovecot {uuid.uuid4().hex[:6]}", "incoming_host": account.server.host,
        "incoming_port": account.server.port, "incoming_security": "plain",
    })
    body = {"email_address": user.email, "regarding_type": "user", "regarding_id": str(user.id),
            "server_profile_id": profile["id"], "username": account.username, "password": account.password,
            **options}
    box = created(client, admin, "mailboxes", body)
    r = client.post(f"/api/v1/mailboxes/{box['id']}/approve", headers=admin.headers)
    assert r.status_code == 200, r.text
    return CrmMailbox(uuid.UUID(box["id"]), user, account)


def mail(*, sender: str, to: str, subject: str = "Hello", body: str | None = None, cc: str | None = None,
         bcc: str | None = None, message_id: str | None = None, date: str | None = None,
         headers: dict[str, str] | None = None) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}",
             f"Message-ID: {message_id or email.utils.make_msgid(domain='example.com')}",
             f"Date: {date or email.utils.formatdate()}"]
    if cc:
        lines.append(f"Cc: {cc}")
    if bcc:
        lines.append(f"Bcc: {bcc}")
    lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
    # A body of its own by default: the same sender, second and body would be one mail to dedupe.
    body = body if body is not None else f"Hello, about {subject}."
    return ("\r\n".join(lines) + f"\r\n\r\n{body}\r\n").encode()


def append(account: DovecotAccount, raw: bytes, folder: str = "INBOX") -> int:
    response = account.client.append(folder, raw)
    return int(response.split(b"]")[0].split()[-1])


def sync(session_factory: sessionmaker[Session], box: CrmMailbox, **options: Any) -> SyncSummary:
    progress = options.pop("progress", None)
    return sync_mailbox(session_factory, box.id, TrackingOptions(timeout=10, **options), progress)


def emails(client: Any, user: TestUser, **filters: Any) -> list[dict[str, Any]]:
    r = client.get("/api/v1/activities", params={"activity_type": "email", "limit": 500, **filters},
                   headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def parties(activity: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [p for p in activity["parties"] if p["role"] == role]


def contact(client: Any, user: TestUser, first: str, last: str, address: str) -> dict[str, Any]:
    return created(client, user, "contacts", {"first_name": first, "last_name": last, "email_address1": address})


def local_mailbox(client: Any, admin: TestUser, org: OrgBuilder, session_factory: sessionmaker[Session],
                  user: TestUser | None = None, **options: Any) -> tuple[uuid.UUID, TestUser]:
    """A salesperson's mailbox (as an admin makes it through the API) for import_local, which needs no server."""
    secrets.install(session_factory, Keyring(TEST_KEY))
    rep = user or org.user(f"rep-{uuid.uuid4().hex[:6]}@contoso.example", ["Salesperson"])
    profile = created(client, admin, "email-server-profiles", {
        "name": f"Archive {uuid.uuid4().hex[:6]}", "incoming_host": "127.0.0.1", "incoming_security": "plain"})
    box = created(client, admin, "mailboxes", {
        "email_address": rep.email, "regarding_type": "user", "regarding_id": str(rep.id),
        "server_profile_id": profile["id"], "password": "unused", **options})
    return uuid.UUID(box["id"]), rep


def maildir(path: Path, messages: dict[str, list[bytes]]) -> Path:
    """A Maildir at `path` with `messages` per folder ("" is the top folder)."""
    root = stdlib_mailbox.Maildir(path, create=True)
    for folder, raws in messages.items():
        target = root if not folder else root.add_folder(folder)
        for raw in raws:
            target.add(raw)
    return path
