"""An appointment's invitation (or cancellation) mailed to its attendees through its owner's mailbox (iMIP,
RFC 6047): the appointment as calendar_sync.appointments renders it, with METHOD, ORGANIZER = the owner's
mailbox, DTSTAMP now and SEQUENCE one higher whenever the meeting changed since the last one sent.

It becomes an outgoing email activity (Completed / Pending Send, through crm_core.services.email_sending like
any email a user sends) carrying the iCalendar as a text/calendar attachment, which mailbridge's composer puts
in the mail as the body's text/calendar alternative with its method. The mailbox's sender delivers it, with
our Message-ID and tracking token, so the copy in Sent is recognised like any CRM mail.

The calendar sync never calls this: mailing attendees is a user's act, never a side effect of syncing."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.appointments.events import CANCELED, ORGANIZER
from calendar_sync.appointments.from_ical import Record
from calendar_sync.appointments.parties import people_of
from calendar_sync.appointments.to_ical import render
from calendar_sync.meetings.incoming import REPLY_STAMP
from calendar_sync.meetings.itip import attendee_lines
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import Activity, Appointment, EmailAttachment, MailBlob, Mailbox, RecurringAppointment, User
from crm_core.security.principal import Principal
from crm_core.services.activities import ActivityService
from crm_core.services.activity_parties import PartyKey, replace_parties
from crm_core.services.email_sending import request_send
from crm_core.services.records import OwnerRef

Method = Literal["REQUEST", "CANCEL"]
# On the kept VCALENDAR (never mailed): a digest of the meeting as last mailed, so a re-send of an unchanged
# meeting keeps its SEQUENCE and a changed one gets the next.
SENT_DIGEST = "X-MAILCRM-INVITATION"
# RFC 5546 section 2.1.4's significant changes, and what an attendee reads in the invitation.
_SIGNIFICANT = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "STATUS", "SUMMARY", "LOCATION",
                "DESCRIPTION")


@dataclass(frozen=True)
class Invitation:
    appointment_id: uuid.UUID
    email_id: uuid.UUID
    method: Method
    sequence: int
    recipients: tuple[str, ...]


def send_invitation(session_factory: sessionmaker[Session], appointment_id: uuid.UUID, method: Method = "REQUEST",
                    principal: Principal | None = None) -> Invitation:
    """Queues the invitation (REQUEST) or cancellation (CANCEL) of an appointment or series as an email in
    Pending Send, as `principal` (default: the organisation). A CANCEL also cancels the appointment."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValidationFailed.field("method", "REQUEST or CANCEL")
    principal = principal or Principal.system()
    with UnitOfWork(session_factory) as uow:
        uow.set_action("send_invitation")
        session = uow.session
        record = _meeting(session, appointment_id)
        user, mailbox = _organizer(session, record)
        if method == "CANCEL" and record.statecode != CANCELED[0]:
            record.statecode, record.statuscode = CANCELED
        recipients = _attendees(session, record, mailbox, user)
        calendar = render(session, record).calendar
        now = utcnow().replace(microsecond=0)
        sequence = _stamp(calendar, record, mailbox, user, now)
        mailed = _mailed_copy(calendar, method)
        # What was mailed is what the CRM holds: the attendees' copies of it come back (REPLY) ordered against it.
        record.ical_source = calendar.to_ical().decode()
        record.ical_sequence, record.ical_dtstamp = sequence, now
        email_id = _queue_email(uow, principal, record, calendar, recipients, mailed, method)
        uow.commit()
    return Invitation(appointment_id, email_id, method, sequence, tuple(recipients))


def _meeting(session: Session, appointment_id: uuid.UUID) -> Record:
    record = session.get(Activity, appointment_id)
    if not isinstance(record, Appointment | RecurringAppointment):
        raise NotFound(f"no appointment {appointment_id}")
    if isinstance(record, Appointment) and record.instance_type_code == 3:
        raise ValidationFailed.field("id", "an occurrence of a series: send the series' invitation")
    return record


def _organizer(session: Session, record: Record) -> tuple[User, Mailbox]:
    """The owner and their mailbox, who must organize the meeting (made its organizer when it has none)."""
    user = session.get(User, record.owning_user_id) if record.owning_user_id else None
    mailbox = session.scalar(select(Mailbox).where(Mailbox.user_id == user.id)) if user else None
    if user is None or mailbox is None:
        raise Conflict("no mailbox to send from: the appointment's owner has no mailbox in the CRM")
    own = {mailbox.email_address.lower(), user.email.lower()}
    organizer = people_of(session, record.parties)[0]
    if organizer is not None and organizer not in own:
        raise Conflict(f"the meeting is organized by {organizer}: only its organizer sends its invitations")
    if organizer is None:
        keys = [PartyKey(p.participation, p.party_type, p.party_id, p.address_used) for p in record.parties]
        replace_parties(session, record, [PartyKey(ORGANIZER, "user", user.id, mailbox.email_address.lower()),
                                          *keys])
        session.flush()
    return user, mailbox


def _attendees(session: Session, record: Record, mailbox: Mailbox, user: User) -> list[str]:
    own = {mailbox.email_address.lower(), user.email.lower()}
    addresses = sorted({a for _, a in people_of(session, record.parties)[1]} - own)
    if not addresses:
        raise ValidationFailed.field("parties", "the appointment has no attendee to invite")
    return addresses


