"""Exchange Online through Microsoft Graph as a `MailSource`.

Each folder is read with the messages delta query (delta.py); a page's changes become batches: a message the
mailbox has not tracked yet is new (its MIME, `/$value`, fetched with JSON batching),
one it has (the driver says which, `known`) is a flag change (read, flagged), a removed one vanished. Places
are keys, `graph:<folder>:<immutable id>`: a message moved to another synced folder is a new place there,
which dedupe recognises as the same mail. The MIME goes through the same normaliser as IMAP's; Graph's
internetMessageId and conversationId are in it as Message-ID and Thread-Index.

`mark_tracked` gives tracked messages the profile's category (as Dynamics' "Tracked to Dynamics 365"),
keeping their other categories; marking is best effort: a failure is logged, the sync goes on. The driver marks a
batch after committing it, on the thread that reads the source, so a marking never overlaps a download.

Our own marking changes the messages, so the next round of the delta hands every marked message back (Graph's
delta cannot leave out a change by who made it or which property it touched). Such an echo costs its delta pages
and a look-up of the places, nothing more: a known message is a flag change, never downloaded or tracked again,
and pages holding nothing but flag changes are handed over together (`ECHO_FLAGS` at most, one transaction for
the cursor) rather than one batch per page."""

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Self

from mailbridge.errors import FolderMissing, MailError
from mailbridge.sources.base import (
    Capabilities,
    Cursor,
    Flags,
    Known,
    Place,
    SourceBatch,
    SourceFolder,
    SourceMessage,
)
from mailbridge.sources.graph import folders as graph_folders
from mailbridge.sources.graph.auth import TokenProvider
from mailbridge.sources.graph.client import BatchRequest, GraphClient
from mailbridge.sources.graph.delta import Change, DeltaCursor, Page, first_link, pages
from mailbridge.sources.graph.folders import GraphFolder, user_path
from mailbridge.sources.graph.settings import GraphSettings

log = logging.getLogger(__name__)

# Flag changes handed over in one batch at most when a page holds nothing else (our marking's echo): one
# checkpoint per this many instead of one per page; a pass stopped in between reads those pages again, harmlessly.
ECHO_FLAGS = 1000


def place_of(folder: str, message_id: str) -> Place:
    return Place(f"graph:{folder}:{message_id}")


def message_id_of(place: Place) -> str | None:
    kind, _, rest = place.folder.partition(":")
    if kind != "graph":
        return None
    return rest.rpartition(":")[2] or None  # a folder name may hold ":", a Graph id never does


