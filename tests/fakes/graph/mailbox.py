"""One fake Exchange Online mailbox: folders (the well-known ones and any a test creates), messages with the state
Graph exposes (read, flag, categories, folder), and a journal of every change with a sequence number, which is
what delta tokens are watermarks into. The test fills and changes it directly (`add_message`, `update`, `move`,
`delete`); the API handlers change it the same way, so either kind of change is seen by delta and by
subscriptions alike.

Ids are immutable, as with `Prefer: IdType="ImmutableId"`: a message keeps its id when moved or when its draft
is sent. Every method takes the fake's one lock; what `messages()` returns are snapshots."""

import base64
import dataclasses
import datetime as dt
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tests.fakes.graph import mime
from tests.fakes.graph.replies import utcnow

WELL_KNOWN = {"msgfolderroot": "Top of Information Store", "inbox": "Inbox", "sentitems": "Sent Items",
              "drafts": "Drafts", "deleteditems": "Deleted Items", "archive": "Archive"}


def make_id(prefix: str, size: int = 36) -> str:
    # Shaped like Exchange's ids: base64 (URL-safe, as immutable ids are), ending in "=".
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(size)).decode().rstrip("=") + "AAA="


@dataclass
class FakeMessage:
    id: str
    raw: bytes = field(repr=False)
    folder: str  # the id of the folder holding it (Graph's parentFolderId)
    is_read: bool = False
    flagged: bool = False
    categories: list[str] = field(default_factory=list)
    internet_message_id: str = ""
    conversation_id: str = ""
    subject: str = ""
    is_draft: bool = False
    created: dt.datetime = field(default_factory=utcnow)
    received: dt.datetime = field(default_factory=utcnow)
    last_modified: dt.datetime = field(default_factory=utcnow)
    change_key: str = ""
    parsed: mime.ParsedMime = field(default_factory=mime.ParsedMime, repr=False, compare=False)


@dataclass
class Folder:
    id: str
    display_name: str
    parent_id: str | None
    well_known: str | None = None
    is_hidden: bool = False


@dataclass(frozen=True)
class Change:
    """After change `seq`, message `message_id` is in folder `folder` (None: deleted)."""

    seq: int
    message_id: str
    folder: str | None


ChangeListener = Callable[["FakeMailbox", str, str, str], None]  # box, change type, message id, folder id