def _stamp(calendar: icalendar.Calendar, record: Record, mailbox: Mailbox, user: User, now: datetime) -> int:
    """ORGANIZER with the owner's name, DTSTAMP now, SEQUENCE kept or raised; returns the SEQUENCE."""
    events = list(calendar.walk("VEVENT"))
    for event in events:
        event.pop("ORGANIZER", None)
        event.add("ORGANIZER", f"mailto:{mailbox.email_address}",
                  parameters={"CN": user.full_name} if user.full_name else None)
        event.pop("DTSTAMP", None)
        event.add("DTSTAMP", now)
    # The rendering already raises SEQUENCE for a new time (to_ical); a change it does not count (a new place,
    # a new subject) still makes the next SEQUENCE, once, over the one last mailed.
    rendered = max(_int(e.get("SEQUENCE")) for e in events)
    last = record.ical_sequence or 0
    digest = _digest(events)
    sent_before = calendar.get(SENT_DIGEST)
    changed = sent_before is not None and str(sent_before) != digest
    sequence = max(rendered, last + 1 if changed else last)
    for event in events:
        event.pop("SEQUENCE", None)
        event.add("SEQUENCE", sequence)
    calendar.pop(SENT_DIGEST, None)
    calendar.add(SENT_DIGEST, digest)
    return sequence


def _int(value: object) -> int:
    try:
        return int(str(value)) if value is not None else 0
    except ValueError:
        return 0


def _digest(events: list[icalendar.Event]) -> str:
    lines = []
    for event in events:
        key = event["RECURRENCE-ID"].to_ical().decode() if "RECURRENCE-ID" in event else ""
        for name in _SIGNIFICANT:
            for value in event.get(name) if isinstance(event.get(name), list) else [event.get(name)]:
                if value is not None:
                    text = value.to_ical() if hasattr(value, "to_ical") else str(value).encode()
                    lines.append(f"{key}|{name}|".encode() + (text if isinstance(text, bytes) else text.encode()))
    return hashlib.sha256(b"\n".join(sorted(lines))).hexdigest()


def _mailed_copy(calendar: icalendar.Calendar, method: Method) -> bytes:
    """The iCalendar that goes out: METHOD, our bookkeeping left out, attendees asked to answer."""
    copy = icalendar.Calendar.from_ical(calendar.to_ical())
    copy.pop(SENT_DIGEST, None)
    copy.pop("METHOD", None)
    copy.add("METHOD", method)
    for event in copy.walk("VEVENT"):
        if method == "CANCEL":
            event.pop("STATUS", None)
            event.add("STATUS", "CANCELLED")
        for line in attendee_lines(event):
            line.params.pop(REPLY_STAMP, None)
            if method == "REQUEST" and str(line.params.get("PARTSTAT", "NEEDS-ACTION")).upper() == "NEEDS-ACTION":
                line.params["RSVP"] = "TRUE"
    # icalendar orders VCALENDAR properties as added; RFC 6047 readers look for METHOD anywhere in it.
    return bytes(copy.to_ical())


def _body(record: Record, calendar: icalendar.Calendar, method: Method) -> tuple[str, str]:
    subject = record.subject or "Meeting"
    if method == "CANCEL":
        return f"Canceled: {subject}", f"The meeting \"{subject}\" is canceled."
    lines = [f"You are invited to \"{subject}\"."]
    master = next((e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e), None)
    if master is not None and "DTSTART" in master:
        start = master["DTSTART"].dt
        end = master["DTEND"].dt if "DTEND" in master else None
        zone = str(master["DTSTART"].params.get("TZID", "UTC" if getattr(start, "tzinfo", None) else ""))
        lines.append(f"When: {start}{f' - {end}' if end is not None else ''}{f' ({zone})' if zone else ''}")
        if "RRULE" in master:
            lines.append(f"Repeats: {master['RRULE'].to_ical().decode()}")
    if record.location:
        lines.append(f"Where: {record.location}")
    if record.description:
        lines += ["", record.description]
    return subject, "\n".join(lines)


def _queue_email(uow: UnitOfWork, principal: Principal, record: Record, calendar: icalendar.Calendar,
                 recipients: list[str], ics: bytes, method: Method) -> uuid.UUID:
    session = uow.session
    subject, text = _body(record, calendar, method)
    values: dict[str, object] = {
        "activity_type": "email", "direction_outgoing": True, "subject": subject[:400], "body_text": text,
        "parties": [{"role": "to", "address": address} for address in recipients],
    }
    if record.regarding_type and record.regarding_id:
        values.update(regarding_type=record.regarding_type, regarding_id=record.regarding_id)
    owner = OwnerRef("user", record.owning_user_id) if record.owning_user_id else None
    email = ActivityService(SharedWork(uow), principal).create(values, owner)
    sha256 = hashlib.sha256(ics).hexdigest()
    if session.get(MailBlob, sha256) is None:
        session.add(MailBlob(sha256=sha256, size=len(ics), content=ics))
    session.add(EmailAttachment(id=uuid.uuid4(), email_id=email.id, filename="invite.ics",
                                content_type="text/calendar", size=len(ics), sha256=sha256))
    session.flush()
    request_send(SharedWork(uow), principal, email.id)
    return email.id
