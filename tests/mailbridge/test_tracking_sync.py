"""Tracking a mailbox on a real Dovecot: the first sync makes email activities linked to the contacts they
are from and to, an incremental sync adds only what is new, a UIDVALIDITY change and a killed pass rerun
without loss or duplicates, and one mail seen by two mailboxes is one activity with the parties of both."""

import uuid

import pytest
from sqlalchemy import func, select

from crm_core.models import MailSighting, TrackedMessage
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import append, contact, crm_mailbox, emails, mail, parties, sync
from tests.org import OrgBuilder, TestUser


def test_first_sync_tracks_mail_with_known_contacts(client, admin: TestUser, org: OrgBuilder, session_factory,
                                                   mailbox: DovecotAccount) -> None:
    box = crm_mailbox(client, admin, org, session_factory, mailbox)  # known_records, INBOX and Sent
    jane = contact(client, box.user, "Jane", "Doe", "jane@customer.example")
    append(mailbox, mail(sender="Jane Doe <Jane@Customer.example>", to=box.address, subject="Quote please"))
    append(mailbox, mail(sender="Someone <someone@elsewhere.example>", to=box.address, subject="Lunch?"))
    append(mailbox, mail(sender=box.address, to="jane@customer.example", subject="Re: Quote please"), "Sent")

    summary = sync(session_factory, box)

    assert (summary.fetched, summary.tracked, summary.skipped, summary.quarantined) == (3, 2, 1, 0)
    assert summary.folders["INBOX"].skipped_by_reason == {"not_known_records": 1}
    tracked = {e["subject"]: e for e in emails(client, box.user)}
    assert set(tracked) == {"Quote please", "Re: Quote please"}
    incoming, outgoing = tracked["Quote please"], tracked["Re: Quote please"]
    assert (incoming["direction_outgoing"], incoming["status"]) == (False, "Received")
    assert (outgoing["direction_outgoing"], outgoing["status"]) == (True, "Sent")
    assert parties(incoming, "sender") == [{**parties(incoming, "sender")[0], "party_type": "contact",
                                            "party_id": jane["id"], "name": "Jane Doe"}]
    assert [(p["party_type"], p["party_id"]) for p in parties(incoming, "to")] == [("user", str(box.user.id))]
    assert [p["party_id"] for p in parties(outgoing, "to")] == [jane["id"]]
    assert {incoming["owner_id"], outgoing["owner_id"]} == {str(box.user.id)}
    timeline = client.get(f"/api/v1/contacts/{jane['id']}/timeline", headers=box.user.headers).json()["items"]
    assert {item["id"] for item in timeline} == {incoming["id"], outgoing["id"]}


def test_incremental_sync_adds_only_new_mail(client, admin: TestUser, org: OrgBuilder, session_factory,
                                            any_mailbox: DovecotAccount) -> None:
    box = crm_mailbox(client, admin, org, session_factory, any_mailbox, incoming_filter="all", folders=["INBOX"])
    append(any_mailbox, mail(sender="a@customer.example", to=box.address, subject="one"))
    assert sync(session_factory, box).tracked == 1
    append(any_mailbox, mail(sender="b@customer.example", to=box.address, subject="two"))
    second = sync(session_factory, box)
    assert (second.fetched, second.tracked) == (1, 1)
    third = sync(session_factory, box)
    assert (third.fetched, third.tracked) == (0, 0)
    assert sorted(e["subject"] for e in emails(client, box.user)) == ["one", "two"]


