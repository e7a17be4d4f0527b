"""Privacy of tracked mail, through the API: a user untracks a mail he tracked and the next import does not
bring it back; redacting keeps the activity but not its bodies, attachments and raw bytes (their blobs are
freed); an admin purges everything of one address. None of it leaves the removed content in the audit
trail."""

import email.message
import email.utils
import uuid
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from crm_core.models import AuditEntry, MailBlob, MailSighting, TrackedMessage
from mailbridge.message import NormaliseOptions
from mailbridge.tracking import TrackingOptions, import_local
from tests.api import created, problem
from tests.crm_core.test_mail_review import audit, the_email
from tests.mailbridge.tracking_fixtures import emails, local_mailbox, mail, maildir
from tests.org import OrgBuilder, TestUser

SECRET = "the launch code is 0000"


def _with_attachment(sender: str, to: str, subject: str, attachment: bytes, body: str = SECRET) -> bytes:
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"], msg["Date"] = email.utils.make_msgid(domain="customer.example"), email.utils.formatdate()
    msg.set_content(body)
    msg.add_alternative(f"<p>{body}</p>", subtype="html")
    msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="plan.pdf")
    return msg.as_bytes()


def _trail_text(session_factory: Any, record_id: str | None = None) -> str:
    """Every audit entry (of one record, or all of them) as one text, to look for what must not be there."""
    with session_factory() as session:
        query = select(AuditEntry)
        if record_id is not None:
            query = query.where(AuditEntry.record_id == uuid.UUID(record_id))
        return "\n".join(orjson.dumps(e.changes).decode() for e in session.scalars(query))


def _count(session_factory: Any, model: Any) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_untrack_removes_the_mail_and_the_next_import_does_not_bring_it_back(
        client, admin: TestUser, org: OrgBuilder, session_factory, tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    path = maildir(tmp_path / "M", {"": [mail(sender="jane@customer.example", to=rep.email, subject="Private",
                                              body=SECRET),
                                         mail(sender="joe@customer.example", to=rep.email, subject="Business")]})
    import_local(session_factory, box_id, path)
    private = the_email(client, rep, "Private")
    colleague = org.user("colleague@contoso.example", ["Salesperson"])  # reads it, does not own it
    problem(client.post(f"/api/v1/activities/{private['id']}/untrack", headers=colleague.headers), 403)

    r = client.post(f"/api/v1/activities/{private['id']}/untrack", headers=rep.headers)
    assert r.status_code == 204, r.text
    problem(client.get(f"/api/v1/activities/{private['id']}", headers=rep.headers), 404)
    assert [e["subject"] for e in emails(client, rep)] == ["Business"]
    again = import_local(session_factory, box_id, path)
    assert (again.tracked, again.quarantined) == (0, 0)
    assert [e["subject"] for e in emails(client, admin)] == ["Business"]

    trail = _trail_text(session_factory, private["id"])
    assert SECRET not in trail and "Private" not in trail and "jane@customer.example" not in trail
    with session_factory() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.record_id == uuid.UUID(private["id"]))).all()
        assert ("untrack", rep.id) in {(e.action, e.user_id) for e in entries}
        [tombstone] = session.scalars(select(TrackedMessage).where(TrackedMessage.email_id.is_(None))).all()
        assert tombstone.untracked_on is not None and tombstone.candidates == [] and tombstone.raw_sha256 is None
    problem(client.post(f"/api/v1/activities/{private['id']}/untrack", headers=rep.headers), 404)
    business = the_email(client, rep, "Business")
    assert client.post(f"/api/v1/activities/{business['id']}/untrack", headers=admin.headers).status_code == 204
    written = created(client, rep, "activities", {"activity_type": "email", "subject": "Mine"})
    problem(client.post(f"/api/v1/activities/{written['id']}/untrack", headers=rep.headers), 409)


