"""Meeting mail met by tracking: each text/calendar part of a newly tracked mail applied to the CRM's
appointments (the pipeline's `meeting_mail` hook, plugged in by workers).

- REQUEST (from the organizer): creates the meeting for the mailbox's user (a queue's mailbox only updates a
  meeting the CRM has) or rewrites it when newer; a REQUEST for some occurrences writes only their exceptions.
- REPLY (from an attendee of the meeting): that attendee's PARTSTAT, nothing else.
- CANCEL (from the organizer): the meeting is Canceled; for some occurrences, only those leave the series.

Everything is written through calendar_sync.appointments (write_item / render), as the calendar sync writes.
A part that cannot be read, or that someone other than the organizer (attendee) sent, is quarantined in
calendar_quarantine ("mail:<Message-ID>") and changes nothing; the mail itself stays tracked either way."""

import logging
import uuid
from datetime import datetime

import icalendar
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from calendar_sync.appointments.events import CANCELED, address_of, to_column
from calendar_sync.appointments.from_ical import Record, write_item
from calendar_sync.appointments.lookup import find_meeting
from calendar_sync.appointments.parties import people_of
from calendar_sync.appointments.to_ical import render
from calendar_sync.errors import CalendarError
from calendar_sync.items import CalendarItem
from calendar_sync.meetings.itip import (
    MeetingMessage,
    NotMeetingMail,
    attendee_lines,
    is_newer,
    may_send_as,
    mime_methods,
    parse,
    sequence_of,
    stamp_of,
)
from crm_core.db.savepoints import savepoint
from crm_core.models import Appointment, Email, RecurringAppointment, User
from crm_core.models.calendars import Calendar, CalendarQuarantine
from mailbridge.message import NormalisedMessage
from mailbridge.tracking.context import MailboxContext

log = logging.getLogger(__name__)

CALENDAR_TYPE = "text/calendar"
SPOOFED = "spoofed_meeting_mail"
FAILED = "meeting_mail_failed"
# On the attendee's ATTENDEE line in the kept iCalendar: the DTSTAMP of the reply that set its PARTSTAT, so an
# older reply arriving later is recognised (an x-param, RFC 5545 section 3.2; other programs keep or drop it).
REPLY_STAMP = "X-MAILCRM-REPLY-STAMP"


class Spoofed(CalendarError):
    """The mail's sender is not who the meeting message speaks for (organizer or attendee)."""

    reason = SPOOFED


def apply_meeting_mail(session: Session, ctx: MailboxContext, message: NormalisedMessage,
                       email_id: uuid.UUID) -> None:
    """The hook: every text/calendar part of the mail, each in a savepoint of its own (what one part breaks
    is undone and quarantined; the email and the rest of the batch go on)."""
    parts = [a for a in message.attachments if a.content_type == CALENDAR_TYPE]
    methods = mime_methods(message.raw) if parts else []
    seen: set[str] = set()
    source = f"mail:{message.message_id or email_id}"
    for n, part in enumerate(parts):
        if part.content is None or part.sha256 in seen:  # too large to keep, or the same object attached twice
            continue
        seen.add(part.sha256)
        try:
            meeting = parse(part.content, methods[n] if n < len(methods) else None)
        except NotMeetingMail as exc:
            log.info("%s: %s", source, exc)
            continue
        except CalendarError as exc:
            _quarantine(session, source, part.content, exc.reason, str(exc))
            continue
        nested = savepoint(session)
        try:
            outcome = apply(session, ctx, message, email_id, meeting)
        except (OperationalError, InterfaceError):
            nested.rollback()
            raise  # the database itself: the batch stops, as tracking does
        except CalendarError as exc:
            nested.rollback()
            log.warning("%s: meeting mail %s refused: %s", source, meeting.method, exc)
            _quarantine(session, source, part.content, exc.reason, str(exc))
            continue
        except Exception as exc:  # a bug here must not cost the mail its tracking
            nested.rollback()
            log.exception("%s: applying meeting mail %s failed", source, meeting.method)
            _quarantine(session, source, part.content, FAILED, f"{type(exc).__name__}: {exc}")
            continue
        nested.commit()
        log.info("%s: %s %s: %s", source, meeting.method, meeting.uid, outcome)


def _quarantine(session: Session, source: str, raw: bytes, reason: str, detail: str) -> None:
    session.add(CalendarQuarantine(calendar_id=None, source=source[:2000], raw=raw, reason=reason[:32],
                                   message=detail))
    session.flush()


