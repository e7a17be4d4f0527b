"""Meeting mail through the real tracking pipeline (a memory mail source, calendar_sync's hook plugged in as
the workers plug it): a contact's invitation becomes the rep's appointment with its attendees resolved, a
newer one moves it and an older one changes nothing, an attendee's answer is recorded and a stranger's
refused, a cancellation cancels one occurrence or the whole meeting, broken iCalendar is quarantined while
the mail is still tracked; and an appointment made in the CRM mails its invitation (iMIP) through its
owner's mailbox, with a text/calendar part, a SEQUENCE that grows only when the meeting changed.

Samples: tests/data/ics/itip (README there)."""

import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import icalendar
import pytest
from sqlalchemy import select

from calendar_sync.appointments.to_ical import render
from calendar_sync.meetings.incoming import apply_meeting_mail
from crm_core.models import Activity
from crm_core.models.calendars import CalendarQuarantine
from mailbridge.outgoing import OutgoingOptions, send_pending
from mailbridge.sources.memory import MemorySource, MemoryStore
from mailbridge.tracking import TrackingOptions
from mailbridge.tracking.source_sync import sync_source
from tests.api import created, problem
from tests.mailbridge.conftest import SmtpServer, running_smtp
from tests.mailbridge.tls import make_certificate
from tests.mailbridge.tracking_fixtures import contact, emails, local_mailbox
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
SAMPLES = Path(__file__).parents[1] / "data" / "ics" / "itip"
REP, JANE, BOB = "rep@contoso.example", "jane@fabrikam.example", "bob@fabrikam.example"
QUOTE_UID, WEEKLY_UID = "quote-review-7f3a@fabrikam.example", "weekly-sync-2c9e@fabrikam.example"


class Inbox:
    """The rep's mailbox fed by a memory source; each `receive` tracks the new mail as a sync pass would."""

    def __init__(self, session_factory: Any, box_id: uuid.UUID) -> None:
        self.session_factory, self.box_id = session_factory, box_id
        self.store = MemoryStore(["INBOX"])

    def receive(self, sample: str, *, sender: str, method: str | None = None, body: bytes | None = None,
                extra: dict[str, str] | None = None) -> str:
        content = body if body is not None else (SAMPLES / sample).read_bytes()
        message_id = make_msgid(domain="fabrikam.example")
        self.store.append("INBOX", meeting_mail(content, sender=sender, method=method, message_id=message_id,
                                                extra=extra))
        summary = sync_source(self.session_factory, self.box_id, MemorySource(self.store, ["INBOX"]),
                              TrackingOptions(meeting_mail=apply_meeting_mail))
        assert summary.folders["INBOX"].quarantined == 0
        return message_id.strip("<>")


def meeting_mail(content: bytes, *, sender: str, method: str | None, message_id: str,
                 extra: dict[str, str] | None = None) -> bytes:
    """An iMIP mail as calendar programs send it: multipart/alternative, text and text/calendar; method=."""
    text = content.decode()
    if method is None:
        method = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("METHOD:")),
                      None)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, REP, "Meeting"
    message["Message-ID"] = message_id
    for name, value in (extra or {}).items():
        message[name] = value
    message.set_content(f"Meeting mail {message_id}: see the calendar part.")  # not one mail to dedupe
    message.add_alternative(text, subtype="calendar", params={"method": method} if method else {})
    return message.as_bytes()


@pytest.fixture
def rep_box(client: Any, org: OrgBuilder, session_factory: Any) -> tuple[Inbox, TestUser, TestUser]:
    admin = org.admin()
    rep = org.user(REP, ["Salesperson"])
    box_id, _ = local_mailbox(client, admin, org, session_factory, user=rep, incoming_filter="all")
    return Inbox(session_factory, box_id), rep, admin


