"""ISO 8601 durations as rules write them: "P1D", "-P1D" (a day before), "PT4H", "P1W", "P2DT30M". Years and
months are refused: their length depends on the date, and a rule's offset must mean the same every time."""

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^(?P<sign>[-+])?P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_duration(text: object) -> timedelta:
    """The duration `text` stands for; ValueError says what is wrong."""
    found = _DURATION.match(text.strip().upper()) if isinstance(text, str) else None
    parts = {k: int(v) for k, v in found.groupdict().items() if k != "sign" and v is not None} if found else {}
    if not parts:
        raise ValueError(f"{text!r} is not an ISO 8601 duration in weeks, days, hours, minutes or seconds (P1D)")
    value = timedelta(**parts)
    return -value if found and found["sign"] == "-" else value
