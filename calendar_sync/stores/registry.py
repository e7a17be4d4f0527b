"""The one place a calendar's kind picks its store: no `if kind == ...` anywhere else.

Opening a CalDAV calendar whose URL is a server or principal discovers its calendars once and keeps the one
it settled on (`Calendar.resolved_url`), so later passes go straight to the collection."""

import ssl
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from calendar_sync.errors import CalendarError
from calendar_sync.stores.base import CalendarStore
from crm_core.models.calendars import Calendar
from crm_core.services.calendars import CalendarConnection, calendar_connection
from crm_core.services.mailboxes import MailboxConnection, connection_of


@dataclass(frozen=True)
class StoreOptions:
    timeout: float = 30.0
    verify: bool | str = True  # CalDAV (requests): verify certificates (a CA bundle's path for a private CA)
    # Exchange (EWS, Graph): the TLS context to trust the server with; None is the system's trust store.
    # A context, not a path, because mailbridge's Exchange clients take one (and keep clients per context).
    ssl_context: ssl.SSLContext | None = None


Opener = Callable[[Session, Calendar, CalendarConnection, StoreOptions], CalendarStore]


def _caldav(session: Session, calendar: Calendar, conn: CalendarConnection, options: StoreOptions) -> CalendarStore:
    from calendar_sync.stores.caldav import CaldavStore
    from calendar_sync.stores.caldav_discovery import discover

    url = calendar.resolved_url
    if url is None:
        found = discover(conn.url or "", conn.username, conn.password, timeout=options.timeout,
                         verify=options.verify)
        url = found[0].url
        calendar.resolved_url = url
        session.flush()
    return CaldavStore(url, conn.username, conn.password, timeout=options.timeout, verify=options.verify)


def _ics(session: Session, calendar: Calendar, conn: CalendarConnection, options: StoreOptions) -> CalendarStore:
    from calendar_sync.stores.ics import IcsFeedStore

    source = conn.url or ""
    return IcsFeedStore(source.removeprefix("file://"), username=conn.username, password=conn.password,
                        timeout=options.timeout)


def _ews(session: Session, calendar: Calendar, conn: CalendarConnection, options: StoreOptions) -> CalendarStore:
    from calendar_sync.stores.ews import EwsCalendarStore
    from mailbridge.sources.ews.settings import EwsSettings

    return EwsCalendarStore(EwsSettings.of_connection(_mailbox_connection(session, calendar),
                                                      timeout=options.timeout, ssl_context=options.ssl_context))


def _graph(session: Session, calendar: Calendar, conn: CalendarConnection, options: StoreOptions) -> CalendarStore:
    from calendar_sync.stores.graph import GraphCalendarStore
    from mailbridge.sources.graph import GraphSettings
    from mailbridge.sources.graph.client import GraphClient

    # The mailbox's own Graph settings: its app registration, authority and throttling budget. A refresh token
    # Entra rotates (delegated access) is not stored from here; the mail source stores the ones it gets.
    settings = GraphSettings.of_connection(_mailbox_connection(session, calendar), timeout=options.timeout,
                                           ssl_context=options.ssl_context)
    return GraphCalendarStore(GraphClient(settings))


def _mailbox_connection(session: Session, calendar: Calendar) -> MailboxConnection:
    """An Exchange calendar's way in: its mailbox's connection (the same login, the same throttling)."""
    if calendar.mailbox is None:
        raise CalendarError(f"the calendar {calendar.name!r} has no mailbox", reason="calendar_missing")
    return connection_of(session, calendar.mailbox)


OPENERS: dict[str, Opener] = {"caldav": _caldav, "ics": _ics, "ews": _ews, "graph": _graph}


def open_store(session: Session, calendar: Calendar, options: StoreOptions | None = None) -> CalendarStore:
    """The server side of a calendar, connected with its decrypted credentials."""
    opener = OPENERS.get(calendar.kind)
    if opener is None:
        raise CalendarError(f"calendars of kind {calendar.kind!r} cannot be synced yet", reason="unsupported")
    return opener(session, calendar, calendar_connection(session, calendar), options or StoreOptions())
