"""The dry run of a mailbox on the real Dovecot: before an admin approves a mailbox or changes its options, he
sees what its first sync would track, skip and quarantine, which contacts, leads and cases it would create,
which acknowledgements it would send and which records the mail would be linked to; and nothing is written
to the database nor changed on the mail server. The sync that follows does what the preview said."""

import re
import uuid
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.base import Base
from crm_core.security import secrets
from crm_core.security.secrets import Keyring
from mailbridge.tracking.dry_run import Acknowledgement, LinkedRecords, NewCase, NewContact, preview_mailbox
from mailbridge.tracking.options import TrackingOptions
from tests.api import created, problem
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.dovecot import free_port
from tests.mailbridge.tracking_fixtures import TEST_KEY, CrmMailbox, append, contact, emails, mail, sync
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
SUPPORT = "support@contoso.example"
BROKEN = b"This is not a mail message at all,\r\njust some lines of text.\r\n"


def _pending_mailbox(client: Any, admin: TestUser, org: OrgBuilder, session_factory: sessionmaker[Session],
                     account: DovecotAccount, *, port: int | None = None, password: str | None = None,
                     **options: Any) -> CrmMailbox:
    """A salesperson's mailbox as an admin adds it: pending approval, so not synced by anyone yet."""
    secrets.install(session_factory, Keyring(TEST_KEY))
    user = org.user(f"rep-{uuid.uuid4().hex[:6]}@contoso.example", ["Salesperson"])
    profile = created(client, admin, "email-server-profiles", {
        "name": f"Dovecot {uuid.uuid4().hex[:6]}", "incoming_host": account.server.host,
        "incoming_port": port or account.server.port, "incoming_security": "plain"})
    box = created(client, admin, "mailboxes", {
        "email_address": user.email, "regarding_type": "user", "regarding_id": str(user.id),
        "server_profile_id": profile["id"], "username": account.username,
        "password": password or account.password, **options})
    assert box["approval_status"] == "pending"
    return CrmMailbox(uuid.UUID(box["id"]), user, account)


def _approve(client: Any, admin: TestUser, box_id: uuid.UUID) -> None:
    assert client.post(f"{API}/mailboxes/{box_id}/approve", headers=admin.headers).status_code == 200