def test_a_uidvalidity_change_resyncs_without_duplicates(client, admin: TestUser, org: OrgBuilder,
                                                        session_factory, mailbox: DovecotAccount) -> None:
    mailbox.client.create_folder("Customers")
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all", folders=["Customers"])
    raws = [mail(sender=f"c{i}@customer.example", to=box.address, subject=f"mail {i}") for i in range(3)]
    for raw in raws:
        append(mailbox, raw, "Customers")
    assert sync(session_factory, box).tracked == 3
    old_uidvalidity = mailbox.client.folder_status("Customers", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    mailbox.client.delete_folder("Customers")  # the folder is recreated: its UIDs mean nothing any more
    mailbox.client.create_folder("Customers")
    assert mailbox.client.folder_status("Customers", [b"UIDVALIDITY"])[b"UIDVALIDITY"] != old_uidvalidity
    for raw in [*raws, mail(sender="new@customer.example", to=box.address, subject="mail 3")]:
        append(mailbox, raw, "Customers")

    summary = sync(session_factory, box)

    folder = summary.folders["Customers"]
    assert folder.full_resync
    assert (folder.fetched, folder.duplicates, folder.tracked) == (4, 3, 1)
    assert sorted(e["subject"] for e in emails(client, box.user)) == ["mail 0", "mail 1", "mail 2", "mail 3"]


class Killed(Exception):
    pass


def test_a_killed_sync_reruns_without_loss_or_duplicates(client, admin: TestUser, org: OrgBuilder,
                                                        session_factory, any_mailbox: DovecotAccount) -> None:
    box = crm_mailbox(client, admin, org, session_factory, any_mailbox, incoming_filter="all", folders=["INBOX"])
    for i in range(5):
        append(any_mailbox, mail(sender=f"c{i}@customer.example", to=box.address, subject=f"mail {i}"))

    def kill_after_three(event) -> None:
        if event.done == 3:
            raise Killed  # the process dies in the middle of the second batch

    with pytest.raises(Killed):
        sync(session_factory, box, batch_size=2, progress=kill_after_three)
    assert len(emails(client, box.user)) == 2  # the first batch was committed with its checkpoint

    rerun = sync(session_factory, box, batch_size=2)

    assert (rerun.fetched, rerun.tracked, rerun.duplicates) == (3, 3, 0)
    assert sorted(e["subject"] for e in emails(client, box.user)) == [f"mail {i}" for i in range(5)]
    assert sync(session_factory, box).fetched == 0


def test_one_mail_in_two_mailboxes_is_one_activity_with_both_views(client, admin: TestUser, org: OrgBuilder,
                                                                  session_factory, dovecot) -> None:
    from tests.mailbridge.conftest import Mailbox as Account

    accounts = [Account(dovecot, *dovecot.add_user()) for _ in range(2)]
    try:
        rep = crm_mailbox(client, admin, org, session_factory, accounts[0], incoming_filter="all")
        boss = crm_mailbox(client, admin, org, session_factory, accounts[1], incoming_filter="all")
        # The rep writes to a customer with his boss in Bcc: his Sent copy says so, the boss's copy does not.
        sent = mail(sender=rep.address, to="jane@customer.example", bcc=boss.address, subject="Offer",
                    message_id="<offer-1@contoso.example>")
        received = sent.replace(f"Bcc: {boss.address}\r\n".encode(), b"")
        append(accounts[1], received)
        append(accounts[0], sent, "Sent")

        assert sync(session_factory, boss).tracked == 1
        summary = sync(session_factory, rep)
        assert (summary.tracked, summary.duplicates) == (0, 1)
    finally:
        for account in accounts:
            account.close()

    [offer] = emails(client, admin)
    assert offer["message_id"] == "offer-1@contoso.example"
    assert [(p["party_type"], p["party_id"]) for p in parties(offer, "bcc")] == [("user", str(boss.user.id))]
    assert [p["address"] for p in parties(offer, "to")] == ["jane@customer.example"]
    with session_factory() as session:
        sightings = session.scalars(select(MailSighting.mailbox_id).join(TrackedMessage).where(
            TrackedMessage.email_id == uuid.UUID(offer["id"]))).all()
        assert sorted(sightings) == sorted([rep.id, boss.id])
        assert session.scalar(select(func.count()).select_from(TrackedMessage)) == 1
