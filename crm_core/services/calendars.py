"""Calendars a user's appointments sync with (crm_core.models.calendars.Calendar): a CalDAV collection, an
Exchange mailbox's calendar (EWS or Graph, through the mailbox's own connection), or a read-only iCalendar
feed. A user connects and changes his own calendars; an administrator those of anyone (the calendar privileges
at Organization depth). The CalDAV password is sealed at once (crm_core.security.secrets) and opened only by
`calendar_connection` for the connectors. A CalDAV or feed URL whose host is, or resolves to, a loopback or
link-local address is refused at save unless CRM_OUTBOUND_ALLOW lists it (crm_core.network_guard); a feed read
from a file on the server is an administrator's to connect."""

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm_core import network_guard
from crm_core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from crm_core.models import Mailbox, User
from crm_core.models.calendars import (
    CALENDAR_KINDS,
    CONFLICT_POLICIES,
    DEFAULT_TRACK_CATEGORY,
    INCOMING_FILTERS,
    Calendar,
)
from crm_core.security.privileges import Depth, Privilege
from crm_core.security.secrets import keyring_of, reveal
from crm_core.services.records import OwnerRef, RecordService

_DEFAULTS = {"conflict_policy": "newest_wins", "incoming_filter": "known_attendees", "enabled": True,
             "track_category": DEFAULT_TRACK_CATEGORY}
_CHOICES = {"kind": CALENDAR_KINDS, "conflict_policy": CONFLICT_POLICIES, "incoming_filter": INCOMING_FILTERS}


def secret_context(calendar_id: uuid.UUID) -> str:
    """Where a calendar's password lives; its ciphertext opens nowhere else."""
    return f"calendar:{calendar_id}:password"


@dataclass(frozen=True)
class CalendarConnection:
    """What a connector needs for one calendar, with the password in clear (never in repr)."""

    calendar_id: uuid.UUID
    kind: str
    url: str | None
    username: str | None
    password: str | None = field(default=None, repr=False)
    mailbox_id: uuid.UUID | None = None


def calendar_connection(session: Session, calendar: Calendar) -> CalendarConnection:
    """The calendar's URL and decrypted credentials. No access check: the sync acts for the organisation."""
    password = None
    if calendar.password_secret is not None:
        password = keyring_of(session).open(calendar.password_secret, secret_context(calendar.id))
    return CalendarConnection(calendar.id, calendar.kind, calendar.resolved_url or calendar.url, calendar.username,
                              password, calendar.mailbox_id)


def find_calendar(session: Session, name: str) -> Calendar:
    """A calendar by name or id (for the CLI)."""
    wanted = name.strip()
    clauses: list[Any] = [Calendar.name == wanted]
    with contextlib.suppress(ValueError):
        clauses.append(Calendar.id == uuid.UUID(wanted))
    calendar = session.scalar(select(Calendar).where(or_(*clauses)))
    if calendar is None:
        raise NotFound(f"no calendar named {wanted!r} (give its name; `crm calendar list`)")
    return calendar


