"""Folder-level tracking against a real Dovecot (and the fake Graph): a mail the user moves into the tracked
"CRM" folder is tracked although the mailbox's filter skipped it, and linked to the rule's account; one tracked
already is re-linked there (audited, its former link kept as a candidate); a second pass changes nothing; the
block list still wins; moving a mail out untracks nothing."""

import uuid
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import AuditEntry
from mailbridge.tracking import SyncSummary, TrackingOptions, sync_mailbox
from tests.api import created
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.graph_fixtures import graph_account, graph_mailbox
from tests.mailbridge.tracking_fixtures import CrmMailbox, append, contact, crm_mailbox, emails, mail, sync
from tests.org import OrgBuilder, TestUser
from workers.cli import app


def track_folder(
    client: Any, user: TestUser, mailbox_id: uuid.UUID, folder: str, regarding: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"folder": folder}
    if regarding is not None:
        body |= {"regarding_type": "account", "regarding_id": regarding["id"]}
    r = client.post(f"/api/v1/mailboxes/{mailbox_id}/folder-tracking-rules", json=body, headers=user.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def move(account: DovecotAccount, subject: str, source: str = "INBOX", target: str = "CRM") -> None:
    """What the user's mail program does: IMAP MOVE of the mail with that subject."""
    account.client.select_folder(source)
    uids = account.client.search(["SUBJECT", subject])
    assert uids, f"no {subject!r} in {source}"
    account.client.move(uids, target)
    account.client.unselect_folder()


def by_subject(client: Any, user: TestUser) -> dict[str, dict[str, Any]]:
    return {e["subject"]: e for e in emails(client, user)}


def rep_mailbox(
    client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any, account: DovecotAccount
) -> CrmMailbox:
    account.client.create_folder("CRM")
    return crm_mailbox(client, admin, org, session_factory, account, incoming_filter="known_records", folders=["INBOX"])


def test_a_mail_moved_into_the_tracked_folder_is_tracked_regarding_its_account_once(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount
) -> None:
    box = rep_mailbox(client, admin, org, session_factory, mailbox)
    contoso = created(client, box.user, "accounts", {"name": "Contoso"})
    track_folder(client, box.user, box.id, "CRM", contoso)
    append(mailbox, mail(sender="stranger@elsewhere.example", to=box.address, subject="Tender"))

    first = sync(session_factory, box)
    assert first.folders["INBOX"].skipped_by_reason == {"not_known_records": 1}
    assert emails(client, box.user) == []

    move(mailbox, "Tender")
    second = sync(session_factory, box)

    assert (second.folders["CRM"].fetched, second.folders["CRM"].tracked) == (1, 1)
    tender = by_subject(client, box.user)["Tender"]
    assert (tender["regarding_type"], tender["regarding_id"]) == ("account", contoso["id"])
    timeline = client.get(f"/api/v1/accounts/{contoso['id']}/timeline", headers=box.user.headers).json()["items"]
    assert [item["id"] for item in timeline] == [tender["id"]]

    third = sync(session_factory, box)
    assert (third.fetched, third.tracked, third.duplicates) == (0, 0, 0)
    assert len(emails(client, box.user)) == 1


def test_a_tracked_mail_moved_there_is_relinked_and_moving_it_out_keeps_it(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount
) -> None:
    box = rep_mailbox(client, admin, org, session_factory, mailbox)
    contact(client, box.user, "Jane", "Doe", "jane@customer.example")
    contoso = created(client, box.user, "accounts", {"name": "Contoso"})
    fabrikam = created(client, box.user, "accounts", {"name": "Fabrikam"})
    track_folder(client, box.user, box.id, "CRM", contoso)
    append(mailbox, mail(sender="jane@customer.example", to=box.address, subject="Order"))
    assert sync(session_factory, box).tracked == 1
    order = by_subject(client, box.user)["Order"]
    r = client.post(
        f"/api/v1/activities/{order['id']}/relink",
        json={"regarding_type": "account", "regarding_id": fabrikam["id"]},
        headers=box.user.headers,
    )
    assert r.status_code == 200, r.text

    move(mailbox, "Order")
    summary = sync(session_factory, box)

    assert (summary.folders["CRM"].duplicates, summary.folders["CRM"].tracked, summary.folders["INBOX"].vanished) == (
        1,
        0,
        1,
    )
    order = by_subject(client, box.user)["Order"]
    assert (order["regarding_type"], order["regarding_id"]) == ("account", contoso["id"])
    link = client.get(f"/api/v1/activities/{order['id']}/link", headers=box.user.headers).json()
    assert (link["signal"], link["confidence"]) == ("manual", 1.0)
    assert [(c["id"], c["previous"]) for c in link["candidates"]] == [(fabrikam["id"], True)]
    with UnitOfWork(session_factory) as uow:
        moves = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.record_id == uuid.UUID(order["id"]), AuditEntry.action == "folder_link")
        ).all()
        assert [e.changes["regarding_id"] for e in moves] == [[fabrikam["id"], contoso["id"]]]

    # Out of the folder again: still tracked, still regarding Contoso (as Dynamics documents).
    move(mailbox, "Order", source="CRM", target="INBOX")
    again = sync(session_factory, box)
    assert again.folders["CRM"].vanished == 1
    assert (by_subject(client, box.user)["Order"]["regarding_id"]) == contoso["id"]
    assert len(emails(client, box.user)) == 1


