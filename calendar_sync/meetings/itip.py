"""iTIP (RFC 5546) as it arrives by mail (iMIP, RFC 6047): the text/calendar part of a message read into one
`MeetingMessage` (its METHOD and the CalendarItem it carries), who may send it, and whether it is newer than
what the CRM holds.

METHOD comes from the VCALENDAR, else from the MIME part's `method` parameter (RFC 6047 section 2.4 says they
agree; some senders set only one). The object is read with CalendarItem's semantics: one UID, its events.

Ordering (RFC 5546 section 2.1.5): a message is newer when its SEQUENCE is higher, or the same with a later
DTSTAMP. An attendee's REPLY is ordered against that attendee's previous reply (its DTSTAMP)."""

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import icalendar

from calendar_sync.appointments.events import address_of, as_list, to_column, utc_stamp
from calendar_sync.errors import ItemBroken
from calendar_sync.items import CalendarItem

METHODS = frozenset({"REQUEST", "REPLY", "CANCEL"})


class NotMeetingMail(ItemBroken):
    """A text/calendar part with a METHOD this CRM does not act on (PUBLISH, COUNTER, REFRESH...)."""

    reason = "unsupported_itip_method"


@dataclass(frozen=True)
class MeetingMessage:
    method: str
    item: CalendarItem

    @property
    def uid(self) -> str:
        return self.item.uid

    @property
    def events(self) -> list[icalendar.Event]:
        return self.item.events

    @property
    def first(self) -> icalendar.Event:
        return self.events[0]

    @property
    def organizer(self) -> str | None:
        return next((address_of(e["ORGANIZER"]) for e in self.events if "ORGANIZER" in e), None)

    @property
    def organizer_sent_by(self) -> str | None:
        """The delegate who may send for the organizer (ORGANIZER;SENT-BY=, RFC 5545 section 3.2.18)."""
        line = next((e["ORGANIZER"] for e in self.events if "ORGANIZER" in e), None)
        sent_by = getattr(line, "params", {}).get("SENT-BY") if line is not None else None
        return address_of(sent_by) if sent_by else None

    @property
    def recurrence_ids(self) -> list[datetime]:
        """The occurrences (as the CRM's UTC column values) it is about; empty: the whole meeting."""
        return [to_column(e["RECURRENCE-ID"].dt) for e in self.events if "RECURRENCE-ID" in e]

    @property
    def is_for_occurrences(self) -> bool:
        """Only overridden occurrences, no master: a message about some occurrences of a series."""
        return bool(self.events) and all("RECURRENCE-ID" in e for e in self.events)


def parse(content: bytes, mime_method: str | None = None) -> MeetingMessage:
    """The meeting message of a text/calendar part. Raises ItemBroken (NotMeetingMail for other METHODs)."""
    text = content.decode("utf-8", errors="replace")
    item = CalendarItem(text)
    calendar = item.calendar  # raises ItemBroken when it is not iCalendar
    method = str(calendar.get("METHOD", "") or mime_method or "").strip().upper()
    if not method:
        raise ItemBroken("a text/calendar part without METHOD is no meeting message")
    if method not in METHODS:
        raise NotMeetingMail(f"METHOD:{method} is not acted on")
    if not item.events:
        raise ItemBroken("the meeting message holds no VEVENT")
    item.uid  # noqa: B018 - raises ItemBroken without a single UID
    # What the CRM keeps is a calendar object, which carries no METHOD (RFC 4791 section 4.1).
    calendar.pop("METHOD", None)
    return MeetingMessage(method, CalendarItem.from_calendar(calendar))


def mime_methods(raw: bytes) -> list[str]:
    """The `method` parameters of the message's text/calendar parts, in order (read only when a VCALENDAR
    lacks METHOD: the normalised attachment keeps the content type without its parameters)."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [str(part.get_param("method") or "") for part in message.walk()
            if part.get_content_type() == "text/calendar"]


# --- ordering ----------------------------------------------------------------------------------------------
def sequence_of(event: icalendar.Event) -> int:
    try:
        return int(str(event.get("SEQUENCE", 0)))
    except ValueError:
        return 0


def stamp_of(event: icalendar.Event) -> datetime | None:
    try:
        return utc_stamp(event.get("DTSTAMP"))
    except ValueError:  # found by tests/fuzz: an unreadable DTSTAMP (BrokenCalendarProperty) orders as none
        return None


def is_newer(sequence: int, stamp: datetime | None, have_sequence: int | None, have_stamp: datetime | None) -> bool:
    """Whether (SEQUENCE, DTSTAMP) is newer than what is held. Without a held DTSTAMP, the same SEQUENCE with
    any DTSTAMP counts as newer (the CRM's own edits keep none); without an incoming one, it does not."""
    have_sequence = have_sequence or 0
    if sequence != have_sequence:
        return sequence > have_sequence
    if stamp is None:
        return False
    return have_stamp is None or stamp > have_stamp


# --- who sent it -------------------------------------------------------------------------------------------
def attendee_lines(event: icalendar.Event) -> list[Any]:
    return [a for a in as_list(event.get("ATTENDEE")) if address_of(a)]


def may_send_as(originators: set[str], address: str | None, sent_by: str | None) -> bool:
    """Whether every originator of the mail (From, and Sender if present) is `address` or its delegate."""
    allowed = {a for a in (address, sent_by) if a}
    return bool(originators) and bool(allowed) and originators <= allowed
