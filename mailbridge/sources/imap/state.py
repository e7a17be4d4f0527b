"""A folder's sync state: what the last pass saw, enough for the next to ask only for changes.

`uidvalidity` tells whether UIDs still mean the same messages; `uidnext` and `highestmodseq` (RFC 7162)
let an unchanged folder be recognised from one SELECT; `flags` is the known uid -> flags map, which lets a
server without CONDSTORE be compared in full with the same results, filters what a server reports to what
really changed, and tells which VANISHED uids we had. It is stored compactly: the known UIDs and, per flag,
the UIDs carrying it, each as an IMAP sequence set ("1:500,502")."""

import re
import sys
from bisect import bisect_right
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


Ranges = list[tuple[int, int]]


def _parse_ranges(text: str) -> Ranges:
    """"1:3,5" -> [(1, 3), (5, 5)], sorted and merged (a stored set is already, as to_sequence_set writes it)."""
    items: Ranges = []
    for item in filter(None, text.split(",")):
        low, _, high = item.partition(":")
        a, b = int(low), int(high or low)
        items.append((a, b) if a <= b else (b, a))
    items.sort()
    merged: Ranges = []
    for lo, hi in items:
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _contains(ranges: Ranges, uid: int) -> bool:
    i = bisect_right(ranges, (uid, sys.maxsize)) - 1
    return i >= 0 and ranges[i][1] >= uid


def _patch_ranges(ranges: Ranges, add: Iterable[int], remove: Iterable[int]) -> str:
    """The sequence set of `ranges` with `add` put in and `remove` taken out, without expanding the ranges
    (a few changes in a set of fifty thousand UIDs cost a few list operations)."""
    items = list(ranges)
    for uid in sorted(set(remove)):
        i = bisect_right(items, (uid, sys.maxsize)) - 1
        if i >= 0 and items[i][1] >= uid:
            lo, hi = items[i]
            items[i:i + 1] = [r for r in ((lo, uid - 1), (uid + 1, hi)) if r[0] <= r[1]]
    for uid in sorted(set(add)):
        i = bisect_right(items, (uid, sys.maxsize)) - 1
        if not (i >= 0 and items[i][1] >= uid):
            items.insert(i + 1, (uid, uid))
    merged: Ranges = []
    for lo, hi in items:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return _written(merged)


def _extended(text: str, uids: list[int]) -> str:
    """The sequence set `text` with `uids` (ascending, each above its last) added: only its last range is read."""
    head, _, last = text.rpartition(",")
    ranges: Ranges = []
    if last:
        low, _, high = last.partition(":")
        ranges.append((int(low), int(high or low)))
    for uid in uids:
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], uid)
        else:
            ranges.append((uid, uid))
    tail = _written(ranges)
    return f"{head},{tail}" if head else tail


def _written(ranges: Ranges) -> str:
    """[(1, 3), (5, 5)] -> "1:3,5"."""
    return ",".join(f"{lo}:{hi}" if lo != hi else str(lo) for lo, hi in ranges)


