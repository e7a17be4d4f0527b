"""Tracking tokens in subjects, as Dynamics' "CRM:0001234": a configurable prefix, a colon and digits.

The token carries the CRM's number of the thread's first mail, so a reply correlates even when its headers
were rewritten. Matching is case-insensitive and finds the token anywhere in the subject, with or without
the square brackets some clients add around it."""

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrackingTokens:
    prefix: str = "CRM"
    width: int = 7
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,19}", self.prefix):
            raise ValueError("a tracking token prefix is 1-20 letters, digits, '-' or '_', starting with a letter")
        pattern = re.compile(rf"\[?(?<![A-Za-z0-9]){re.escape(self.prefix)}:(\d{{1,20}})(?!\d)\]?", re.IGNORECASE)
        object.__setattr__(self, "_pattern", pattern)

    def format(self, number: int) -> str:
        """The token for `number`, zero-padded to `width` digits: format(1234) == "CRM:0001234"."""
        if number < 0:
            raise ValueError("a tracking number is not negative")
        return f"{self.prefix}:{number:0{self.width}d}"

    def parse(self, text: str) -> int | None:
        """The number of the first token found anywhere in `text`, or None."""
        match = self._pattern.search(text or "")
        return int(match.group(1)) if match else None

    def find(self, text: str) -> str | None:
        """The first token in `text` in canonical form (our prefix and padding), or None."""
        number = self.parse(text)
        return None if number is None else self.format(number)

    def remove(self, text: str) -> str:
        """`text` without any token (and without the brackets around one), whitespace collapsed."""
        return " ".join(self._pattern.sub(" ", text or "").split())

    def append(self, subject: str, number: int) -> str:
        """The subject an outgoing mail gets: the token appended once, never twice."""
        token = self.format(number)
        if self.parse(subject) == number:
            return subject
        return f"{self.remove(subject)} {token}".strip()
