"""One fake Exchange mailbox as EWS sees it: folders (the distinguished ones and any a test creates), items with
the state a sync reports (read, follow-up flag, last verb, categories), and a change journal that sync states are
watermarks into.

Every change takes the next number of the mailbox's sequence. An item remembers when it was created, when it
last changed and when anything but its read state last changed; a removed item leaves a tombstone in its folder.
`changes()` answers SyncFolderItems from that: Create for what appeared after the watermark, ReadFlagChange when
only the read state changed since, Update otherwise, Delete for a tombstone of an item the client had seen, in
the order they happened, at most `limit` at a time. As in Exchange, an item moved to another folder is deleted in
the first and created in the second with a new id.

The test changes the mailbox directly (`add_message`, `update`, `move`, `delete`); the operations change it the
same way, so a sync sees both alike. Every method takes the fake's lock; `messages()` returns copies.

Each change is also reported, as the event a subscription would see (notifications.py), to `on_event` when the
server set one: a delivery is CreatedEvent and NewMailEvent, an edit ModifiedEvent, a hard delete DeletedEvent,
a move one MovedEvent (not the delete and create it is in the journal)."""

import base64
import dataclasses
import datetime as dt
import email.utils
import gzip
import json
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from typing import Any

DISTINGUISHED = {"root": ("Root", None), "msgfolderroot": ("Top of Information Store", "root"),
                 "inbox": ("Inbox", "msgfolderroot"), "sentitems": ("Sent Items", "msgfolderroot"),
                 "drafts": ("Drafts", "msgfolderroot"), "deleteditems": ("Deleted Items", "msgfolderroot"),
                 "junkemail": ("Junk Email", "msgfolderroot"), "outbox": ("Outbox", "msgfolderroot"),
                 "calendar": ("Calendar", "msgfolderroot")}
ANSWERED_VERBS = (102, 103)  # PidTagLastVerbExecuted: reply to sender, reply to all (104 is forward)
NOT_DELIVERIES = ("sentitems", "drafts", "outbox")  # a message saved there is created, not new mail



def make_id(prefix: str, size: int) -> str:
    # Shaped like Exchange's store ids: standard base64 of an opaque binary, "=" padded.
    return prefix + base64.b64encode(secrets.token_bytes(size)).decode()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class MailboxEvent:
    """One change as a notification reports it: the event type, the item and its folder, and for a move the item's
    and folder's old ids."""

    kind: str  # NewMailEvent, CreatedEvent, ModifiedEvent, MovedEvent, DeletedEvent
    item_id: str
    folder_id: str
    old_item_id: str | None = None
    old_folder_id: str | None = None
    at: dt.datetime = field(default_factory=utcnow)


@dataclass
class FakeItem:
    id: str
    change_key: str
    folder_id: str
    raw: bytes = field(repr=False)
    is_read: bool = False
    flagged: bool = False
    categories: list[str] = field(default_factory=list)
    last_verb: int | None = None
    received: dt.datetime = field(default_factory=utcnow)
    item_class: str = "IPM.Note"
    subject: str = ""
    message_id: str = ""
    conversation_index: bytes = b""
    created_seq: int = 0
    changed_seq: int = 0
    content_seq: int = 0  # the last change of anything but the read state
    appointment: Any = None  # a calendar item's state (tests/fakes/ews/calendar.py); None for a message

    @property
    def answered(self) -> bool:
        return self.last_verb in ANSWERED_VERBS


@dataclass
class FakeFolder:
    id: str
    change_key: str
    name: str
    parent_id: str | None
    distinguished: str | None = None
    generation: int = 0  # raised by invalidate_sync_states: older sync states are refused
    tombstones: dict[str, tuple[int, int]] = field(default_factory=dict)  # item id -> (created, deleted)


@dataclass(frozen=True)
class SentMail:
    """What CreateItem sent: the MIME as submitted and every recipient it went to."""

    raw: bytes = field(repr=False)
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    kind: str  # Create, Update, ReadFlagChange, Delete
    item_id: str
    item: FakeItem | None = None  # a copy; None for Delete


def encode_state(payload: dict[str, Any]) -> str:
    # Exchange's sync states are base64 of gzip ("H4sI..."); so are ours, of a small JSON watermark.
    return base64.b64encode(gzip.compress(json.dumps(payload).encode(), mtime=0)).decode()


def decode_state(state: str) -> dict[str, Any] | None:
    try:
        value = json.loads(gzip.decompress(base64.b64decode(state, validate=True)))
    except (ValueError, OSError, EOFError):
        return None
    return value if isinstance(value, dict) else None


def _headers(raw: bytes) -> tuple[str, str, bytes]:
    headers = BytesHeaderParser().parsebytes(raw)
    subject = str(headers.get("Subject", ""))
    message_id = str(headers.get("Message-ID", "")).strip()
    index = b""
    if headers.get("Thread-Index"):
        try:
            index = base64.b64decode(str(headers["Thread-Index"]).strip())
        except ValueError:
            index = b""
    if not index:  # a new conversation: reserved byte, FILETIME's five high bytes, a GUID
        index = b"\x01" + secrets.token_bytes(5) + secrets.token_bytes(16)
    return subject, message_id, index