class FakeMailbox:
    def __init__(self, address: str, lock: threading.RLock, listener: ChangeListener, message_id_host: str) -> None:
        self.address = address
        self.user_id = str(uuid.uuid4())
        self.display_name = address.split("@")[0].replace(".", " ").title()
        self._lock = lock
        self._listener = listener
        self.message_id_host = message_id_host  # where Exchange says the messages it writes come from
        self._messages: dict[str, FakeMessage] = {}
        self._sent: list[FakeMessage] = []
        self.journal: list[Change] = []
        self.seq = 0
        self.generations: dict[str, int] = {}  # folder id -> bumped by reset_delta
        self.master_categories: list[dict[str, str]] = []
        # Users given Full Access to this mailbox (Exchange's Add-MailboxPermission): a delegated token of theirs
        # with a *.Shared permission (Mail.Read.Shared) reaches it through /users/{this mailbox}.
        self.delegates: set[str] = set()
        self.folders: dict[str, Folder] = {}
        root = Folder(make_id("AQMkAD"), WELL_KNOWN["msgfolderroot"], None, "msgfolderroot", True)
        self.folders[root.id] = root
        for name, display in WELL_KNOWN.items():
            if name != "msgfolderroot":
                folder = Folder(make_id("AQMkAD"), display, root.id, name)
                self.folders[folder.id] = folder

    # -- folders ---------------------------------------------------------------------------------------------
    def find_folder(self, key: str) -> Folder | None:
        """A folder by id, well-known name or (for folders a test made) display name; None if there is none."""
        with self._lock:
            if key in self.folders:
                return self.folders[key]
            lowered = key.lower()
            for folder in self.folders.values():
                if folder.well_known == lowered:
                    return folder
            named = [f for f in self.folders.values() if f.display_name.lower() == lowered]
            return named[0] if len(named) == 1 else None

    def folder_id(self, key: str) -> str:
        folder = self.find_folder(key)
        if folder is None:
            raise KeyError(f"{self.address} has no folder {key!r}")
        return folder.id

    def create_folder(self, name: str, parent: str = "msgfolderroot", hidden: bool = False) -> str:
        with self._lock:
            folder = Folder(make_id("AQMkAD"), name, self.folder_id(parent), None, hidden)
            self.folders[folder.id] = folder
            return folder.id

    def children(self, folder_id: str) -> list[Folder]:
        with self._lock:
            return [f for f in self.folders.values() if f.parent_id == folder_id]

    # -- messages --------------------------------------------------------------------------------------------
    def _touch(self, message: FakeMessage, folder: str | None) -> None:
        """Journal that `message` is now in `folder` (None: gone); a new changeKey, as Exchange gives each save."""
        self.seq += 1
        self.journal.append(Change(self.seq, message.id, folder))
        if folder is not None:
            message.last_modified = utcnow()
            message.change_key = base64.b64encode(self.seq.to_bytes(4, "big") + secrets.token_bytes(12)).decode()

    def _record(self, message: FakeMessage, folder: str | None, change_type: str, listen_folder: str) -> None:
        self._touch(message, folder)
        self._listener(self, change_type, message.id, listen_folder)

    def add_message(self, folder: str, raw: bytes, is_read: bool = False, flagged: bool = False,
                    categories: Iterable[str] = (), *, received: dt.datetime | None = None,
                    is_draft: bool = False) -> str:
        """Deliver (or file) a raw message; returns its id. A message without Message-ID gets one, as Exchange
        gives every stored message one."""
        parsed = mime.parse(raw)
        if not parsed.message_id:
            raw = mime.with_message_id(raw, mime.new_message_id(self.message_id_host))
            parsed = mime.parse(raw)
        with self._lock:
            now = utcnow()
            message = FakeMessage(
                id=make_id("AAMkAD", 60), raw=raw, folder=self.folder_id(folder), is_read=is_read,
                flagged=flagged, categories=list(categories), internet_message_id=parsed.message_id,
                conversation_id=mime.conversation_id(parsed.thread_root), subject=parsed.subject,
                is_draft=is_draft, created=now, received=received or now, parsed=parsed)
            self._messages[message.id] = message
            self._record(message, message.folder, "created", message.folder)
            return message.id

    def get(self, message_id: str) -> FakeMessage | None:
        """The live message (for the handlers, under the lock); tests use `message()` for a snapshot."""
        return self._messages.get(message_id)

    def message(self, message_id: str) -> FakeMessage:
        with self._lock:
            return dataclasses.replace(self._messages[message_id], categories=list(
                self._messages[message_id].categories))

    def messages(self, folder: str | None = None) -> list[FakeMessage]:
        with self._lock:
            wanted = None if folder is None else self.folder_id(folder)
            return [dataclasses.replace(m, categories=list(m.categories)) for m in self._messages.values()
                    if wanted is None or m.folder == wanted]

    def in_folder(self, folder_id: str) -> list[FakeMessage]:
        """Live messages of a folder in arrival order (handlers only, under the lock)."""
        return [m for m in self._messages.values() if m.folder == folder_id]

    def in_all(self) -> list[FakeMessage]:
        return list(self._messages.values())

    def update(self, message_id: str, *, is_read: bool | None = None, flagged: bool | None = None,
               categories: Iterable[str] | None = None) -> None:
        with self._lock:
            message = self._messages[message_id]
            if is_read is not None:
                message.is_read = is_read
            if flagged is not None:
                message.flagged = flagged
            if categories is not None:
                message.categories = list(categories)
            self._record(message, message.folder, "updated", message.folder)

    def delete(self, message_id: str) -> None:
        with self._lock:
            message = self._messages.pop(message_id)
            self._record(message, None, "deleted", message.folder)

    def move(self, message_id: str, folder: str) -> None:
        """Same id, other folder: the source folder's delta reports it removed, the destination's reports it."""
        with self._lock:
            message = self._messages[message_id]
            source, destination = message.folder, self.folder_id(folder)
            if source == destination:
                return
            message.folder = destination
            self._touch(message, destination)
            self._listener(self, "deleted", message.id, source)
            self._listener(self, "created", message.id, destination)

    def send_draft(self, message_id: str) -> None:
        """A sent draft moves to Sent Items under the same id (immutable ids) and is recorded as sent."""
        with self._lock:
            message = self._messages[message_id]
            message.is_draft, message.is_read = False, True
            self._sent.append(dataclasses.replace(message, categories=list(message.categories)))
            self.move(message_id, "sentitems")

    def send_new(self, raw: bytes, save: bool) -> FakeMessage:
        """sendMail: recorded as sent, and saved in Sent Items unless `save` is False."""
        with self._lock:
            if save:
                message = self._messages[self.add_message("sentitems", raw, is_read=True)]
            else:
                parsed = mime.parse(raw)
                message = FakeMessage(make_id("AAMkAD", 60), raw, "", True, internet_message_id=parsed.message_id,
                                      conversation_id=mime.conversation_id(parsed.thread_root),
                                      subject=parsed.subject, parsed=parsed)
            self._sent.append(dataclasses.replace(message, categories=list(message.categories)))
            return message

    @property
    def sent(self) -> list[FakeMessage]:
        with self._lock:
            return list(self._sent)

    # -- delta -----------------------------------------------------------------------------------------------
    def reset_delta(self, folder: str) -> None:
        """Every delta or skip token issued so far for this folder answers 410 Gone from now on."""
        with self._lock:
            folder_id = self.folder_id(folder)
            self.generations[folder_id] = self.generations.get(folder_id, 0) + 1

    def generation(self, folder_id: str) -> int:
        return self.generations.get(folder_id, 0)

