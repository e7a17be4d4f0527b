"""Time zones: IANA inside, everything else translated at the edge.

Exchange names zones the Windows way ("W. Europe Standard Time"); tzlocal ships CLDR's windowsZones table
(generated from it, kept current by its maintainers), which maps each to its IANA zone. iCalendar TZIDs are
often IANA names already, sometimes Windows names (Outlook's exports), sometimes made-up names defined by a
VTIMEZONE in the same file: icalendar resolves those itself when it parses the file."""

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

from calendar_sync.errors import CalendarError

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT", "Z", "Coordinated Universal Time", "tzone://Microsoft/Utc"})


class UnknownTimeZone(CalendarError):
    status = 422
    title = "Unknown time zone"
    reason = "unknown_time_zone"


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone for an IANA or Windows name. Raises UnknownTimeZone for anything else."""
    cleaned = name.strip().strip('"')
    if cleaned in UTC_NAMES:
        return ZoneInfo("UTC")
    iana = win_tz.get(cleaned, cleaned)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(f"unknown time zone {name!r}") from exc


def iana_name(name: str) -> str:
    """The IANA name for an IANA or Windows name."""
    return zone(name).key


def windows_name(iana: str) -> str:
    """The Windows name Exchange expects for an IANA zone (CLDR's primary mapping); UTC for UTC."""
    key = iana_name(iana)
    if key == "UTC":
        return "UTC"
    try:
        return tz_win[key]
    except KeyError:
        raise UnknownTimeZone(f"Exchange has no Windows zone for {iana!r}") from None
