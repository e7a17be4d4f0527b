"""Message-ID, In-Reply-To, References and Date, read defensively: these headers decide threading and
dedupe, and real mail has them missing, doubled, wrapped oddly or garbled."""

import datetime as dt
from email.utils import parsedate_to_datetime

from crm_core.message_ids import MSGID as _MSGID
from crm_core.message_ids import normalise_message_id

__all__ = ["message_ids", "normalise_message_id", "parse_date"]


def message_ids(value: str | None) -> tuple[str, ...]:
    """Every bracketed id in a References or In-Reply-To value, normalised, in order, without repeats."""
    seen: dict[str, None] = {}
    for token in _MSGID.findall(str(value or "")):
        normalised = normalise_message_id(f"<{token}>")
        if normalised:
            seen.setdefault(normalised, None)
    return tuple(seen)


def parse_date(value: str | None) -> dt.datetime | None:
    """An aware UTC datetime, or None for a missing or garbled Date. A date without a zone ("-0000" or none)
    is taken as UTC, which RFC 5322 says it is when the zone is unknown."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None or not 1970 <= parsed.year <= 9999:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None