def _database(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table: what "nothing written" is checked against."""
    with engine.connect() as conn:
        return {t.name: sorted(tuple(map(repr, row)) for row in conn.execute(select(t)))
                for t in Base.metadata.sorted_tables}


def _row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table (an API call may note its token's use, so the rows themselves are not compared)."""
    with engine.connect() as conn:
        return {t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


def _sequence(subject: str | None) -> str:
    """An acknowledgement's subject with its case number's random suffix left out (CAS-01002-W7H3P2: CAS-01002)."""
    return re.sub(r"(CAS-\d+)-\w+", r"\1", subject or "")


def _server(account: DovecotAccount, *folders: str) -> dict[str, dict[int, tuple[bytes, ...]]]:
    """Each folder's messages and their flags, as the user's mail program sees them."""
    out = {}
    for folder in folders:
        account.client.select_folder(folder, readonly=True)
        fetched = account.client.fetch(account.client.search("ALL"), ["FLAGS"])
        out[folder] = {uid: tuple(sorted(data[b"FLAGS"])) for uid, data in fetched.items()}
        account.client.unselect_folder()
    return out


def test_a_pending_mailbox_previews_its_first_sync_and_nothing_is_kept(
        client, admin: TestUser, org: OrgBuilder, session_factory, engine: Engine, mailbox: DovecotAccount) -> None:
    box = _pending_mailbox(client, admin, org, session_factory, mailbox)  # known_records, INBOX and Sent
    jane = contact(client, admin, "Jane", "Doe", "jane@customer.example")
    append(mailbox, mail(sender="Jane Doe <jane@customer.example>", to=box.address, subject="Quote please"))
    append(mailbox, mail(sender="someone@elsewhere.example", to=box.address, subject="Lunch?"))
    append(mailbox, mail(sender="ceo@private.example", to=box.address, subject="Personal"))
    append(mailbox, BROKEN)
    append(mailbox, mail(sender=box.address, to="jane@customer.example", subject="Re: Quote please"), "Sent")
    options = TrackingOptions(timeout=10, block_list=("private.example",))
    database, server = _database(engine), _server(mailbox, "INBOX", "Sent")

    report = preview_mailbox(session_factory, box.id, options)

    summary = report.summary
    assert (summary.fetched, summary.tracked, summary.skipped, summary.quarantined) == (5, 2, 2, 1)
    assert summary.folders["INBOX"].skipped_by_reason == {"not_known_records": 1, "blocked": 1}
    assert summary.folders["INBOX"].quarantined_by_reason == {"no_headers": 1}
    assert report.linked == [LinkedRecords("contact", records=1, mails=2)]  # Jane, from and to
    assert (report.contacts, report.leads, report.cases, report.acknowledgements) == ([], [], [], [])
    assert not report.limit_reached and report.folders_not_read == []
    assert _database(engine) == database  # no activity, sighting, checkpoint, quarantine or audit row
    assert _server(mailbox, "INBOX", "Sent") == server  # unread mail stays unread, nothing is moved

    # The sync the admin then allows does what the preview said.
    _approve(client, admin, box.id)
    real = sync(session_factory, box, block_list=("private.example",))
    assert (real.fetched, real.tracked, real.skipped, real.quarantined) == (5, 2, 2, 1)
    assert real.folders["INBOX"].skipped_by_reason == summary.folders["INBOX"].skipped_by_reason
    timeline = client.get(f"{API}/contacts/{jane['id']}/timeline", headers=admin.headers).json()["items"]
    assert len(timeline) == 2


def test_email_to_case_shows_the_cases_contacts_and_acknowledgements_it_would_make(
        client, admin: TestUser, session_factory, engine: Engine, mailbox: DovecotAccount) -> None:
    secrets.install(session_factory, Keyring(TEST_KEY))
    queue = created(client, admin, "queues", {"name": "Support", "email_address": SUPPORT})
    profile = created(client, admin, "email-server-profiles", {
        "name": "Support mail", "incoming_host": mailbox.server.host, "incoming_port": mailbox.server.port,
        "incoming_security": "plain"})
    desk = created(client, admin, "mailboxes", {
        "email_address": SUPPORT, "regarding_type": "queue", "regarding_id": queue["id"],
        "server_profile_id": profile["id"], "username": mailbox.username, "password": mailbox.password,
        "folders": ["INBOX"]})
    rule = created(client, admin, "case-creation-rules", {
        "name": "Support mail", "queue_id": queue["id"], "items": [{}], "send_acknowledgement": True,
        "allow_unknown_sender": True})
    assert client.post(f"{API}/case-creation-rules/{rule['id']}/activate", headers=admin.headers).status_code == 200
    contoso = created(client, admin, "accounts", {"name": "Contoso"})
    jane = created(client, admin, "contacts", {"first_name": "Jane", "last_name": "Doe",
                                               "email_address1": "jane@customer.example",
                                               "parent_account_id": contoso["id"]})
    append(mailbox, mail(sender="Jane Doe <jane@customer.example>", to=SUPPORT, subject="Re: Printer on fire"))
    append(mailbox, mail(sender="Ann Smith <ann@newcomer.example>", to=SUPPORT, subject="Hello?"))
    append(mailbox, mail(sender="robot@customer.example", to=SUPPORT, subject="Out of office",
                         headers={"Auto-Submitted": "auto-replied"}))
    box_id = uuid.UUID(desk["id"])
    database, server = _database(engine), _server(mailbox, "INBOX")

    report = preview_mailbox(session_factory, box_id, TrackingOptions(timeout=10))

    assert (report.summary.fetched, report.summary.tracked) == (3, 3)
    assert report.cases == [NewCase("Hello?", "Ann Smith"), NewCase("Printer on fire", "Contoso")]
    assert report.contacts == [NewContact("Ann Smith", "ann@newcomer.example")]
    assert [a.to for a in report.acknowledgements] == [("ann@newcomer.example",), ("jane@customer.example",)]
    assert all(a.subject and a.subject.startswith("We received your request: ") for a in report.acknowledgements)
    assert report.case_decisions == {"created": 2, "skipped: auto_reply": 1}
    assert report.linked == [LinkedRecords("contact", records=1, mails=1)]  # Jane; Ann and the cases are new
    assert _database(engine) == database  # no case, contact, pending email, decision, number or queue item
    assert _server(mailbox, "INBOX") == server

    # Approved and synced: the same cases and acknowledgements, even the case numbers' sequence (none was used
    # up; the random suffix differs).
    _approve(client, admin, box_id)
    assert sync(session_factory, CrmMailbox(box_id, admin, mailbox)).tracked == 3
    cases = client.get(f"{API}/cases", headers=admin.headers).json()["items"]
    assert sorted(c["title"] for c in cases) == ["Hello?", "Printer on fire"]
    acks = [e for e in emails(client, admin) if e["direction_outgoing"]]
    sent = sorted((Acknowledgement((p["address"],), e["subject"]) for e in acks for p in e["parties"]
                   if p["role"] == "to"), key=lambda a: a.to)
    assert [(a.to, _sequence(a.subject)) for a in sent] == [(a.to, _sequence(a.subject))
                                                            for a in report.acknowledgements]
    jane_case = next(c for c in cases if c["title"] == "Printer on fire")
    assert (jane_case["customer_id"], jane_case["primary_contact_id"]) == (contoso["id"], jane["id"])


def test_a_mailbox_that_synced_shows_what_it_saw_as_already_seen(
        client, admin: TestUser, org: OrgBuilder, session_factory, engine: Engine, mailbox: DovecotAccount) -> None:
    box = _pending_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all", folders=["INBOX"])
    _approve(client, admin, box.id)
    for n in (1, 2):
        append(mailbox, mail(sender=f"c{n}@customer.example", to=box.address, subject=f"old {n}"))
    assert sync(session_factory, box).tracked == 2
    append(mailbox, mail(sender="c3@customer.example", to=box.address, subject="new"))
    database = _database(engine)

    report = preview_mailbox(session_factory, box.id, TrackingOptions(timeout=10))

    folder = report.summary.folders["INBOX"]
    assert (folder.fetched, folder.already_seen, folder.tracked) == (3, 2, 1)
    assert _database(engine) == database  # the checkpoint did not move, no sighting was added
    second = sync(session_factory, box)
    assert (second.fetched, second.tracked) == (1, 1)  # the sync resumes from its own checkpoint


def test_the_limit_stops_the_preview_and_says_so(client, admin: TestUser, org: OrgBuilder, session_factory,
                                                  mailbox: DovecotAccount) -> None:
    box = _pending_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    for n in range(5):
        append(mailbox, mail(sender=f"c{n}@customer.example", to=box.address, subject=f"mail {n}"))
    append(mailbox, mail(sender=box.address, to="c0@customer.example", subject="Re: mail 0"), "Sent")

    report = preview_mailbox(session_factory, box.id, TrackingOptions(timeout=10, batch_size=2), limit=3)

    assert (report.summary.fetched, report.summary.tracked) == (3, 3)
    assert report.limit_reached and report.folders_not_read == ["Sent"]
    everything = preview_mailbox(session_factory, box.id, TrackingOptions(timeout=10, batch_size=2))
    assert (everything.summary.fetched, everything.limit_reached) == (6, False)


def test_the_api_previews_other_options_for_whoever_may_write_the_mailbox(
        client, admin: TestUser, org: OrgBuilder, session_factory, engine: Engine, mailbox: DovecotAccount) -> None:
    box = _pending_mailbox(client, admin, org, session_factory, mailbox, folders=["INBOX"])  # keep_address
    append(mailbox, mail(sender="Ann Smith <ann@newcomer.example>", to=box.address, subject="Hello?"))
    counts = _row_counts(engine)

    r = client.post(f"{API}/mailboxes/{box.id}/dry-run", headers=admin.headers)
    assert r.status_code == 200, r.text
    as_stored = r.json()
    assert (as_stored["fetched"], as_stored["tracked"], as_stored["leads"]) == (1, 0, [])
    assert as_stored["folders"][0]["skipped_by_reason"] == {"not_known_records": 1}

    r = client.post(f"{API}/mailboxes/{box.id}/dry-run", headers=box.user.headers,  # his own mailbox
                    json={"incoming_filter": "all", "unknown_senders": "create_lead", "limit": 10})
    assert r.status_code == 200, r.text
    tried = r.json()
    assert (tried["tracked"], tried["limit"], tried["limit_reached"]) == (1, 10, False)
    assert tried["leads"] == [{"name": "Ann Smith", "email_address": "ann@newcomer.example", "subject": "Hello?"}]
    assert tried["linked"] == []  # a new lead is no existing record
    assert _row_counts(engine) == counts
    mailbox_now = client.get(f"{API}/mailboxes/{box.id}", headers=admin.headers).json()
    assert (mailbox_now["incoming_filter"], mailbox_now["unknown_senders"]) == ("known_records", "keep_address")

    stranger = org.user("stranger@contoso.example", ["Salesperson"])
    assert client.post(f"{API}/mailboxes/{box.id}/dry-run", headers=stranger.headers).status_code in (403, 404)
    problem(client.post(f"{API}/mailboxes/{box.id}/dry-run", json={"limit": 0}, headers=admin.headers), 422, "limit")


def test_a_server_that_cannot_be_reached_answers_502_and_stops_nothing(
        client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount) -> None:
    closed = _pending_mailbox(client, admin, org, session_factory, mailbox, port=free_port())
    body = problem(client.post(f"{API}/mailboxes/{closed.id}/dry-run", headers=admin.headers), 502)
    assert body["reason"] == "connect"

    wrong = _pending_mailbox(client, admin, org, session_factory, mailbox, password="Wrong-pw-5d1")
    _approve(client, admin, wrong.id)
    body = problem(client.post(f"{API}/mailboxes/{wrong.id}/dry-run", headers=admin.headers), 502)
    assert body["reason"] == "auth"
    after = client.get(f"{API}/mailboxes/{wrong.id}", headers=admin.headers).json()
    assert (after["sync_stopped_on"], after["may_sync"]) == (None, True)  # a sync would have stopped it

    profile_id = after["server_profile_id"]  # a profile switched off cannot be previewed
    assert client.post(f"{API}/email-server-profiles/{profile_id}/deactivate", headers=admin.headers).status_code == 200
    body = problem(client.post(f"{API}/mailboxes/{wrong.id}/dry-run", headers=admin.headers), 409)
    assert "inactive" in body["detail"]