def apply(session: Session, ctx: MailboxContext, message: NormalisedMessage, email_id: uuid.UUID,
          meeting: MeetingMessage) -> str:
    """Applies one meeting message; returns what it did (for the log). Raises Spoofed, ItemBroken."""
    originators = {a.address for a in message.from_} | ({message.sender.address} if message.sender else set())
    record = find_meeting(session, meeting.uid)
    if meeting.method == "REPLY":
        return _reply(session, originators, record, meeting)
    if not may_send_as(originators, meeting.organizer, meeting.organizer_sent_by):
        raise Spoofed(f"{meeting.method} for {meeting.organizer} sent by {', '.join(sorted(originators))}")
    if record is not None:
        have = people_of(session, record.parties)[0]
        if have is not None and have != meeting.organizer:
            raise Spoofed(f"{meeting.uid} is organized by {have}, not {meeting.organizer}")
    if meeting.method == "CANCEL":
        return _cancel(session, record, meeting)
    return _request(session, ctx, email_id, record, meeting)


def _exception(session: Session, master: RecurringAppointment, recurrence_id: datetime) -> Appointment | None:
    return session.scalar(select(Appointment).where(
        Appointment.series_id == master.id, Appointment.instance_type_code == 3,
        Appointment.recurrence_id == recurrence_id))


def _held(session: Session, record: Record, event: icalendar.Event) -> Record:
    """The row a message's event is ordered against: its occurrence's exception if the CRM has one, else the
    meeting itself."""
    if "RECURRENCE-ID" in event and isinstance(record, RecurringAppointment):
        row = _exception(session, record, to_column(event["RECURRENCE-ID"].dt))
        if row is not None:
            return row
    return record


def _newer(session: Session, record: Record, event: icalendar.Event) -> bool:
    held = _held(session, record, event)
    return is_newer(sequence_of(event), stamp_of(event), held.ical_sequence, held.ical_dtstamp)


def _owner_calendar(session: Session, ctx: MailboxContext) -> Calendar:
    """write_item takes the calendar whose user owns what it creates; meeting mail has a mailbox instead. A
    transient Calendar carrying the mailbox's user stands for it (never added to the session)."""
    user = session.get(User, ctx.owner_user_id)
    if user is None:
        raise CalendarError(f"the mailbox {ctx.name!r} has no user to own the meeting")
    return Calendar(user_id=user.id, business_unit_id=user.business_unit_id, user=user)


# --- REQUEST ---------------------------------------------------------------------------------------------
def _request(session: Session, ctx: MailboxContext, email_id: uuid.UUID, record: Record | None,
             meeting: MeetingMessage) -> str:
    if record is None:
        if ctx.queue_id is not None or ctx.owner_user_id is None:
            return "ignored: a queue's mailbox creates no meeting"
        record = write_item(session, _owner_calendar(session, ctx), meeting.item)
        done = f"created {record.activity_type} {record.id}"
    elif meeting.is_for_occurrences and isinstance(record, RecurringAppointment):
        events = [e for e in meeting.events if _newer(session, record, e)]
        if not events:
            return "ignored: not newer than the CRM's occurrences"
        write_item(session, _owner_calendar_of(session, record), _with_overrides(session, record, events), record)
        done = f"updated {len(events)} occurrence(s) of {record.id}"
    else:
        if not _newer(session, record, meeting.first):
            return "ignored: not newer than the CRM's meeting"
        write_item(session, _owner_calendar_of(session, record), meeting.item, record)
        done = f"updated {record.activity_type} {record.id}"
    _inherit_regarding(session, record, email_id)
    return done


def _owner_calendar_of(session: Session, record: Record) -> Calendar:
    """write_item rewriting an existing record reads nothing of the calendar; one with its owner is passed."""
    user = session.get(User, record.owning_user_id) if record.owning_user_id else None
    return Calendar(user_id=record.owning_user_id, business_unit_id=record.owning_business_unit_id, user=user)


def _with_overrides(session: Session, record: RecurringAppointment, events: list[icalendar.Event]) -> CalendarItem:
    """The series as the CRM renders it, with `events` in place of the overrides of their occurrences."""
    calendar = render(session, record).calendar
    replaced = {to_column(e["RECURRENCE-ID"].dt) for e in events}
    calendar.subcomponents = [c for c in calendar.subcomponents if not (
        c.name == "VEVENT" and "RECURRENCE-ID" in c and to_column(c["RECURRENCE-ID"].dt) in replaced)]
    for event in events:
        calendar.add_component(event)
    return CalendarItem.from_calendar(calendar)


def _inherit_regarding(session: Session, record: Record, email_id: uuid.UUID) -> None:
    """A meeting regarding nothing yet is regarding what the invitation's email is regarding."""
    email = session.get(Email, email_id)
    if record.regarding_id is not None or email is None or email.regarding_id is None:
        return
    rows: list[Record] = [record]
    if isinstance(record, RecurringAppointment):
        rows += session.scalars(select(Appointment).where(Appointment.series_id == record.id,
                                                          Appointment.instance_type_code == 3))
    for row in rows:
        row.regarding_type, row.regarding_id = email.regarding_type, email.regarding_id
    session.flush()