class FakeMailbox:
    def __init__(self, address: str, username: str, password: str, lock: threading.RLock) -> None:
        self.address, self.username, self.password = address, username, password
        self.lock = lock
        self.key = make_id("", 12)  # what the sync states name the mailbox by
        self.seq = 0
        self.folders: dict[str, FakeFolder] = {}
        self.items: dict[str, FakeItem] = {}
        self.sent: list[SentMail] = []
        self.on_event: Callable[[MailboxEvent], None] | None = None  # set by the server: its subscriptions
        for distinguished, (name, parent) in DISTINGUISHED.items():
            parent_id = self.distinguished(parent).id if parent else None
            folder = FakeFolder(make_id("AQMkA", 42), make_id("AQAAABYAAAA", 9), name, parent_id, distinguished)
            self.folders[folder.id] = folder

    # -- folders -----------------------------------------------------------------------------------------------
    def distinguished(self, name: str) -> FakeFolder:
        return next(f for f in self.folders.values() if f.distinguished == name)

    def children(self, folder_id: str) -> list[FakeFolder]:
        return [f for f in self.folders.values() if f.parent_id == folder_id]

    def folder(self, ref: str) -> FakeFolder:
        """A folder by distinguished name, id, or display-name path under msgfolderroot ("Projects/2024")."""
        with self.lock:
            if ref.lower() in DISTINGUISHED:
                return self.distinguished(ref.lower())
            if ref in self.folders:
                return self.folders[ref]
            current = self.distinguished("msgfolderroot")
            for part in ref.split("/"):
                match = next((f for f in self.children(current.id) if f.name.lower() == part.lower()), None)
                if match is None:
                    raise KeyError(f"no folder {ref!r} in {self.address}")
                current = match
            return current

    def create_folder(self, name: str, parent: str = "msgfolderroot") -> str:
        with self.lock:
            under = self.folder(parent)
            if any(f.name.lower() == name.lower() for f in self.children(under.id)):
                raise ValueError(f"a folder {name!r} exists under {under.name!r}")
            folder = FakeFolder(make_id("AQMkA", 42), make_id("AQAAABYAAAA", 9), name, under.id)
            self.folders[folder.id] = folder
            return folder.id

    def delete_folder(self, ref: str) -> None:
        """Hard-deletes a folder a test made, with its items: its id and sync states mean nothing any more."""
        with self.lock:
            folder = self.folder(ref)
            if folder.distinguished:
                raise ValueError("a distinguished folder cannot be deleted")
            for child in self.children(folder.id):
                self.delete_folder(child.id)
            for item_id in [i.id for i in self.items.values() if i.folder_id == folder.id]:
                del self.items[item_id]
            del self.folders[folder.id]

    def invalidate_sync_states(self, folder: str) -> None:
        """What a mailbox move or a store repair does: every sync state issued for the folder is refused
        (ErrorInvalidSyncStateData) from now on."""
        with self.lock:
            self.folder(folder).generation += 1

    def state_of(self, folder: FakeFolder, watermark: int) -> str:
        return encode_state({"m": self.key, "f": folder.id, "g": folder.generation, "w": watermark})

    def watermark(self, folder: FakeFolder, state: str) -> int | None:
        """The watermark of a sync state issued for this folder as it is now; None for any other."""
        value = decode_state(state)
        if value is None or (value.get("m"), value.get("f"), value.get("g")) != (self.key, folder.id,
                                                                             folder.generation):
            return None
        watermark = value.get("w")
        return watermark if isinstance(watermark, int) else None

    # -- items -------------------------------------------------------------------------------------------------
    def _report(self, *events: MailboxEvent) -> None:
        if self.on_event is not None:
            for event in events:
                self.on_event(event)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _new_item(self, folder: FakeFolder, raw: bytes, **state: Any) -> FakeItem:
        seq = self._next()
        subject, message_id, index = _headers(raw)
        item = FakeItem(make_id("AAMkA", 108), make_id("CQAAABYAAAA", 21), folder.id, raw, subject=subject,
                        message_id=message_id, conversation_index=index, created_seq=seq, changed_seq=seq,
                        content_seq=seq, **state)
        self.items[item.id] = item
        return item

    def add_message(self, folder: str, raw: bytes, is_read: bool = False, flagged: bool = False,
                    categories: Iterable[str] = (), *, answered: bool = False,
                    received: dt.datetime | None = None) -> str:
        """Delivers (or files) a message; returns its item id."""
        with self.lock:
            target = self.folder(folder)
            item = self._new_item(target, raw, is_read=is_read, flagged=flagged,
                                  categories=list(categories), last_verb=102 if answered else None,
                                  received=received or _date_of(raw))
            self._report(MailboxEvent("CreatedEvent", item.id, target.id))
            if target.distinguished not in NOT_DELIVERIES:
                self._report(MailboxEvent("NewMailEvent", item.id, target.id))
            return item.id

    def add_item(self, folder: str, *, item_class: str, subject: str, appointment: Any = None) -> str:
        """Files an item that is not a message (a calendar item: `appointment` holds its state); returns its id."""
        with self.lock:
            item = self._new_item(self.folder(folder), b"", is_read=True, item_class=item_class,
                                  appointment=appointment)
            item.subject = subject
            self._report(MailboxEvent("CreatedEvent", item.id, item.folder_id))
            return item.id

    def touch(self, item_id: str) -> str:
        """Records an edit of an item's properties (a calendar item's): a new change key, an Update to a sync.
        Returns the new change key."""
        with self.lock:
            item = self.item(item_id)
            item.changed_seq = item.content_seq = self._next()
            item.change_key = make_id("DwAAABYAAAA", 21)
            self._report(MailboxEvent("ModifiedEvent", item.id, item.folder_id))
            return item.change_key

    def item(self, item_id: str) -> FakeItem:
        with self.lock:
            try:
                return self.items[item_id]
            except KeyError:
                raise KeyError(f"no item {item_id!r} in {self.address}") from None

    def update(self, item_id: str, *, is_read: bool | None = None, flagged: bool | None = None,
               categories: Iterable[str] | None = None, answered: bool | None = None) -> None:
        """Changes what a mail program changes. A change of the read state alone is a ReadFlagChange to a
        sync; anything else an Update."""
        with self.lock:
            item = self.item(item_id)
            seq = self._next()
            content = False
            if flagged is not None and flagged != item.flagged:
                item.flagged, content = flagged, True
            if categories is not None and list(categories) != item.categories:
                item.categories, content = list(categories), True
            if answered is not None and answered != item.answered:
                item.last_verb, content = (102 if answered else None), True
            if is_read is not None:
                item.is_read = is_read
            item.changed_seq = seq
            if content:
                item.content_seq = seq
            item.change_key = make_id("CQAAABYAAAA", 21)
            self._report(MailboxEvent("ModifiedEvent", item.id, item.folder_id))

    def delete(self, item_id: str) -> None:
        """A hard delete (a user's delete is a move to "deleteditems")."""
        with self.lock:
            item = self._remove(item_id)
            self._report(MailboxEvent("DeletedEvent", item.id, item.folder_id))

    def _remove(self, item_id: str) -> FakeItem:
        item = self.items.pop(self.item(item_id).id)
        self.folders[item.folder_id].tombstones[item.id] = (item.created_seq, self._next())
        return item

    def move(self, item_id: str, folder: str) -> str:
        """Moves an item; returns its new id (EWS ids change with the folder)."""
        with self.lock:
            item = self.item(item_id)
            target = self.folder(folder)
            self._remove(item_id)
            moved = self._new_item(target, item.raw, is_read=item.is_read, flagged=item.flagged,
                                   categories=list(item.categories), last_verb=item.last_verb,
                                   received=item.received, item_class=item.item_class,
                                   appointment=item.appointment)
            moved.subject = item.subject
            self._report(MailboxEvent("MovedEvent", moved.id, target.id, item.id, item.folder_id))
            return moved.id

    def messages(self, folder: str) -> list[FakeItem]:
        with self.lock:
            folder_id = self.folder(folder).id
            found = [i for i in self.items.values() if i.folder_id == folder_id]
            return [dataclasses.replace(i, categories=list(i.categories))
                    for i in sorted(found, key=lambda i: i.created_seq)]

    def changes(self, folder: FakeFolder, watermark: int, limit: int) -> tuple[list[Change], int, bool]:
        """The changes after `watermark`, oldest first, at most `limit`: (changes, new watermark, whether they
        include the last one)."""
        with self.lock:
            pending: list[tuple[int, Change]] = []
            for item in self.items.values():
                if item.folder_id != folder.id or item.changed_seq <= watermark:
                    continue
                if item.created_seq > watermark:
                    kind = "Create"
                elif item.content_seq <= watermark:
                    kind = "ReadFlagChange"
                else:
                    kind = "Update"
                pending.append((item.changed_seq, Change(kind, item.id, dataclasses.replace(item))))
            for item_id, (created, deleted) in folder.tombstones.items():
                if created <= watermark < deleted:
                    pending.append((deleted, Change("Delete", item_id)))
            pending.sort(key=lambda p: p[0])
            if len(pending) <= limit:
                return [c for _, c in pending], self.seq, True
            return [c for _, c in pending[:limit]], pending[limit - 1][0], False


def _date_of(raw: bytes) -> dt.datetime:
    value = BytesHeaderParser().parsebytes(raw).get("Date")
    try:
        parsed = email.utils.parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError):
        parsed = None
    return parsed.astimezone(dt.UTC).replace(microsecond=0) if parsed and parsed.tzinfo else utcnow()