def test_an_untracked_mail_seen_in_another_folder_is_not_tracked_again(
        client, admin: TestUser, org: OrgBuilder, session_factory, tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    raw = mail(sender="jane@customer.example", to=rep.email, subject="Private", body=SECRET)
    import_local(session_factory, box_id, maildir(tmp_path / "A", {"": [raw]}))
    private = the_email(client, rep, "Private")
    assert client.post(f"/api/v1/activities/{private['id']}/untrack", headers=rep.headers).status_code == 204

    elsewhere = import_local(session_factory, box_id, maildir(tmp_path / "B", {"Archive": [raw]}))
    assert (elsewhere.tracked, elsewhere.quarantined) == (0, 0)
    assert emails(client, rep) == []
    assert client.get("/api/v1/quarantine", headers=admin.headers).json()["items"] == []


def test_redact_keeps_the_activity_without_bodies_attachments_or_raw_bytes(
        client, admin: TestUser, org: OrgBuilder, session_factory, tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    shared = b"%PDF-1.4 the same attachment on two mails"
    path = maildir(tmp_path / "M", {"": [
        _with_attachment("jane@customer.example", rep.email, "Plans", b"%PDF-1.4 only on this mail"),
        _with_attachment("joe@customer.example", rep.email, "Copy 1", shared, body="first copy"),
        _with_attachment("joe@customer.example", rep.email, "Copy 2", shared, body="second copy")]})
    assert import_local(session_factory, box_id, path).tracked == 3
    plans = the_email(client, rep, "Plans")
    assert SECRET in plans["body_text"]
    link = client.get(f"/api/v1/activities/{plans['id']}/link", headers=rep.headers).json()
    assert link["raw_kept"] and [a["filename"] for a in link["attachments"]] == ["plan.pdf"]
    blobs = _count(session_factory, MailBlob)  # 3 raw messages, 2 distinct attachments
    assert blobs == 5
    colleague = org.user("colleague@contoso.example", ["Salesperson"])
    problem(client.post(f"/api/v1/activities/{plans['id']}/redact", headers=colleague.headers), 403)

    r = client.post(f"/api/v1/activities/{plans['id']}/redact", headers=rep.headers)
    assert r.status_code == 200, r.text
    assert r.json()["redacted_on"] and r.json()["attachments"] == [] and r.json()["raw_kept"] is False
    after = client.get(f"/api/v1/activities/{plans['id']}", headers=rep.headers).json()
    assert (after["subject"], after["body_text"], after["body_html"]) == ("Plans", None, None)
    assert after["parties"] == plans["parties"]
    assert _count(session_factory, MailBlob) == blobs - 2  # its raw bytes and its own attachment
    trail = audit(client, admin, f"activities/{plans['id']}")
    assert trail[0]["action"] == "redact" and trail[0]["user_id"] == str(rep.id)
    assert SECRET not in orjson.dumps(trail).decode()
    assert "only on this mail" not in _trail_text(session_factory)

    copy = the_email(client, rep, "Copy 1")
    assert client.post(f"/api/v1/activities/{copy['id']}/redact", headers=admin.headers).status_code == 200
    assert _count(session_factory, MailBlob) == blobs - 3  # the shared attachment stays for Copy 2
    copy2 = client.get(f"/api/v1/activities/{the_email(client, rep, 'Copy 2')['id']}/link", headers=rep.headers)
    assert [a["filename"] for a in copy2.json()["attachments"]] == ["plan.pdf"]


def test_purge_untracks_every_mail_of_an_address_and_anonymises_it(
        client, admin: TestUser, org: OrgBuilder, session_factory, tmp_path: Path) -> None:
    box_id, rep = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    path = maildir(tmp_path / "M", {
        "": [mail(sender="Jane <Jane@Customer.example>", to=rep.email, subject="From her", body=SECRET),
             mail(sender="joe@customer.example", to=rep.email, cc="jane@customer.example", subject="Cc her"),
             mail(sender="joe@customer.example", to=rep.email, subject="Not her")],
        "Sent": [mail(sender=rep.email, to="jane@customer.example", subject="To her")]})
    assert import_local(session_factory, box_id, path).tracked == 4
    big = mail(sender="jane@customer.example", to=rep.email, subject="Huge", body="x" * 5000)
    small_limit = TrackingOptions(normalise=NormaliseOptions(max_message_bytes=2000))
    assert import_local(session_factory, box_id, maildir(tmp_path / "Q", {"": [big]}), small_limit).quarantined == 1
    written = created(client, rep, "activities", {
        "activity_type": "email", "subject": "Written in the CRM",
        "parties": [{"role": "to", "address": "jane@customer.example"}, {"role": "cc", "address": "x@other.example"}]})
    problem(client.post("/api/v1/mail-privacy/purge", json={"address": "jane@customer.example"},
                        headers=rep.headers), 403)
    problem(client.post("/api/v1/mail-privacy/purge", json={"address": "not an address"}, headers=admin.headers),
            422, "address")

    r = client.post("/api/v1/mail-privacy/purge", json={"address": "JANE@customer.example"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"untracked": 3, "parties_anonymised": 1, "quarantined_discarded": 1}
    assert sorted(e["subject"] for e in emails(client, admin)) == ["Not her", "Written in the CRM"]
    kept = client.get(f"/api/v1/activities/{written['id']}", headers=rep.headers).json()
    assert sorted(str(p["address"]) for p in kept["parties"]) == ["None", "x@other.example"]
    assert client.get("/api/v1/quarantine", headers=admin.headers).json()["items"] == []
    assert "jane@customer.example" not in _trail_text(session_factory).lower()
    assert SECRET not in _trail_text(session_factory)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(TrackedMessage)
                              .where(TrackedMessage.untracked_on.is_not(None))) == 3
        assert session.scalar(select(func.count()).select_from(MailSighting)) == 4  # the places stay known

    again = import_local(session_factory, box_id, path)
    assert again.tracked == 0
    assert len(emails(client, admin)) == 2