# --- CANCEL ----------------------------------------------------------------------------------------------
def _cancel(session: Session, record: Record | None, meeting: MeetingMessage) -> str:
    if record is None:
        return "ignored: a meeting the CRM does not have"
    if meeting.is_for_occurrences and isinstance(record, RecurringAppointment):
        events = [e for e in meeting.events if _newer(session, record, e)]
        if not events:
            return "ignored: not newer than the CRM's occurrences"
        write_item(session, _owner_calendar_of(session, record),
                   _with_overrides(session, record, [_cancelled_occurrence(e) for e in events]), record)
        return f"canceled {len(events)} occurrence(s) of {record.id}"
    if not _newer(session, record, meeting.first):
        return "ignored: not newer than the CRM's meeting"
    record.statecode, record.statuscode = CANCELED
    record.ical_sequence, record.ical_dtstamp = sequence_of(meeting.first), stamp_of(meeting.first)
    session.flush()
    return f"canceled {record.id}"


def _cancelled_occurrence(event: icalendar.Event) -> icalendar.Event:
    """A CANCEL's override as a cancelled override of the series (which write_item turns into an EXDATE).
    RFC 5546 lets a CANCEL leave out DTSTART: the occurrence's own start is its RECURRENCE-ID."""
    out = icalendar.Event()
    for name, value in event.property_items(recursive=False, sorted=False)[1:-1]:
        if name not in ("STATUS", "ATTENDEE"):
            out.add(name, value)
    if "DTSTART" not in out:
        out.add("DTSTART", event["RECURRENCE-ID"].dt)
    out.add("STATUS", "CANCELLED")
    return out


# --- REPLY -----------------------------------------------------------------------------------------------
def _reply(session: Session, originators: set[str], record: Record | None, meeting: MeetingMessage) -> str:
    if record is None:
        return "ignored: a reply about a meeting the CRM does not have"
    done = []
    for event in meeting.events:
        lines = [a for a in attendee_lines(event)
                 if may_send_as(originators, address_of(a), _sent_by(a))]
        if not lines:
            raise Spoofed(f"a REPLY for {', '.join(address_of(a) for a in attendee_lines(event)) or 'nobody'} "
                          f"sent by {', '.join(sorted(originators))}")
        held = _held(session, record, event)
        attendees = {a for _, a in people_of(session, held.parties)[1]}
        for line in lines:
            if address_of(line) not in attendees:
                raise Spoofed(f"{address_of(line)} is no attendee of {meeting.uid}")
        if sequence_of(event) < (held.ical_sequence or 0):
            continue  # an answer to an older version of the meeting: the organizer has asked again since
        done += [f"{address_of(line)} {_set_partstat(session, record, event, line)}" for line in lines]
    return "; ".join(done) or "ignored: replies to older versions"


def _sent_by(line: object) -> str | None:
    value = getattr(line, "params", {}).get("SENT-BY")
    return address_of(value) if value else None


def _set_partstat(session: Session, record: Record, event: icalendar.Event, line: object) -> str:
    """The attendee's PARTSTAT (and the reply's DTSTAMP) on their line in the kept iCalendar, unless the CRM
    already has a later reply of theirs."""
    address = address_of(line)
    partstat = str(getattr(line, "params", {}).get("PARTSTAT", "NEEDS-ACTION")).upper()
    stamp = stamp_of(event)
    calendar = render(session, record).calendar
    target = _event_for(calendar, event)
    if target is None:
        return "ignored: an occurrence the CRM keeps no exception for"
    mine = next((a for a in attendee_lines(target) if address_of(a) == address), None)
    if mine is None:
        return "ignored: not on the meeting's attendee list"
    previous = mine.params.get(REPLY_STAMP)
    if previous and stamp is not None and stamp <= to_column(icalendar.vDDDTypes.from_ical(previous)):
        return "ignored: an older reply"
    mine.params["PARTSTAT"] = partstat
    if stamp is not None:
        mine.params[REPLY_STAMP] = stamp.strftime("%Y%m%dT%H%M%SZ")
    record.ical_source = calendar.to_ical().decode()
    session.flush()
    return partstat


def _event_for(calendar: icalendar.Calendar, event: icalendar.Event) -> icalendar.Event | None:
    wanted = to_column(event["RECURRENCE-ID"].dt) if "RECURRENCE-ID" in event else None
    for candidate in calendar.walk("VEVENT"):
        have = to_column(candidate["RECURRENCE-ID"].dt) if "RECURRENCE-ID" in candidate else None
        if have == wanted:
            return candidate
    return None
