"""calendar_sync's errors. Connectors translate their library's exceptions (caldav/requests, exchangelib,
httpx, msal) into these at the boundary, so one policy decides retry, resync, quarantine or stop.

The temporary, authentication and cursor errors are mailbridge's own: an Exchange calendar goes through the
mailbox's connection code, which raises them already, and the workers' retry policy knows them. The errors
below are the ones only a calendar has."""

from crm_core.errors import CrmError
from mailbridge.errors import AuthenticationFailed, ConnectionFailed, CursorInvalid, TemporaryFailure

__all__ = [
    "AuthenticationFailed", "CalendarError", "CalendarMissing", "ConnectionFailed", "CursorInvalid",
    "ItemBroken", "NotFound", "PreconditionFailed", "ReadOnly", "TemporaryFailure",
]


class CalendarError(CrmError):
    """Root of the calendar-only errors. `reason` is a short stable code."""

    status = 502
    title = "Calendar server error"
    reason = "unknown"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail, reason=reason or type(self).reason)
        if reason is not None:
            self.reason = reason


class CalendarMissing(CalendarError):
    """The configured calendar (collection, feed) does not exist or is not a calendar."""

    reason = "calendar_missing"


class PreconditionFailed(CalendarError):
    """The item changed on the server since we read it (If-Match failed, a stale ChangeKey): read it again."""

    status = 409
    reason = "precondition_failed"


class NotFound(CalendarError):
    """The item is gone from the server."""

    status = 404
    reason = "not_found"


class ReadOnly(CalendarError):
    """The store cannot be written (an iCalendar feed, a read-only share)."""

    status = 409
    reason = "read_only"


class ItemBroken(CalendarError):
    """One calendar object that cannot be read (bad iCalendar, no UID, no event). The sync quarantines its
    raw bytes with this reason and goes on with the rest."""

    status = 422
    title = "Unreadable calendar object"
    reason = "bad_icalendar"
