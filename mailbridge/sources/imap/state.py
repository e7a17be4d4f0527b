"""A folder's sync state: what the last pass saw, enough for the next to ask only for changes.

`uidvalidity` tells whether UIDs still mean the same messages; `uidnext` and `highestmodseq` (RFC 7162)
let an unchanged folder be recognised from one SELECT; `flags` is the known uid -> flags map, which lets a
server without CONDSTORE be compared in full with the same results, filters what a server reports to what
really changed, and tells which VANISHED uids we had. It is stored compactly: the known UIDs and, per flag,
the UIDs carrying it, each as an IMAP sequence set ("1:500,502")."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mailbridge.errors import CursorInvalid

Flags = frozenset[str]
_VERSION = 1


def to_sequence_set(uids: Iterable[int]) -> str:
    """[1, 2, 3, 5] -> "1:3,5"."""
    ordered = sorted(set(uids))
    if not ordered:
        return ""
    ranges: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        ranges.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    ranges.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(ranges)


def from_sequence_set(text: str, star: int | None = None) -> list[int]:
    """"1:3,5" -> [1, 2, 3, 5]; "*" stands for `star` (the largest UID) when given."""
    uids: set[int] = set()
    for item in filter(None, (text or "").split(",")):
        low, _, high = item.partition(":")
        a = star if low == "*" and star is not None else int(low)
        b = a if not high else (star if high == "*" and star is not None else int(high))
        if a is None or b is None:
            raise ValueError(f"bad sequence set item {item!r}")
        lo, hi = min(a, b), max(a, b)
        if hi - lo > 10_000_000:
            raise ValueError("sequence set range too large")
        uids.update(range(lo, hi + 1))
    return sorted(uids)


@dataclass(frozen=True)
class FolderState:
    folder: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int | None = None
    flags: Mapping[int, Flags] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able cursor for the mailbox's folder row."""
        by_flag: dict[str, list[int]] = {}
        for uid, flags in self.flags.items():
            for flag in flags:
                by_flag.setdefault(flag, []).append(uid)
        return {
            "v": _VERSION,
            "folder": self.folder,
            "uidvalidity": self.uidvalidity,
            "uidnext": self.uidnext,
            "highestmodseq": self.highestmodseq,
            "uids": to_sequence_set(self.flags),
            "flags": {flag: to_sequence_set(uids) for flag, uids in sorted(by_flag.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FolderState":
        """Read a stored cursor; anything unreadable is `CursorInvalid` (the caller resyncs the folder)."""
        try:
            if data.get("v") != _VERSION:
                raise ValueError(f"unknown version {data.get('v')!r}")
            uids = from_sequence_set(str(data["uids"]))
            per_uid: dict[int, set[str]] = {uid: set() for uid in uids}
            for flag, text in dict(data["flags"]).items():
                for uid in from_sequence_set(str(text)):
                    per_uid.setdefault(uid, set()).add(str(flag))
            modseq = data.get("highestmodseq")
            return cls(
                folder=str(data["folder"]),
                uidvalidity=int(data["uidvalidity"]),
                uidnext=int(data["uidnext"]),
                highestmodseq=None if modseq is None else int(modseq),
                flags={uid: frozenset(f) for uid, f in per_uid.items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CursorInvalid(f"unreadable IMAP folder state: {exc}") from exc
