"""Bodies of calendars. The CalDAV password is write-only: taken as a secret string (never echoed, not even in
a validation error); the output only says whether one is set."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, SecretStr

from crm_core.api.schemas.common import RecordOut, Strict

Kind = Literal["caldav", "ews", "graph", "ics"]
Policy = Literal["crm_wins", "server_wins", "newest_wins"]
Filter = Literal["tracked", "known_attendees"]

_KIND = ("caldav (a CalDAV server: a calendar collection, or a principal or server URL to discover it from); "
         "ews or graph (the calendar of an Exchange mailbox, through the mailbox's connection); ics (a read-only "
         "iCalendar feed: an http(s) URL or a file path).")
_POLICY = ("When an appointment changed in the CRM and on the server since the last sync: crm_wins, server_wins, "
           "or newest_wins (by the server's LAST-MODIFIED). Every conflict is logged with both versions.")
_FILTER = ("Which server events come into the CRM: tracked (carrying the track category, or written by the CRM), "
           "or known_attendees (also those with a CRM contact, lead or account among organizer and attendees).")


class _CalendarFields(Strict):
    url: str | None = Field(default=None, max_length=1000, description="caldav and ics only.")
    username: str | None = Field(default=None, max_length=320, description="caldav (and a protected feed).")
    password: SecretStr | None = Field(default=None, min_length=1, max_length=4096, description=(
        "Write-only: stored encrypted, never returned (see has_password); null removes it."))
    mailbox_id: uuid.UUID | None = Field(default=None, description="ews and graph: the mailbox whose calendar.")
    conflict_policy: Policy | None = Field(default=None, description=_POLICY)
    incoming_filter: Filter | None = Field(default=None, description=_FILTER)
    track_category: str | None = Field(default=None, max_length=255,
                                       description='The category that marks a tracked event (default "Tracked to '
                                                   'CRM").')
    enabled: bool | None = None


class CalendarCreate(_CalendarFields):
    name: str = Field(min_length=1, max_length=160)
    kind: Kind = Field(description=_KIND)
    user_id: uuid.UUID | None = Field(default=None, description="Whose appointments; default the caller "
                                      "(administrators may give another user).")
    conflict_policy: Policy = Field(default="newest_wins", description=_POLICY)
    incoming_filter: Filter = Field(default="known_attendees", description=_FILTER)
    track_category: str = Field(default="Tracked to CRM", max_length=255)
    enabled: bool = True


class CalendarUpdate(_CalendarFields):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    user_id: uuid.UUID | None = None


class CalendarOut(RecordOut):
    name: str
    kind: str
    url: str | None
    username: str | None
    has_password: bool
    mailbox_id: uuid.UUID | None
    user_id: uuid.UUID
    business_unit_id: uuid.UUID
    conflict_policy: str
    incoming_filter: str
    track_category: str
    enabled: bool
    read_only: bool
    resolved_url: str | None
    last_synced_on: datetime | None
    last_error_reason: str | None
    last_error_message: str | None
    retry_after: datetime | None
