"""A folder's sync state: what the last pass saw, enough for the next to ask only for changes.

`uidvalidity` tells whether UIDs still mean the same messages; `uidnext` and `highestmodseq` (RFC 7162)
let an unchanged folder be recognised from one SELECT; `flags` is the known uid -> flags map, which lets a
server without CONDSTORE be compared in full with the same results, filters what a server reports to what
really changed, and tells which VANISHED uids we had. It is stored compactly: the known UIDs and, per flag,
the UIDs carrying it, each as an IMAP sequence set ("1:500,502")."""

from collections.abc import Iterable, Iterator, Mapping
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


class StoredFlags(Mapping[int, Flags]):
    """The uid -> flags map of a stored cursor, decoded only when first looked into. A folder of fifty
    thousand messages that did not change is recognised from its counts alone, and its cursor goes back as
    it came: decoding and encoding the map would cost more than the whole unchanged sync otherwise does."""

    def __init__(self, uids: str, flags: Mapping[str, str], count: int | None) -> None:
        self.uids, self.flag_sets, self._count = uids, dict(flags), count
        self._decoded: dict[int, Flags] | None = None

    @property
    def decoded(self) -> bool:
        return self._decoded is not None

    def _map(self) -> dict[int, Flags]:
        if self._decoded is None:
            per_uid: dict[int, list[str]] = {uid: [] for uid in from_sequence_set(self.uids)}
            for flag, text in sorted(self.flag_sets.items()):
                for uid in from_sequence_set(text):
                    per_uid.setdefault(uid, []).append(flag)
            shared: dict[tuple[str, ...], Flags] = {}  # one frozenset per combination, not one per message
            self._decoded = {uid: shared.setdefault(tuple(names), frozenset(names)) for uid, names in per_uid.items()}
        return self._decoded

    def __len__(self) -> int:
        return self._count if self._count is not None and self._decoded is None else len(self._map())

    def __getitem__(self, uid: int) -> Flags:
        return self._map()[uid]

    def __iter__(self) -> Iterator[int]:
        return iter(self._map())


def _check_sequence_set(text: str) -> None:
    """Raises ValueError unless `text` is a sequence set of UIDs ("1:500,502"), without expanding it."""
    for item in filter(None, text.split(",")):
        low, _, high = item.partition(":")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"bad sequence set item {item!r}")
        if high and abs(int(high) - int(low)) > 10_000_000:
            raise ValueError("sequence set range too large")


@dataclass(frozen=True)
class FolderState:
    folder: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int | None = None
    flags: Mapping[int, Flags] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able cursor for the mailbox's folder row."""
        stored = self.flags
        if isinstance(stored, StoredFlags) and not stored.decoded:
            return {"v": _VERSION, "folder": self.folder, "uidvalidity": self.uidvalidity, "uidnext": self.uidnext,
                    "highestmodseq": self.highestmodseq, "count": len(stored), "uids": stored.uids,
                    "flags": dict(sorted(stored.flag_sets.items()))}
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
            "count": len(self.flags),
            "uids": to_sequence_set(self.flags),
            "flags": {flag: to_sequence_set(uids) for flag, uids in sorted(by_flag.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FolderState":
        """Read a stored cursor; anything unreadable is `CursorInvalid` (the caller resyncs the folder)."""
        try:
            if data.get("v") != _VERSION:
                raise ValueError(f"unknown version {data.get('v')!r}")
            uids = str(data["uids"])
            flags = {str(flag): str(text) for flag, text in dict(data["flags"]).items()}
            for text in (uids, *flags.values()):  # well-formed now, so that decoding later cannot fail
                _check_sequence_set(text)
            modseq, count = data.get("highestmodseq"), data.get("count")
            return cls(
                folder=str(data["folder"]),
                uidvalidity=int(data["uidvalidity"]),
                uidnext=int(data["uidnext"]),
                highestmodseq=None if modseq is None else int(modseq),
                flags=StoredFlags(uids, flags, None if count is None else int(count)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CursorInvalid(f"unreadable IMAP folder state: {exc}") from exc