class StoredFlags(Mapping[int, Flags]):
    """The uid -> flags map of a stored cursor, decoded only when first iterated. A folder of fifty thousand
    messages that did not change is recognised from its counts alone, and its cursor goes back as it came;
    one that changed a little is looked up UID by UID in its sequence sets and `patched` into the next cursor,
    never decoded whole: decoding and encoding the map would cost more than the rest of such a sync."""

    def __init__(self, uids: str, flags: Mapping[str, str], count: int | None) -> None:
        self.uids, self.flag_sets, self._count = uids, dict(flags), count
        self._decoded: dict[int, Flags] | None = None
        self._ranges: dict[str | None, Ranges] = {}  # parsed sequence sets (None: the UIDs), for lookups

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

    def _parsed(self, flag: str | None) -> Ranges:
        if flag not in self._ranges:
            self._ranges[flag] = _parse_ranges(self.uids if flag is None else self.flag_sets[flag])
        return self._ranges[flag]

    def __contains__(self, uid: object) -> bool:
        if self._decoded is not None:
            return uid in self._decoded
        return isinstance(uid, int) and _contains(self._parsed(None), uid)

    def __len__(self) -> int:
        return self._count if self._count is not None and self._decoded is None else len(self._map())

    def __getitem__(self, uid: int) -> Flags:
        if self._decoded is not None:
            return self._decoded[uid]
        if uid not in self:
            raise KeyError(uid)
        return frozenset(flag for flag in self.flag_sets if _contains(self._parsed(flag), uid))

    def __iter__(self) -> Iterator[int]:
        return iter(self._map())

    @classmethod
    def encoded(cls, known: Mapping[int, Flags]) -> "StoredFlags":
        """A uid -> flags map as sequence sets (patched from then on without decoding)."""
        stored = FolderState("", 0, 0, None, known).to_dict()
        return cls(stored["uids"], stored["flags"], len(known))

    def last_uid(self) -> int:
        """The highest known UID (0: none); a stored set is sorted, so it ends the text."""
        if self._decoded is not None:
            return max(self._decoded, default=0)
        return int(self.uids.rpartition(",")[2].rpartition(":")[2] or 0)

    def _appended(self, changes: Mapping[int, Flags | None]) -> "StoredFlags":
        """This map with UIDs above all of its own added: each set's text grows at its end, so a pass that
        checkpoints every batch of a fifty-thousand-message folder does not rewrite every range each time."""
        added = sorted(changes)
        flag_sets = dict(self.flag_sets)
        for flag in sorted(set().union(*(f for f in changes.values() if f is not None))):
            flag_sets[flag] = _extended(flag_sets.get(flag, ""), [uid for uid in added if flag in changes[uid]])
        assert self._count is not None
        return StoredFlags(_extended(self.uids, added), flag_sets, self._count + len(added))

    def patched(self, changes: Mapping[int, Flags | None]) -> "StoredFlags":
        """This map with `changes` applied (flags: set them, the UID added if new; None: the UID gone)."""
        if self._decoded is not None:  # decoded already: patching the dict is as cheap
            known = dict(self._decoded)
            for uid, flags in changes.items():
                if flags is None:
                    known.pop(uid, None)
                else:
                    known[uid] = flags
            return StoredFlags.encoded(known)
        if changes and self._count is not None and min(changes) > self.last_uid() and all(
                flags is not None for flags in changes.values()):
            return self._appended(changes)  # new messages only (a first sync's batches): the sets grow at the end
        present = {uid for uid in changes if uid in self}
        gone = [uid for uid, flags in changes.items() if flags is None]
        count = len(self) + sum(1 for uid, f in changes.items() if f is not None and uid not in present) - sum(
            1 for uid in gone if uid in present)
        names = set(self.flag_sets).union(*(f for f in changes.values() if f is not None))
        flag_sets: dict[str, str] = {}
        for flag in sorted(names):
            add = [uid for uid, f in changes.items() if f is not None and flag in f]
            remove = [uid for uid, f in changes.items() if f is None or flag not in f]
            text = self.flag_sets.get(flag, "")
            if add or any(uid in present for uid in remove):
                text = _patch_ranges(self._parsed(flag) if flag in self.flag_sets else [], add, remove)
            if text:
                flag_sets[flag] = text
        uids = self.uids
        if changes.keys() - present or gone:
            uids = _patch_ranges(self._parsed(None), [u for u, f in changes.items() if f is not None], gone)
        return StoredFlags(uids, flag_sets, count)


# A stored cursor is checked on every pass, even one that finds nothing new, and a folder of 50,000 messages
# holds tens of thousands of ranges (100 KB of text): the syntax is checked by string operations that run in C
# (a regular expression over the whole grammar took 1.3 ms a set, a tenth of an unchanged pass), and the loop
# over the ranges only runs when a number is long enough (8 digits) for a range to span more than RANGE_LIMIT.
# Empty items (",,") are allowed, as the decoders skip them.
_NOT_IN_A_SET = str.maketrans("", "", "0123456789:,")  # deletes every character a sequence set may hold
_TWO_COLONS = re.compile(r":[0-9]+:")  # "1:2:3"
_LONG_NUMBER = re.compile(r"[0-9]{8}")
RANGE_LIMIT = 10_000_000


def _well_formed(text: str) -> bool:
    """Digits, colons and commas only; every colon between two numbers ("1:" ":1" "1::2" "1:2:3" are not)."""
    return (not text.translate(_NOT_IN_A_SET) and "::" not in text and ",:" not in text and ":," not in text
            and not text.startswith(":") and not text.endswith(":") and _TWO_COLONS.search(text) is None)


def _check_sequence_set(text: str) -> None:
    """Raises ValueError unless `text` is a sequence set of UIDs ("1:500,502"), without expanding it."""
    if not _well_formed(text):
        raise ValueError(f"bad sequence set {text[:80]!r}")
    if _LONG_NUMBER.search(text) is None:
        return  # every number is below 10,000,000, so no range spans more than that
    for item in filter(None, text.split(",")):
        low, _, high = item.partition(":")
        if high and abs(int(high) - int(low)) > RANGE_LIMIT:
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
