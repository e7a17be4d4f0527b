"""The EWS source as a `MailSource`: one EWS session for the source's life, the configured specs resolved to
folders (folders.py), and each folder's changes read with SyncFolderItems, one batch per call.

A batch is one SyncFolderItems answer (MaxChangesReturned = min(batch size, 512)), and its cursor that answer's
sync state: a driver that commits the batch with its cursor resumes after it, and a pass killed before the
commit asks the same changes again. Calls go on while IncludesLastItemInRange is false.

Within a batch: Create is a new message (its MIME read with GetItem, in batches); Update and ReadFlagChange of a
known item are flag changes (a ReadFlagChange carries the read state alone, so the item's other flags are read
with GetItem); Delete is a vanished place. Places are keyed: `ews:<folder>:<item id>` (item ids are stable
while an item stays in its folder; a move is a Delete in one folder and a Create, with a new id, in the other,
which dedupe recognises as the same mail). The MIME Exchange gives out carries the item's ConversationIndex as
Thread-Index (and its topic as Thread-Topic), which is how the conversation reaches correlation.

With `known` (the driver's sightings), a Create of a place already tracked (a folder read again after its sync
state was refused) is reported as that item's flags, not downloaded again; an Update of a place the driver never
kept (it skipped the mail) is no news to it and is left out."""

import logging
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Self

from mailbridge.errors import CursorInvalid, FolderMissing, MailError, TemporaryFailure
from mailbridge.sources.base import Capabilities, Cursor, Flags, Known, Place, SourceBatch, SourceFolder, SourceMessage
from mailbridge.sources.ews import folders as folder_lookup
from mailbridge.sources.ews.cursor import EwsCursor
from mailbridge.sources.ews.folders import FolderRef
from mailbridge.sources.ews.items import add_category, fetch_flags, fetch_mime
from mailbridge.sources.ews.session import EwsSession
from mailbridge.sources.ews.settings import EwsSettings
from mailbridge.sources.ews.sync import CREATE, DELETE, READ_FLAG_CHANGE, ItemChange, SyncPage, sync_folder_items

log = logging.getLogger(__name__)
PREFIX = "ews:"


def place_of(folder: str, item_id: str) -> Place:
    return Place(f"{PREFIX}{folder}:{item_id}")


def item_id_of(place: Place) -> str:
    return place.folder.rsplit(":", 1)[1]  # a folder's name may hold a colon, an item id (base64) never does


class EwsSource:
    capabilities = Capabilities(flags=True, expunges=True, uidvalidity=False, folders=True)

    def __init__(self, settings: EwsSettings) -> None:
        self.settings = settings
        self.session = EwsSession(settings)
        self._folders: dict[str, FolderRef] = {}

    def __enter__(self) -> Self:
        self.session.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.session.close()
        self._folders.clear()

    def _folder(self, name: str) -> FolderRef:
        if name not in self._folders:
            ref = self.session.call(f"finding folder {name!r}", lambda account: folder_lookup.resolve(account, name))
            self._folders[name] = self._folders[ref.name] = ref
        return self._folders[name]

    def folders(self) -> list[SourceFolder]:
        out: list[SourceFolder] = []
        for spec in self.settings.folders:
            try:
                out.append(SourceFolder(spec, self._folder(spec).name))
            except FolderMissing as exc:
                out.append(SourceFolder(spec, None, exc.detail))
        return out

    def count(self, folder: str) -> int | None:
        ref = self._folder(folder)
        return self.session.call(f"counting {folder!r}", lambda account: folder_lookup.total_count(account, ref))

    def mark_tracked(self, places: Sequence[Place]) -> None:
        """Adds the mailbox's category to each tracked item, keeping its other categories. The mark is for the
        user's eyes: a mailbox that refuses it (a delegate without the Modify right) is logged, not an error that
        would stop the sync; throttling and lost connections stop the folder as anywhere else."""
        category = self.settings.mark_category
        ids = [item_id_of(p) for p in places if p.folder.startswith(PREFIX)]
        if not (category and ids):
            return
        try:
            self.session.call("marking tracked items",
                              lambda account: add_category(account, ids, category, self.settings.fetch_batch_size))
        except TemporaryFailure:
            raise
        except MailError as exc:
            log.warning("%s: tracked items left unmarked: %s", self.settings.address, exc.detail)

    def changes(self, folder: str, cursor: Cursor | None, batch_size: int,
                known: Known | None = None) -> Iterator[SourceBatch]:
        before = None if cursor is None else EwsCursor.read(cursor)
        if before is not None and before.folder != folder:
            raise CursorInvalid(f"the cursor is for folder {before.folder!r}, not {folder!r}")
        ref = self._folder(folder)
        if before is not None and before.folder_id != ref.id:
            raise CursorInvalid(f"folder {folder!r} is not the folder the cursor was made for (made again?)")
        state = before.sync_state if before is not None else None
        limit = min(batch_size, self.settings.max_changes)
        while True:
            page = self.session.call(f"syncing {folder!r}", lambda account, s=state: sync_folder_items(
                account, ref.folder_id, s, limit))
            yield self._batch(ref, page, known)
            state = page.sync_state
            if page.includes_last:
                return

    def _batch(self, ref: FolderRef, page: SyncPage, known: Known | None) -> SourceBatch:
        place = {c.item_id: place_of(ref.name, c.item_id) for c in page.changes}
        seen: set[Place] | None = None
        if known is not None:
            asked = [place[c.item_id] for c in page.changes if c.kind != DELETE]
            seen = set(known(asked)) if asked else set()
        creates: list[ItemChange] = []
        changed: list[ItemChange] = []  # to report as flag changes
        for change in page.changes:
            if change.kind == DELETE:
                continue
            tracked = seen is not None and place[change.item_id] in seen
            if change.kind == CREATE:
                (changed if tracked else creates).append(change)
            elif seen is None or tracked:
                changed.append(change)
        flags = self._flags(changed)
        batch = self.settings.fetch_batch_size
        raw = self.session.call(f"reading {len(creates)} message(s) of {ref.name!r}",
                                lambda account: fetch_mime(account, [c.item_id for c in creates], batch))
        new = tuple(SourceMessage(place[c.item_id], raw[c.item_id], c.state.flags if c.state else frozenset(),
                                  c.state.received if c.state else None)
                    for c in creates if c.item_id in raw)
        return SourceBatch(
            folder=ref.name, new=new,
            flag_changes={place[c.item_id]: flags[c.item_id] for c in changed if c.item_id in flags},
            vanished=tuple(place[c.item_id] for c in page.changes if c.kind == DELETE),
            cursor=EwsCursor(ref.name, ref.id, page.sync_state).to_dict(), full_resync=False, strategy="ews")

    def _flags(self, changed: list[ItemChange]) -> dict[str, Flags]:
        """The flags of changed items: as the change carried them, or read for a ReadFlagChange."""
        flags = {c.item_id: c.state.flags for c in changed if c.state is not None}
        missing = [c.item_id for c in changed if c.kind == READ_FLAG_CHANGE]
        if missing:
            batch = self.settings.fetch_batch_size
            flags.update(self.session.call("reading flags", lambda account: fetch_flags(account, missing, batch)))
        return flags
