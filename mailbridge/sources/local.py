"""Local mail stores for migrations and demo data: a Maildir (with its Maildir++ subfolders) or an mbox
file, read as (stable key, raw bytes) with the total known up front for a progress bar, and `LocalSource`,
the same as a `MailSource`.

Keys are stable across runs so an interrupted import resumes: a Maildir message's key is its folder and
unique name (flags after ":2," stripped); an mbox message's is its position and a hash of its bytes. The key
is the message's place (as the folder, with UIDVALIDITY and UID 0). Folders: "INBOX" is the Maildir's top
folder (as Maildir++ calls it) and an mbox file's only one; subfolders go by their names.

A local store keeps no change history: `LocalSource`'s cursor is the folder's known keys, and a pass lists the
folder and compares. It reports new and vanished keys; it reports no flags and never a full resync. An mbox
message's place is its position, so removing one renumbers those after it (new places for old mail, which
dedupe downstream recognises)."""

import hashlib
import mailbox
import re
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from mailbridge.errors import CursorInvalid, FolderMissing, MailError
from mailbridge.sources.base import Capabilities, Cursor, Known, Place, SourceBatch, SourceFolder, SourceMessage

TOP = "INBOX"
_VERSION = 1


@dataclass(frozen=True)
class LocalItem:
    key: str
    raw: bytes


Scan = Iterator[tuple[str, bytes | None]]  # every message of a folder: its key, and its bytes unless skipped


_UNIQUE = re.compile(r"(?P<seconds>\d+)\.(?:[^.]*?M(?P<usec>\d+))?")


def delivery_order(name: str) -> tuple[int, int, str]:
    """A Maildir unique name's sort key: delivery time, then the name. The names (`1795520342.M10139P16620Q87.host`,
    or the older `time.pid.host`) do not sort as strings: microseconds are not zero-padded, so M10139 would come
    before M9000 of the same second, and a reply could be read before the mail it answers."""
    match = _UNIQUE.match(name)
    if match is None:
        return (2**63, 0, name)  # not a delivery agent's name: after the others, by name
    return (int(match["seconds"]), int(match["usec"] or 0), name)


class MaildirStore:
    kind = "maildir"

    def __init__(self, path: Path, *, include_subfolders: bool = True) -> None:
        self.path = path
        self.include_subfolders = include_subfolders

    def _root(self) -> mailbox.Maildir:
        return mailbox.Maildir(self.path, factory=None, create=False)

    def folder_names(self) -> list[str]:
        return [TOP, *sorted(self._root().list_folders())] if self.include_subfolders else [TOP]

    def _folder(self, name: str) -> mailbox.Maildir:
        if name == TOP:
            return self._root()
        if name not in self.folder_names():
            raise FolderMissing(f"{self.path} has no folder {name!r}")
        return self._root().get_folder(name)

    def count(self, folder: str | None = None) -> int:
        return sum(len(self._folder(name)) for name in ([folder] if folder is not None else self.folder_names()))

    def scan(self, folder: str, skip: Container[str] = ()) -> Scan:
        """Every message of `folder` in delivery order, with its bytes unless its key is in `skip` (then None)."""
        box = self._folder(folder)
        prefix = "maildir:" if folder == TOP else f"maildir:{folder}/"
        for name in sorted(box.keys(), key=delivery_order):
            key = prefix + name
            if key in skip:
                yield key, None
                continue
            try:
                raw = box.get_bytes(name)
            except (KeyError, FileNotFoundError):
                continue  # removed while we read: another client moved it
            yield key, raw

    def __iter__(self) -> Iterator[LocalItem]:
        for folder in self.folder_names():
            for key, raw in self.scan(folder):
                assert raw is not None
                yield LocalItem(key, raw)