def test_the_block_list_still_wins_in_a_tracked_folder(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount
) -> None:
    box = rep_mailbox(client, admin, org, session_factory, mailbox)
    track_folder(client, box.user, box.id, "CRM")
    append(mailbox, mail(sender="ceo@private.example", to=box.address, subject="Personal"), "CRM")
    append(mailbox, mail(sender="buyer@customer.example", to=box.address, subject="Unlinked"), "CRM")

    summary = sync(session_factory, box, block_list=("private.example",))

    assert summary.folders["CRM"].skipped_by_reason == {"blocked": 1}
    unlinked = by_subject(client, box.user)
    assert set(unlinked) == {"Unlinked"}  # a rule without a record tracks, links nothing
    assert unlinked["Unlinked"]["regarding_id"] is None


def test_a_mail_in_a_tracked_graph_folder_is_tracked(
    client, admin: TestUser, org: OrgBuilder, session_factory, graph_fake
) -> None:
    account = graph_account(graph_fake)
    crm = account.box.create_folder("CRM")
    box_id, rep = graph_mailbox(
        client, admin, org, session_factory, account, incoming_filter="crm_replies", folders=["INBOX"]
    )
    contoso = created(client, rep, "accounts", {"name": "Contoso"})
    track_folder(client, rep, box_id, "CRM", contoso)
    account.box.add_message(
        account.box.folder_id("inbox"), mail(sender="a@fabrikam.example", to=rep.email, subject="Inbox only")
    )
    moved = account.box.add_message(
        account.box.folder_id("inbox"), mail(sender="b@fabrikam.example", to=rep.email, subject="Proposal")
    )
    account.box.move(moved, crm)

    summary: SyncSummary = sync_mailbox(
        session_factory, box_id, TrackingOptions(timeout=10, ssl_context=account.ssl_context)
    )

    assert (summary.folders["INBOX"].skipped, summary.folders["CRM"].tracked) == (1, 1)
    proposal = by_subject(client, rep)["Proposal"]
    assert (set(by_subject(client, rep)), proposal["regarding_id"]) == ({"Proposal"}, contoso["id"])
    assert "Tracked to CRM" in account.box.message(moved).categories


def test_crm_mailbox_track_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a fresh SQLite for the CLI, whichever database the suite runs on
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert (
        runner.invoke(
            app, ["user", "create", "--email", "rep@contoso.example", "--name", "Rita Rep", "--role", "Salesperson"]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            app,
            [
                "mailbox",
                "profile",
                "add",
                "--name",
                "Local",
                "--incoming-host",
                "127.0.0.1",
                "--incoming-security",
                "plain",
            ],
        ).exit_code
        == 0
    )
    r = runner.invoke(
        app,
        [
            "mailbox",
            "add",
            "--address",
            "rep@contoso.example",
            "--profile",
            "Local",
            "--user",
            "rep@contoso.example",
            "--password-stdin",
        ],
        input="secret\n",
    )
    assert r.exit_code == 0, r.output

    r = runner.invoke(app, ["mailbox", "track-folder", "rep@contoso.example", "CRM"])
    assert r.exit_code == 0 and "tracks its folder 'CRM'" in r.output, r.output
    r = runner.invoke(
        app, ["mailbox", "track-folder", "rep@contoso.example", "Deals", "--regarding", f"account:{uuid.uuid4()}"]
    )
    assert r.exit_code == 1 and "regarding_id: no account" in r.output, r.output
    r = runner.invoke(app, ["mailbox", "track-folder", "rep@contoso.example", "Deals", "--regarding", "account"])
    assert r.exit_code == 1 and "--regarding" in r.output, r.output