class CalendarService(RecordService[Calendar]):
    entity_name = "calendar"
    links: ClassVar[dict[str, str]] = {}
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name", "last_synced_on"}

    @property
    def administers(self) -> bool:
        return self.principal.depth(self.entity_name, Privilege.WRITE) >= Depth.ORGANIZATION

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> Calendar:
        if owner is not None:
            raise ValidationFailed.field("owner_id", "a calendar is its user's: give user_id")
        self.principal.require(self.entity_name, Privilege.CREATE)
        record = Calendar(id=uuid.uuid4())
        values = {"user_id": self.principal.user_id, **values}
        self.apply(record, values, creating=True)
        self.session.add(record)
        self.session.flush()
        self.uow.commit()
        return record

    def update(self, record_id: uuid.UUID, values: dict[str, Any]) -> Calendar:
        record = self.get(record_id, Privilege.WRITE)
        if "kind" in values and values["kind"] != record.kind:
            raise ValidationFailed.field("kind", "a calendar's kind does not change; connect a new one")
        self.apply(record, values, creating=False)
        self.session.flush()
        self.uow.commit()
        return record

    def apply(self, record: Calendar, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        password = reveal(values.pop("password")) if "password" in values else ...
        old = (record.url, record.mailbox_id)
        super().apply(record, values, creating)
        self._check(record, values, creating)
        if (record.url, record.mailbox_id) != old and not creating:
            # Another collection: its sync state and statuses belong to the old one.
            record.resolved_url = record.sync_cursor = None
        if password is not ...:
            if password is not None and not password:
                raise ValidationFailed.field("password", "an empty password; send null to remove it")
            record.password_secret = None if password is None else keyring_of(self.session).seal(
                password, secret_context(record.id))
            record.last_error_reason = record.last_error_message = None

    def _check(self, record: Calendar, values: dict[str, Any], creating: bool) -> None:
        if creating:
            for key, default in _DEFAULTS.items():
                if getattr(record, key) is None:
                    setattr(record, key, default)
        for key, allowed in _CHOICES.items():
            if getattr(record, key) not in allowed:
                raise ValidationFailed.field(key, f"one of {', '.join(allowed)}")
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a calendar needs a name")
        if self.session.scalar(select(Calendar.id).where(Calendar.name == record.name, Calendar.id != record.id)):
            raise Conflict(f"another calendar is named {record.name!r}", field="name")
        if "user_id" in values:
            self._set_user(record, values["user_id"])
        if record.kind in ("ews", "graph"):
            self._check_mailbox(record)
        else:
            record.mailbox_id = None
            record.url = _url(record.kind, record.url)
            if urlsplit(record.url).scheme not in ("http", "https") and not self.administers:
                # A feed read from this server's disk: only an administrator chooses which file (docs/security.md).
                raise Forbidden("only an administrator connects a feed from a file on the server")
        record.username = (record.username or "").strip() or None
        record.track_category = (record.track_category or "").strip() or DEFAULT_TRACK_CATEGORY

    def _set_user(self, record: Calendar, user_id: Any) -> None:
        if user_id != self.principal.user_id and not self.administers:
            raise Forbidden("only an administrator connects a calendar for another user")
        user = self.session.get(User, user_id) if user_id else None
        if user is None or user.is_disabled:
            raise ValidationFailed.field("user_id", f"no enabled user with id {user_id}")
        record.user_id, record.business_unit_id = user.id, user.business_unit_id

    def _check_mailbox(self, record: Calendar) -> None:
        mailbox = self.session.get(Mailbox, record.mailbox_id) if record.mailbox_id else None
        if mailbox is None:
            raise ValidationFailed.field("mailbox_id", f"an Exchange calendar is a mailbox's: give its mailbox_id "
                                         f"(a {record.kind} mailbox)")
        if mailbox.server_profile.incoming_protocol != record.kind:
            raise ValidationFailed.field("mailbox_id", f"the mailbox {mailbox.name!r} is on a "
                                         f"{mailbox.server_profile.incoming_protocol} profile, not {record.kind}")
        if mailbox.user_id != record.user_id and not self.administers:
            raise Forbidden("only an administrator syncs another user's mailbox calendar")
        record.url = None


def _url(kind: str, url: str | None) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationFailed.field("url", "the calendar's URL" + (" or file path" if kind == "ics" else ""))
    parts = urlsplit(url)
    if kind == "caldav" and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ValidationFailed.field("url", "an http(s) URL of a CalDAV server, principal or calendar")
    if kind == "ics" and parts.scheme not in ("http", "https", "file", ""):
        raise ValidationFailed.field("url", "an http(s) URL or a file path of an iCalendar feed")
    if parts.scheme in ("http", "https"):
        network_guard.check_server_url(url, network_guard.configured_allow(), "url")
    return url