class MboxStore:
    kind = "mbox"

    def __init__(self, path: Path) -> None:
        self.path = path

    def folder_names(self) -> list[str]:
        return [TOP]

    def _check(self, folder: str | None) -> None:
        if folder not in (None, TOP):
            raise FolderMissing(f"{self.path} is an mbox file: its only folder is {TOP}, not {folder!r}")

    def count(self, folder: str | None = None) -> int:
        self._check(folder)
        box = mailbox.mbox(self.path, create=False)
        try:
            return len(box)
        finally:
            box.close()

    def scan(self, folder: str, skip: Container[str] = ()) -> Scan:
        """Every message in file order; each is read (its key hashes its bytes), and its bytes handed on unless
        its key is in `skip`."""
        self._check(folder)
        box = mailbox.mbox(self.path, create=False)
        try:
            for index, name in enumerate(box.iterkeys()):
                raw = box.get_bytes(name)
                key = f"mbox:{index}:{hashlib.sha256(raw).hexdigest()[:16]}"
                yield key, None if key in skip else raw
        finally:
            box.close()

    def __iter__(self) -> Iterator[LocalItem]:
        for key, raw in self.scan(TOP):
            assert raw is not None
            yield LocalItem(key, raw)


LocalStore = MaildirStore | MboxStore


def open_local(path: str | Path) -> LocalStore:
    """A Maildir (a folder with cur/ and new/) or an mbox file, else a MailError saying what was found."""
    p = Path(path)
    if p.is_dir():
        if (p / "cur").is_dir() and (p / "new").is_dir():
            return MaildirStore(p)
        raise MailError(f"{p} is a folder but not a Maildir (no cur/ and new/)", reason="not_mail_store")
    if p.is_file():
        with p.open("rb") as f:
            head = f.read(5)
        if head in (b"From ", b""):
            return MboxStore(p)
        raise MailError(f"{p} is not an mbox file (it does not start with 'From ')", reason="not_mail_store")
    raise MailError(f"{p} does not exist", reason="not_mail_store")


def _read_cursor(cursor: Mapping[str, Any], kind: str, folder: str) -> dict[str, None]:
    """The known keys of a cursor, in order; CursorInvalid if unreadable or not this store's and folder's."""
    try:
        if cursor.get("v") != _VERSION or cursor.get("source") != kind:
            raise ValueError(f"not a {kind} cursor (version {cursor.get('v')!r}, source {cursor.get('source')!r})")
        keys = cursor["keys"]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("keys is not a list of strings")
        if cursor["folder"] != folder:
            raise CursorInvalid(f"the cursor is for folder {cursor['folder']!r}, not {folder!r}")
        return dict.fromkeys(keys)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CursorInvalid(f"unreadable {kind} cursor: {exc}") from exc


class LocalSource:
    """A Maildir or an mbox file as a `MailSource`. `folders`: the specs to read (None: every folder)."""

    def __init__(self, store: LocalStore, folders: Sequence[str] | None = None) -> None:
        self.store = store
        self.specs = tuple(folders) if folders is not None else None
        maildir = isinstance(store, MaildirStore)
        self.capabilities = Capabilities(flags=False, expunges=maildir, uidvalidity=False, folders=maildir)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def folders(self) -> list[SourceFolder]:
        names = self.store.folder_names()
        return [SourceFolder(spec, spec) if spec in names
                else SourceFolder(spec, None, f"{self.store.path} has no folder {spec!r}")
                for spec in (self.specs if self.specs is not None else names)]

    def count(self, folder: str) -> int | None:
        return self.store.count(folder)

    def _cursor(self, folder: str, keys: dict[str, None]) -> Cursor:
        return {"v": _VERSION, "source": self.store.kind, "folder": folder, "keys": list(keys)}

    def mark_tracked(self, places: Sequence[Place]) -> None:
        """A local store is read, never written: nothing is marked."""

    def changes(self, folder: str, cursor: Cursor | None, batch_size: int,
                known: Known | None = None) -> Iterator[SourceBatch]:
        """New keys in batches as the folder is read; vanished keys (known before, no longer listed) in the last."""
        keys = {} if cursor is None else _read_cursor(cursor, self.store.kind, folder)
        listed: set[str] = set()
        pending: list[SourceMessage] = []
        for key, raw in self.store.scan(folder, keys):
            listed.add(key)
            if raw is None:
                continue
            pending.append(SourceMessage(Place(key), raw))
            if len(pending) >= batch_size:
                keys.update(dict.fromkeys(m.place.folder for m in pending))
                yield SourceBatch(folder, tuple(pending), {}, (), self._cursor(folder, keys), False, "local")
                pending = []
        vanished = tuple(Place(key) for key in keys if key not in listed)
        for place in vanished:
            del keys[place.folder]
        keys.update(dict.fromkeys(m.place.folder for m in pending))
        yield SourceBatch(folder, tuple(pending), {}, vanished, self._cursor(folder, keys), False, "local")
