"""Where tracked mail is linked, and why: replies correlated by the tracking token and by In-Reply-To inherit
the case the thread is about; two contacts sharing an address go to review instead of a guess; blocked
addresses are never tracked; bulk mail never creates a contact; unreadable mail is quarantined with its raw
bytes while the rest of the folder is tracked."""

import hashlib
import uuid

from sqlalchemy import select

from crm_core.models import MailBlob, MailQuarantine, TrackedMessage
from mailbridge.message import NormaliseOptions
from tests.api import created
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import append, contact, crm_mailbox, emails, mail, parties, sync
from tests.org import OrgBuilder, TestUser


def _tracked(session_factory, email_id: str) -> TrackedMessage:
    with session_factory() as session:
        row = session.scalar(select(TrackedMessage).where(TrackedMessage.email_id == uuid.UUID(email_id)))
        assert row is not None
        return row


def test_replies_by_token_and_in_reply_to_inherit_the_case(client, admin: TestUser, org: OrgBuilder,
                                                          session_factory, mailbox: DovecotAccount) -> None:
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="crm_replies",
                      folders=["INBOX"])
    jane = contact(client, box.user, "Jane", "Doe", "jane@customer.example")
    case = created(client, box.user, "cases", {"title": "Printer on fire", "customer_type": "contact",
                                               "customer_id": jane["id"]})
    created(client, box.user, "activities", {  # what the CRM sent about the case (sending is another step)
        "activity_type": "email", "subject": "Printer on fire CRM:0000042", "regarding_type": "case",
        "regarding_id": case["id"], "tracking_token": "CRM:0000042", "message_id": "case-42@contoso.example",
        "direction_outgoing": True, "parties": [{"role": "to", "address": "jane@customer.example"}],
    })
    # Her client dropped the headers but kept the token; another reply kept the headers but lost the token.
    append(mailbox, mail(sender="jane@customer.example", to=box.address, subject="Re: Printer [crm:42]",
                         message_id="<reply-1@customer.example>"))
    append(mailbox, mail(sender="jane@customer.example", to=box.address, subject="AW: Printer on fire",
                         message_id="<reply-2@customer.example>",
                         headers={"In-Reply-To": "<case-42@contoso.example>"}))
    append(mailbox, mail(sender="jane@customer.example", to=box.address, subject="Something else"))

    summary = sync(session_factory, box)

    assert (summary.tracked, summary.skipped) == (2, 1)  # only replies to CRM mail: her other mail is skipped
    about_case = emails(client, box.user, regarding_type="case", regarding_id=case["id"])
    replies = {e["message_id"]: e for e in about_case if not e["direction_outgoing"]}
    assert set(replies) == {"reply-1@customer.example", "reply-2@customer.example"}
    by_token, by_header = replies["reply-1@customer.example"], replies["reply-2@customer.example"]
    assert by_token["regarding_name"] == "Printer on fire"
    assert (by_token["tracking_token"], by_header["tracking_token"]) == ("CRM:0000042", "CRM:0000042")
    assert (_tracked(session_factory, by_token["id"]).signal, _tracked(session_factory, by_header["id"]).signal) \
        == ("token", "in_reply_to")

    # A reply to her tracked reply follows the thread too (References only).
    append(mailbox, mail(sender=box.address, to="jane@customer.example", subject="Re: Printer on fire",
                         headers={"References": "<case-42@contoso.example> <reply-2@customer.example>"}))
    assert sync(session_factory, box).tracked == 1
    assert len(emails(client, box.user, regarding_type="case", regarding_id=case["id"])) == 4


def test_two_contacts_sharing_an_address_go_to_review(client, admin: TestUser, org: OrgBuilder, session_factory,
                                                     mailbox: DovecotAccount) -> None:
    box = crm_mailbox(client, admin, org, session_factory, mailbox, folders=["INBOX"])
    one = contact(client, box.user, "Pat", "Smith", "info@family.example")
    two = contact(client, box.user, "Sam", "Smith", "info@family.example")
    append(mailbox, mail(sender="info@family.example", to=box.address, subject="Our order"))

    assert sync(session_factory, box).tracked == 1  # known records: either of them

    [tracked] = emails(client, box.user)
    [sender] = parties(tracked, "sender")
    assert (sender["party_type"], sender["party_id"], sender["address"]) == (None, None, "info@family.example")
    row = _tracked(session_factory, tracked["id"])
    assert row.link_status == "needs_review"
    assert sorted(c["id"] for c in row.candidates) == sorted([one["id"], two["id"]])


