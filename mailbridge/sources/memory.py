"""The memory source: folders of raw messages with flags, changed by a test as a mail program or a server
would (append, set flags, expunge, change UIDVALIDITY), read through `MailSource`.

It is the reference implementation of the interface, written for plainness rather than speed: its cursor is
the folder, its UIDVALIDITY and the known UID -> flags map, and each pass compares that map with the folder.
tests/mailbridge/test_source_contract.py holds every other backend to what this one does, and the tracking
driver's own tests run on it."""

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from mailbridge.errors import CursorInvalid, FolderMissing
from mailbridge.sources.base import Capabilities, Cursor, Flags, Known, Place, SourceBatch, SourceFolder, SourceMessage

SENT = "\\Sent"
_VERSION = 1
_uidvalidities = itertools.count(1000)  # every folder ever made has its own, as a server guarantees


@dataclass
class MemoryMessage:
    raw: bytes = field(repr=False)
    flags: Flags = frozenset()
    internal_date: dt.datetime | None = None


@dataclass
class MemoryFolder:
    name: str
    uidvalidity: int
    special_use: str | None = None  # "\\Sent" for the folder a "\\Sent" spec means
    uidnext: int = 1
    messages: dict[int, MemoryMessage] = field(default_factory=dict)


class MemoryStore:
    """The mail itself, shared by every `MemorySource` opened on it (a server with one mailbox)."""

    def __init__(self, folders: Iterable[str] = ("INBOX",)) -> None:
        self.folders: dict[str, MemoryFolder] = {}
        self.marked: set[Place] = set()  # what a driver marked as tracked (Exchange's category, here a set)
        for name in folders:
            self.create_folder(name)

    def create_folder(self, name: str, special_use: str | None = None) -> MemoryFolder:
        if name in self.folders:
            raise ValueError(f"folder {name!r} exists")
        self.folders[name] = MemoryFolder(name, next(_uidvalidities), special_use)
        return self.folders[name]

    def delete_folder(self, name: str) -> None:
        del self.folders[name]

    def folder(self, name: str) -> MemoryFolder:
        try:
            return self.folders[name]
        except KeyError:
            raise FolderMissing(f"folder {name!r} does not exist") from None

    def append(self, folder: str, raw: bytes, flags: Iterable[str] = (),
               internal_date: dt.datetime | None = None) -> int:
        """Adds a message; returns its UID."""
        box = self.folder(folder)
        uid, box.uidnext = box.uidnext, box.uidnext + 1
        box.messages[uid] = MemoryMessage(raw, frozenset(flags), internal_date)
        return uid

    def set_flags(self, folder: str, uid: int, flags: Iterable[str]) -> None:
        self.folder(folder).messages[uid].flags = frozenset(flags)

    def expunge(self, folder: str, *uids: int) -> None:
        box = self.folder(folder)
        for uid in uids:
            del box.messages[uid]

    def change_uidvalidity(self, folder: str) -> None:
        """What a server migration does: the same messages under a new UIDVALIDITY, numbered afresh."""
        box = self.folder(folder)
        messages = [box.messages[uid] for uid in sorted(box.messages)]
        box.uidvalidity = next(_uidvalidities)
        box.messages = {uid: m for uid, m in enumerate(messages, start=1)}
        box.uidnext = len(messages) + 1


@dataclass(frozen=True)
class _Known:
    folder: str
    uidvalidity: int
    flags: dict[int, Flags]

    def cursor(self) -> Cursor:
        return {"v": _VERSION, "source": "memory", "folder": self.folder, "uidvalidity": self.uidvalidity,
                "uids": {str(uid): sorted(flags) for uid, flags in sorted(self.flags.items())}}

    @classmethod
    def read(cls, cursor: Mapping[str, Any]) -> "_Known":
        try:
            if cursor.get("v") != _VERSION or cursor.get("source") != "memory":
                raise ValueError(f"not a memory cursor (version {cursor.get('v')!r})")
            uids = {int(uid): frozenset(str(f) for f in flags) for uid, flags in dict(cursor["uids"]).items()}
            return cls(str(cursor["folder"]), int(cursor["uidvalidity"]), uids)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CursorInvalid(f"unreadable memory cursor: {exc}") from exc


class MemorySource:
    """`folders`: the specs to sync (names, or "\\Sent" for the folder marked so); None: every folder."""

    capabilities = Capabilities(flags=True, expunges=True, uidvalidity=True, folders=True)

    def __init__(self, store: MemoryStore, folders: Sequence[str] | None = None) -> None:
        self.store = store
        self.specs = tuple(folders) if folders is not None else None
        self._open = False

    def __enter__(self) -> Self:
        self._open = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._open = False

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError("the memory source is not open: use it as a context manager")

    def _resolve(self, spec: str) -> str:
        if spec == SENT:
            for box in self.store.folders.values():
                if box.special_use == SENT:
                    return box.name
            raise FolderMissing("no folder is marked \\Sent")
        return self.store.folder(spec).name

    def folders(self) -> list[SourceFolder]:
        self._check_open()
        out: list[SourceFolder] = []
        for spec in self.specs if self.specs is not None else tuple(self.store.folders):
            try:
                out.append(SourceFolder(spec, self._resolve(spec)))
            except FolderMissing as exc:
                out.append(SourceFolder(spec, None, exc.detail))
        return out

    def count(self, folder: str) -> int | None:
        self._check_open()
        return len(self.store.folder(folder).messages)

    def mark_tracked(self, places: Sequence[Place]) -> None:
        self._check_open()
        self.store.marked.update(places)

    def changes(self, folder: str, cursor: Cursor | None, batch_size: int,
                known: Known | None = None) -> Iterator[SourceBatch]:
        self._check_open()
        before = None if cursor is None else _Known.read(cursor)
        if before is not None and before.folder != folder:
            raise CursorInvalid(f"the cursor is for folder {before.folder!r}, not {folder!r}")
        box = self.store.folder(folder)
        uidvalidity = box.uidvalidity
        full_resync = before is not None and before.uidvalidity != uidvalidity
        known = {} if before is None or full_resync else dict(before.flags)
        current = {uid: m.flags for uid, m in box.messages.items()}
        flag_changes = {uid: f for uid, f in sorted(current.items()) if uid in known and known[uid] != f}
        vanished = sorted(set(known) - set(current))
        pending = sorted(uid for uid in current if uid not in known)
        known.update(flag_changes)
        for uid in vanished:
            del known[uid]
        first = True
        while first or pending:
            chunk, pending = pending[:batch_size], pending[batch_size:]
            new: list[SourceMessage] = []
            for uid in chunk:
                message = box.messages.get(uid)
                if message is None:
                    continue  # expunged since the pass began: the next pass reports nothing for it
                new.append(SourceMessage(Place(folder, uidvalidity, uid), message.raw, message.flags,
                                         message.internal_date))
                known[uid] = message.flags
            yield SourceBatch(
                folder=folder, new=tuple(new),
                flag_changes={Place(folder, uidvalidity, uid): f for uid, f in flag_changes.items()} if first else {},
                vanished=tuple(Place(folder, uidvalidity, uid) for uid in vanished) if first else (),
                cursor=_Known(folder, uidvalidity, dict(known)).cursor(), full_resync=full_resync and first,
                strategy="memory", uidvalidity=uidvalidity)
            first = False