class GraphSource:
    capabilities = Capabilities(flags=True, expunges=True, uidvalidity=False, folders=True)

    def __init__(self, settings: GraphSettings, client: GraphClient | None = None,
                 on_refresh_token: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self._client = client
        self.on_refresh_token = on_refresh_token  # a rotated refresh token (delegated), for the caller to store
        self._folders: dict[str, GraphFolder] = {}
        self._categories: dict[str, tuple[str, ...]] = {}  # message id -> categories, as the delta showed them

    @property
    def client(self) -> GraphClient:
        if self._client is None:
            raise RuntimeError("the Graph source is not open: use it as a context manager")
        return self._client

    def __enter__(self) -> Self:
        if self._client is None:
            self._client = GraphClient(self.settings, TokenProvider(self.settings, self.on_refresh_token))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- folders -----------------------------------------------------------------------------------
    def folders(self) -> list[SourceFolder]:
        out: list[SourceFolder] = []
        for spec in self.settings.folders:
            try:
                folder = graph_folders.resolve(self.client, self.settings.user, spec)
            except FolderMissing as exc:
                out.append(SourceFolder(spec, None, exc.detail))
                continue
            self._folders[folder.name] = folder
            out.append(SourceFolder(spec, folder.name))
        return out

    def _folder(self, name: str) -> GraphFolder:
        if name not in self._folders:
            folder = graph_folders.resolve(self.client, self.settings.user, name)
            self._folders[folder.name] = folder
            self._folders[name] = folder
        return self._folders[name]

    def count(self, folder: str) -> int | None:
        return graph_folders.total(self.client, self.settings.user, self._folder(folder).id)

    # --- changes -----------------------------------------------------------------------------------
    def changes(self, folder: str, cursor: Cursor | None, batch_size: int,
                known: Known | None = None) -> Iterator[SourceBatch]:
        where = self._folder(folder)
        state = DeltaCursor(where.name, where.id, None) if cursor is None else \
            DeltaCursor.read(cursor, where, self.settings.graph_url)
        start = first_link(self.settings.graph_url, self.settings.user, where)
        page_size = max(1, min(self.settings.page_size, 1000))
        emitted = False
        for batch in _echo_merged(self._pages(where.name, state, start, page_size, batch_size, known)):
            emitted = True
            yield batch
        if not emitted:  # a pass yields at least one batch, with the folder's cursor
            yield SourceBatch(where.name, (), {}, (), state.to_dict(), False, "delta")

    def _pages(self, folder: str, state: DeltaCursor, start: str, page_size: int, batch_size: int,
               known: Known | None) -> Iterator[SourceBatch]:
        for page in pages(self.client, state.link or start, start, page_size):
            skip = 0 if page.restarted or page.link != state.link else state.skip
            yield from self._batches(folder, page, skip, batch_size, known, page.next_link is None)

    def _batches(self, folder: str, page: Page, skip: int, batch_size: int, known: Known | None,
                 last: bool) -> Iterator[SourceBatch]:
        changes = page.changes[skip:]
        present = [place_of(folder, c.id) for c in changes if not c.removed]
        seen = set(known(present)) if known is not None and present else set()
        strategy = "delta (read again)" if page.restarted else "delta"
        new: list[Change] = []
        flags: dict[Place, Flags] = {}
        vanished: list[Place] = []
        for position, change in enumerate(changes, start=skip + 1):
            place = place_of(folder, change.id)
            if change.removed:
                vanished.append(place)
                self._categories.pop(change.id, None)
            elif place in seen:
                flags[place] = change.flags
                self._categories[change.id] = change.categories
            else:
                new.append(change)
                self._categories[change.id] = change.categories
            at_end = position == len(page.changes)
            if len(new) == batch_size or at_end:
                if at_end:
                    link = page.next_link or page.delta_link
                    cursor = DeltaCursor(folder, self._folders[folder].id, link, 0)
                else:
                    cursor = DeltaCursor(folder, self._folders[folder].id, page.link, position)
                if new or flags or vanished or (at_end and last):
                    yield SourceBatch(folder, self._fetch(folder, new), flags, tuple(vanished), cursor.to_dict(),
                                      False, strategy)
                new, flags, vanished = [], {}, []
        if not changes and (last or page.next_link):
            link = page.next_link or page.delta_link
            yield SourceBatch(folder, (), {}, (), DeltaCursor(folder, self._folders[folder].id, link).to_dict(),
                              False, strategy)

    def _fetch(self, folder: str, changes: Sequence[Change]) -> tuple[SourceMessage, ...]:
        """The MIME of each new message, in one set of $batch requests; one deleted meanwhile is left out (the
        next round reports its removal)."""
        if not changes:
            return ()
        base = user_path(self.settings.user)
        answers = self.client.batch([BatchRequest(str(i), "GET", f"{base}/messages/{c.id}/$value")
                                     for i, c in enumerate(changes)], "download new messages")
        out: list[SourceMessage] = []
        for i, change in enumerate(changes):
            answer = answers[str(i)]
            if answer.status == 404:
                continue
            if not answer.ok or not isinstance(answer.body, bytes):
                raise MailError(f"Graph did not give the MIME of message {change.id} (HTTP {answer.status})",
                                reason="protocol")
            out.append(SourceMessage(place_of(folder, change.id), answer.body, change.flags, change.received))
        return tuple(out)

    # --- marking -----------------------------------------------------------------------------------
    def mark_tracked(self, places: Sequence[Place]) -> None:
        category = self.settings.mark_category
        if not category or self._client is None:
            return
        base = user_path(self.settings.user)
        requests: list[BatchRequest] = []
        for place in places:
            message_id = message_id_of(place)
            current = self._categories.get(message_id or "", ())
            if message_id is None or category in current:
                continue
            requests.append(BatchRequest(str(len(requests)), "PATCH", f"{base}/messages/{message_id}",
                                         body={"categories": [*current, category]}))
        if not requests:
            return
        try:
            answers = self.client.batch(requests, "mark tracked messages")
        except MailError as exc:
            log.warning("mailbox %s: tracked messages not marked: %s", self.settings.user, exc.detail)
            return
        failed = [a for a in answers.values() if not a.ok]
        if failed:
            log.warning("mailbox %s: %d tracked message(s) not marked (HTTP %s)", self.settings.user, len(failed),
                        ", ".join(sorted({str(a.status) for a in failed})))


def _echo_merged(batches: Iterator[SourceBatch]) -> Iterator[SourceBatch]:
    """The batches, those holding only flag changes merged into the batch after them (up to ECHO_FLAGS): the
    later cursor covers both, and a flag change is a fact, not an action to replay."""
    held: SourceBatch | None = None
    for batch in batches:
        if held is not None:
            batch = replace(batch, flag_changes={**held.flag_changes, **batch.flag_changes})
            held = None
        if not (batch.new or batch.vanished or batch.full_resync) and len(batch.flag_changes) < ECHO_FLAGS:
            held = batch
            continue
        yield batch
    if held is not None:
        yield held