def test_blocked_addresses_and_domains_are_never_tracked(client, admin: TestUser, org: OrgBuilder,
                                                        session_factory, mailbox: DovecotAccount) -> None:
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all", folders=["INBOX"])
    append(mailbox, mail(sender="doctor@mail.clinic.example", to=box.address, subject="Your results"))
    append(mailbox, mail(sender="jane@customer.example", to=box.address, cc="wife@home.example", subject="Hi"))
    append(mailbox, mail(sender="jane@customer.example", to=box.address, subject="Quote"))

    summary = sync(session_factory, box, block_list=("@clinic.example", "Wife@home.example"))

    assert (summary.tracked, summary.skipped) == (1, 2)
    assert summary.folders["INBOX"].skipped_by_reason == {"blocked": 2}
    assert [e["subject"] for e in emails(client, box.user)] == ["Quote"]


def test_bulk_mail_creates_no_contact_but_a_person_does(client, admin: TestUser, org: OrgBuilder,
                                                       session_factory, mailbox: DovecotAccount) -> None:
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all",
                      unknown_senders="create_contact", folders=["INBOX"])
    append(mailbox, mail(sender="Shop News <news@shop.example>", to=box.address, subject="Sale!",
                         headers={"List-Id": "<news.shop.example>", "Precedence": "bulk"}))
    append(mailbox, mail(sender="Away <away@partner.example>", to=box.address, subject="Out of office",
                         headers={"Auto-Submitted": "auto-replied"}))
    append(mailbox, mail(sender="Bob Stone <bob@newcustomer.example>", to=box.address, subject="Interested"))

    assert sync(session_factory, box).tracked == 3  # all three are tracked...

    found = client.get("/api/v1/contacts", headers=box.user.headers).json()["items"]
    assert [(c["full_name"], c["email_address1"], c["owner_id"]) for c in found] == [
        ("Bob Stone", "bob@newcustomer.example", str(box.user.id))]  # ...only the person became a contact
    by_subject = {e["subject"]: e for e in emails(client, box.user)}
    assert parties(by_subject["Interested"], "sender")[0]["party_id"] == found[0]["id"]
    assert parties(by_subject["Sale!"], "sender")[0]["party_id"] is None


def test_unreadable_mail_is_quarantined_and_the_rest_tracked(client, admin: TestUser, org: OrgBuilder,
                                                            session_factory, mailbox: DovecotAccount) -> None:
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all", folders=["INBOX"])
    broken = b"This is not a mail message at all,\r\njust some lines of text.\r\n"
    huge = mail(sender="big@customer.example", to=box.address, subject="Big", body="x" * 5000)
    append(mailbox, mail(sender="a@customer.example", to=box.address, subject="before"))
    broken_uid = append(mailbox, broken)
    append(mailbox, huge)
    append(mailbox, mail(sender="b@customer.example", to=box.address, subject="after"))

    summary = sync(session_factory, box, normalise=NormaliseOptions(max_message_bytes=4000))

    assert (summary.tracked, summary.quarantined) == (2, 2)
    assert summary.folders["INBOX"].quarantined_by_reason == {"no_headers": 1, "too_large": 1}
    assert sorted(e["subject"] for e in emails(client, box.user)) == ["after", "before"]
    with session_factory() as session:
        rows = {q.reason: q for q in session.scalars(select(MailQuarantine))}
        assert (rows["no_headers"].folder, rows["no_headers"].uid) == ("INBOX", broken_uid)
        assert rows["no_headers"].mailbox_id == box.id and rows["no_headers"].message
        for reason, raw in (("no_headers", broken), ("too_large", huge)):
            blob = session.get(MailBlob, rows[reason].raw_sha256)
            assert blob is not None and blob.content == raw and blob.sha256 == hashlib.sha256(raw).hexdigest()
    # A resync of the folder does not quarantine them twice.
    again = sync(session_factory, box, normalise=NormaliseOptions(max_message_bytes=4000))
    assert (again.fetched, again.quarantined) == (0, 0)
    with session_factory() as session:
        assert len(session.scalars(select(MailQuarantine.id)).all()) == 2