def appointments(client: Any, user: TestUser, kind: str = "appointment") -> list[dict[str, Any]]:
    r = client.get(f"{API}/activities", params={"activity_type": kind, "limit": 500}, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def only(client: Any, user: TestUser, kind: str = "appointment") -> dict[str, Any]:
    found = appointments(client, user, kind)
    assert len(found) == 1, found
    return found[0]


def people(activity: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {p["address"]: (p["role"], p["party_type"]) for p in activity["parties"]}


def start_of(activity: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(activity["scheduled_start"]).astimezone(UTC)


def partstat(session_factory: Any, activity_id: str, address: str) -> str:
    """The answer an attendee's calendar shows after the next sync: the rendered iCalendar's PARTSTAT."""
    with session_factory() as session:
        record = session.get(Activity, uuid.UUID(activity_id))
        event = next(e for e in render(session, record).events if "RECURRENCE-ID" not in e)
        lines = event.get("ATTENDEE")
        line = next(a for a in (lines if isinstance(lines, list) else [lines]) if str(a).lower() == f"mailto:{address}")
        return str(line.params.get("PARTSTAT"))


def quarantined(session_factory: Any) -> list[CalendarQuarantine]:
    with session_factory() as session:
        return list(session.scalars(select(CalendarQuarantine)))


# --- incoming ----------------------------------------------------------------------------------------------
def test_an_invitation_from_a_contact_becomes_the_reps_appointment_and_only_newer_ones_change_it(
        client, session_factory, rep_box) -> None:
    inbox, rep, admin = rep_box
    jane = contact(client, admin, "Jane", "Doe", JANE)
    bob = contact(client, admin, "Bob", "Stone", BOB)

    inbox.receive("request_single_from_contact.ics", sender=JANE)
    meeting = only(client, admin)
    assert meeting["subject"] == "Quote review"
    assert start_of(meeting) == datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # 14:00 in Berlin
    assert meeting["owner_id"] == str(rep.id)
    assert people(meeting) == {JANE: ("organizer", "contact"), REP: ("required_attendee", "user"),
                               BOB: ("optional_attendee", "contact")}
    assert {p["party_id"] for p in meeting["parties"]} >= {jane["id"], bob["id"], str(rep.id)}
    assert len(emails(client, admin)) == 1  # the mail itself is tracked as ever

    inbox.receive("request_single_sequence_1_moved.ics", sender=JANE)
    moved = only(client, admin)
    assert moved["id"] == meeting["id"]
    assert (moved["subject"], start_of(moved)) == ("Quote review (moved)", datetime(2026, 12, 4, 15, 0, tzinfo=UTC))

    # The first invitation again (a resend, a delayed copy): older, ignored.
    inbox.receive("request_single_from_contact.ics", sender=JANE)
    assert only(client, admin)["subject"] == "Quote review (moved)"
    assert len(emails(client, admin)) == 3
    assert quarantined(session_factory) == []


def test_the_regarding_of_the_invitation_email_is_inherited(client, session_factory, rep_box) -> None:
    inbox, _rep, admin = rep_box
    jane = contact(client, admin, "Jane", "Doe", JANE)
    case = created(client, admin, "cases", {"title": "Quote", "customer_type": "contact", "customer_id": jane["id"]})
    # A mail of the case thread, then Jane's invitation in reply to it: correlation puts it on the case.
    first = emails_after_mail(client, inbox, admin, case)
    inbox.receive("request_single_from_contact.ics", sender=JANE, extra={"In-Reply-To": f"<{first}>"})
    meeting = only(client, admin)
    assert (meeting["regarding_type"], meeting["regarding_id"]) == ("case", case["id"])


def emails_after_mail(client: Any, inbox: Inbox, admin: TestUser, case: dict[str, Any]) -> str:
    """A plain mail tracked and linked to the case by hand; returns its Message-ID."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = JANE, REP, "Our quote"
    message["Message-ID"] = make_msgid(domain="fabrikam.example")
    message.set_content("About the quote.")
    inbox.store.append("INBOX", message.as_bytes())
    sync_source(inbox.session_factory, inbox.box_id, MemorySource(inbox.store, ["INBOX"]), TrackingOptions())
    email = emails(client, admin)[0]
    r = client.post(f"{API}/activities/{email['id']}/relink", json={"regarding_type": "case",
                                                                   "regarding_id": case["id"]}, headers=admin.headers)
    assert r.status_code == 200, r.text
    return str(message["Message-ID"]).strip("<>")


def test_an_attendees_reply_sets_his_answer_and_a_strangers_is_refused(client, session_factory, rep_box) -> None:
    inbox, _rep, admin = rep_box
    contact(client, admin, "Bob", "Stone", BOB)
    inbox.receive("request_single_from_contact.ics", sender=JANE)
    meeting = only(client, admin)
    assert partstat(session_factory, meeting["id"], BOB) == "NEEDS-ACTION"

    inbox.receive("reply_accepted_by_attendee.ics", sender=BOB)
    assert partstat(session_factory, meeting["id"], BOB) == "ACCEPTED"
    # His earlier answer, delivered late (an older DTSTAMP): ignored.
    inbox.receive("reply_declined_earlier_by_attendee.ics", sender=BOB)
    assert partstat(session_factory, meeting["id"], BOB) == "ACCEPTED"
    assert quarantined(session_factory) == []

    # Someone else sends Bob's answer: refused, nothing changes, the mail is still tracked.
    forged = (SAMPLES / "reply_declined_earlier_by_attendee.ics").read_bytes().replace(
        b"20261120T093000Z", b"20261121T093000Z")
    inbox.receive("", sender="mallory@evil.example", body=forged)
    assert partstat(session_factory, meeting["id"], BOB) == "ACCEPTED"
    refused = quarantined(session_factory)
    assert [q.reason for q in refused] == ["spoofed_meeting_mail"]
    assert refused[0].source.startswith("mail:") and refused[0].raw == forged
    assert len(emails(client, admin)) == 4
    # Nor may a stranger send a new version of Jane's meeting.
    inbox.receive("request_single_sequence_1_moved.ics", sender="mallory@evil.example")
    assert only(client, admin)["subject"] == "Quote review"
    assert [q.reason for q in quarantined(session_factory)] == ["spoofed_meeting_mail"] * 2


def test_a_cancel_of_one_occurrence_cancels_only_it_and_a_cancel_of_the_meeting_cancels_it(
        client, session_factory, rep_box) -> None:
    inbox, _rep, admin = rep_box
    inbox.receive("request_weekly_series.ics", sender=JANE)
    series = only(client, admin, "recurring_appointment")
    window = {"start": "2026-11-30T00:00:00Z", "end": "2027-01-01T00:00:00Z", "include_cancelled": "true"}

    def occurrences() -> list[tuple[str, bool, str]]:
        r = client.get(f"{API}/recurring-appointments/{series['id']}/instances", params=window,
                       headers=admin.headers)
        assert r.status_code == 200, r.text
        return [(i["recurrence_id"][:10], i["cancelled"], i["subject"]) for i in r.json()]

    assert [o[:2] for o in occurrences()] == [("2026-12-01", False), ("2026-12-08", False),
                                              ("2026-12-15", False), ("2026-12-22", False)]
    # One occurrence moved by the organizer: only its exception is written.
    inbox.receive("request_one_occurrence_moved.ics", sender=JANE)
    # One occurrence canceled (a CANCEL without DTSTART, as RFC 5546 allows): it goes, the series stays.
    inbox.receive("cancel_one_occurrence_without_dtstart.ics", sender=JANE)
    weekly = "Weekly project sync"
    assert occurrences() == [("2026-12-01", False, weekly), ("2026-12-08", True, weekly),
                             ("2026-12-15", False, f"{weekly} (Wednesday this time)"), ("2026-12-22", False, weekly)]
    assert only(client, admin, "recurring_appointment")["state"] == "Scheduled"

    # The single meeting, canceled by its organizer.
    inbox.receive("request_single_from_contact.ics", sender=JANE)
    single = next(a for a in appointments(client, admin) if a["subject"] == "Quote review")
    inbox.receive("cancel_whole_meeting.ics", sender=JANE)
    canceled = client.get(f"{API}/activities/{single['id']}", headers=admin.headers).json()
    assert (canceled["state"], canceled["status"]) == ("Canceled", "Canceled")
    assert quarantined(session_factory) == []


def test_broken_icalendar_is_quarantined_and_the_mail_still_tracked(client, session_factory, rep_box) -> None:
    inbox, _rep, admin = rep_box
    message_id = inbox.receive("broken_truncated_bad_dtstart.ics", sender=JANE, method="REQUEST")
    assert len(emails(client, admin)) == 1
    assert appointments(client, admin) == []
    [entry] = quarantined(session_factory)
    assert (entry.reason, entry.source) == ("bad_icalendar", f"mail:{message_id}")
    # The part's bytes as the mail carried them (its text lines end as the mail's parser gives them).
    assert entry.raw.replace(b"\r\n", b"\n") == (SAMPLES / "broken_truncated_bad_dtstart.ics").read_bytes().replace(
        b"\r\n", b"\n")


def test_the_method_may_come_from_the_mime_header_alone(client, session_factory, rep_box) -> None:
    inbox, _rep, admin = rep_box
    inbox.receive("request_method_only_in_mime_header.ics", sender=JANE, method="REQUEST")
    assert only(client, admin)["subject"] == "Product demo call"


# --- invitations -------------------------------------------------------------------------------------------
@pytest.fixture
def api(client: Any) -> Any:
    """The client (workers/app.py mounts the send-invitation route)."""
    return client


@pytest.fixture
def smtp(tmp_path: Path) -> Any:
    """aiosmtpd on loopback (tests/mailbridge's), STARTTLS and AUTH as the rep's mailbox logs in."""
    with running_smtp(make_certificate(tmp_path), "rep", "rep-secret") as server:
        yield server


def _outgoing(client: Any, admin: TestUser, box_id: uuid.UUID, smtp: SmtpServer) -> None:
    profile_id = client.get(f"{API}/mailboxes/{box_id}", headers=admin.headers).json()["server_profile_id"]
    r = client.patch(f"{API}/email-server-profiles/{profile_id}", json={
        "outgoing_host": smtp.host, "outgoing_port": smtp.port, "outgoing_security": "starttls"},
        headers=admin.headers)
    assert r.status_code == 200, r.text
    r = client.patch(f"{API}/mailboxes/{box_id}", json={"outgoing_enabled": True, "username": "rep",
                                                        "password": "rep-secret"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/mailboxes/{box_id}/approve", headers=admin.headers)
    assert r.status_code == 200, r.text


def test_an_appointment_made_in_the_crm_mails_its_invitation_through_the_owners_mailbox(
        api, session_factory, org: OrgBuilder, smtp: SmtpServer) -> None:
    admin = org.admin()
    rep = org.user(REP, ["Salesperson"])
    box_id, _ = local_mailbox(api, admin, org, session_factory, user=rep, incoming_filter="all")
    _outgoing(api, admin, box_id, smtp)
    jane = contact(api, admin, "Jane", "Doe", JANE)
    meeting = created(api, rep, "activities", {
        "activity_type": "appointment", "subject": "Kick-off", "location": "Contoso HQ",
        "scheduled_start": "2026-12-10T09:00:00Z", "scheduled_end": "2026-12-10T10:00:00Z",
        "parties": [{"role": "required_attendee", "party_type": "contact", "party_id": jane["id"]}]})
    url = f"{API}/appointments/{meeting['id']}/send-invitation"

    r = api.post(url, json={"method": "REQUEST"}, headers=rep.headers)
    assert r.status_code == 202, r.text
    first = r.json()
    assert (first["recipients"], first["sequence"]) == ([JANE], 0)
    queued = api.get(f"{API}/activities/{first['email_id']}", headers=rep.headers).json()
    assert (queued["state"], queued["status"]) == ("Completed", "Pending Send")
    assert people(api.get(f"{API}/activities/{meeting['id']}", headers=rep.headers).json())[REP][0] == "organizer"

    summary = send_pending(session_factory, OutgoingOptions(ssl_context=smtp.certificate.client_context(), timeout=10))
    assert (summary.sent, summary.failed) == (1, 0)
    [got] = smtp.received
    assert got["rcpt_tos"] == [JANE]
    mail = BytesParser(policy=policy.default).parsebytes(got["content"])
    assert mail.get_content_type() == "multipart/alternative"
    part = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST"
    calendar = icalendar.Calendar.from_ical(part.get_content())
    [event] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["ORGANIZER"]).lower() == f"mailto:{REP}"
    assert event["DTSTART"].dt == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Kick-off" and int(event["SEQUENCE"]) == 0
    sent = api.get(f"{API}/activities/{first['email_id']}", headers=rep.headers).json()
    assert mail["Message-ID"] == f"<{sent['message_id']}>"  # our Message-ID: the Sent copy is recognised

    # Sent again unchanged: the same SEQUENCE; moved, then sent: the next one.
    assert api.post(url, headers=rep.headers).json()["sequence"] == 0
    r = api.patch(f"{API}/activities/{meeting['id']}", json={"scheduled_start": "2026-12-11T09:00:00Z",
                                                             "scheduled_end": "2026-12-11T10:00:00Z"},
                  headers=rep.headers)
    assert r.status_code == 200, r.text
    assert api.post(url, headers=rep.headers).json()["sequence"] == 1
    cancel = api.post(url, json={"method": "CANCEL"}, headers=rep.headers).json()
    assert cancel["sequence"] == 2
    canceled = api.get(f"{API}/activities/{meeting['id']}", headers=rep.headers).json()
    assert canceled["state"] == "Canceled"
    summary = send_pending(session_factory, OutgoingOptions(ssl_context=smtp.certificate.client_context(), timeout=10))
    assert (summary.sent, summary.errors) == (3, {})
    last = BytesParser(policy=policy.default).parsebytes(smtp.received[-1]["content"])
    part = next(p for p in last.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "CANCEL"
    assert str(icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_an_invitation_needs_attendees_and_the_owners_own_meeting(api, session_factory, org: OrgBuilder) -> None:
    admin = org.admin()
    rep = org.user(REP, ["Salesperson"])
    local_mailbox(api, admin, org, session_factory, user=rep, incoming_filter="all")
    alone = created(api, rep, "activities", {"activity_type": "appointment", "subject": "Focus time",
                                             "scheduled_start": "2026-12-10T09:00:00Z",
                                             "scheduled_end": "2026-12-10T10:00:00Z"})
    problem(api.post(f"{API}/appointments/{alone['id']}/send-invitation", headers=rep.headers), 422, "parties")
    theirs = created(api, rep, "activities", {
        "activity_type": "appointment", "subject": "Jane's meeting", "scheduled_start": "2026-12-10T09:00:00Z",
        "scheduled_end": "2026-12-10T10:00:00Z", "parties": [{"role": "organizer", "address": JANE},
                                                             {"role": "required_attendee", "address": BOB}]})
    body = problem(api.post(f"{API}/appointments/{theirs['id']}/send-invitation", headers=rep.headers), 409)
    assert "organized by" in body["detail"]
    assert emails(api, admin) == []


def test_the_calendar_sync_never_sends_invitations() -> None:
    """Mailing attendees is a user's act: no module of the sync engine or of the stores reaches the sender."""
    root = Path(__file__).parents[2] / "calendar_sync"
    offenders = [str(path.relative_to(root)) for folder in ("sync", "stores") for path in (root / folder).glob("*.py")
                 if "calendar_sync.meetings" in path.read_text()]
    assert offenders == []
