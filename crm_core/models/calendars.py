"""Calendars the CRM syncs with (CalDAV collections, Exchange mailboxes' calendars through EWS or Graph,
read-only iCalendar feeds), the per-item sync status that makes the two-way sync resumable, the conflict log,
and the quarantine of calendar objects that could not be read.

The status rows are vdirsyncer's status, kept in the database: for each calendar object (one UID, master and
overridden instances together) the CRM side's href and version, the server side's href and ETag, and the
hash of the content each side had when they last agreed. calendar_sync.sync plans every action from them."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, RecordMixin
from crm_core.db.types import utcnow
from crm_core.models.mailboxes import Mailbox
from crm_core.models.security import User

CALENDAR_KINDS = ("caldav", "ews", "graph", "ics")
CONFLICT_POLICIES = ("crm_wins", "server_wins", "newest_wins")
# Which server events enter the CRM: only those tracked (the track category, or one the CRM wrote), or also
# those with a CRM contact, lead or account among the organizer and attendees.
INCOMING_FILTERS = ("tracked", "known_attendees")
DEFAULT_TRACK_CATEGORY = "Tracked to CRM"


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Calendar(RecordMixin, Base):
    """One remote calendar synced with one user's appointments. CalDAV and feed calendars carry their own URL
    and credentials; Exchange calendars (ews, graph) go through their mailbox's server profile and secrets."""

    __tablename__ = "calendars"
    __audited__ = True
    __audit_redacted__ = frozenset({"password_secret"})

    name: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    # CalDAV: the calendar collection, or a principal/server URL to discover it from; ics: an http(s) URL or a
    # file path. Exchange: null (the mailbox's own calendar).
    url: Mapped[str | None] = mapped_column(String(1000))
    username: Mapped[str | None] = mapped_column(String(320))
    password_secret: Mapped[str | None] = mapped_column(Text)
    mailbox_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True)
    # The user whose appointments go to this calendar and who owns what comes from it.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    business_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_units.id"), index=True)
    conflict_policy: Mapped[str] = mapped_column(String(12), default="newest_wins")
    incoming_filter: Mapped[str] = mapped_column(String(16), default="known_attendees")
    track_category: Mapped[str] = mapped_column(String(255), default=DEFAULT_TRACK_CATEGORY)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The collection the discovery settled on (CalDAV), so later passes skip it.
    resolved_url: Mapped[str | None] = mapped_column(String(1000))
    # The server's incremental state: a sync-collection token, an EWS SyncState, a Graph deltaLink. Null: a
    # full listing next time.
    sync_cursor: Mapped[str | None] = mapped_column(Text)
    last_synced_on: Mapped[datetime | None]
    last_error_reason: Mapped[str | None] = mapped_column(String(32))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[datetime | None]  # the server asked us to wait until then

    mailbox: Mapped[Mailbox | None] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)

    __table_args__ = (
        CheckConstraint(_among("kind", CALENDAR_KINDS), name="calendar_kind"),
        CheckConstraint(_among("conflict_policy", CONFLICT_POLICIES), name="calendar_conflict_policy"),
        CheckConstraint(_among("incoming_filter", INCOMING_FILTERS), name="calendar_incoming_filter"),
        # Exchange calendars are a mailbox's; the others have a URL of their own.
        CheckConstraint("(kind IN ('ews', 'graph')) = (mailbox_id IS NOT NULL)", name="calendar_mailbox"),
        CheckConstraint("kind IN ('ews', 'graph') OR url IS NOT NULL", name="calendar_url"),
    )

    @property
    def has_password(self) -> bool:
        return self.password_secret is not None

    @property
    def read_only(self) -> bool:
        return self.kind == "ics"


class CalendarSyncItem(Base):
    """The sync status of one calendar object (one UID) of one calendar: where it is on each side, in which
    version, and the content hash (calendar_sync.items.CalendarItem.hash) each side had when they last agreed.
    `ignored`: the server's object does not concern the CRM (by the calendar's filter), or could not be read;
    it is looked at again only when its ETag changes."""

    __tablename__ = "calendar_sync_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    calendar_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(1000))
    # The CRM side: the appointment or recurring appointment (master) and the version it had.
    activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"),
                                                          index=True)
    crm_etag: Mapped[str | None] = mapped_column(String(200))
    # The server side.
    crm_hash: Mapped[str | None] = mapped_column(String(64))
    # The server side.
    remote_href: Mapped[str | None] = mapped_column(String(2000))
    remote_etag: Mapped[str | None] = mapped_column(String(500))
    remote_hash: Mapped[str | None] = mapped_column(String(64))
    ignored: Mapped[bool] = mapped_column(Boolean, default=False)
    synced_on: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("calendar_id", "uid", name="uq_calendar_sync_items_uid"),
        Index("ix_calendar_sync_items_href", "calendar_id", "remote_href"),
    )


class CalendarConflict(Base):
    """Both sides changed one object since the last sync: both versions as they were, the policy that decided
    and the side that won. Kept for an admin to review; the loser's version can be restored from here."""

    __tablename__ = "calendar_conflicts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    calendar_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(1000))
    activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"),
                                                          index=True)
    policy: Mapped[str] = mapped_column(String(12))
    winner: Mapped[str] = mapped_column(String(6))  # "crm" or "server"
    crm_version: Mapped[str | None] = mapped_column(Text)  # iCalendar text
    server_version: Mapped[str | None] = mapped_column(Text)
    detected_on: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("winner IN ('crm', 'server')", name="calendar_conflict_winner"),)


class CalendarQuarantine(Base):
    """A calendar object (from a store or from meeting mail) that could not be read: its raw bytes and why.
    The rest of the sync goes on; the object is tried again when its ETag changes."""

    __tablename__ = "calendar_quarantine"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    calendar_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"),
                                                          index=True)
    source: Mapped[str] = mapped_column(String(2000))  # the href, or "mail:<Message-ID>"
    etag: Mapped[str | None] = mapped_column(String(500))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(Text)
    quarantined_on: Mapped[datetime] = mapped_column(default=utcnow)
