"""The interface every calendar store implements, in the manner of vdirsyncer's storage: list (href, etag),
get, upload, update and delete with an ETag precondition, plus an incremental `changes(cursor)` for stores
whose server can tell what changed (CalDAV sync-collection, EWS SyncFolderItems, Graph delta).

An item is one calendar object (calendar_sync.items.CalendarItem): all the events of one UID, master and
overridden instances together, whatever the backend keeps them as. A store's href is opaque to the engine.

Errors are calendar_sync.errors': PreconditionFailed when the ETag no longer matches, NotFound when the href
is gone, ReadOnly for a store that cannot be written, CursorInvalid when the server refused the cursor (the
engine then lists everything), TemporaryFailure (with the server's wait hint) and AuthenticationFailed."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from calendar_sync.items import CalendarItem


@dataclass(frozen=True)
class Changes:
    """What changed on the server since a cursor.

    `complete`: `changed` is the whole listing (the store could not or was not asked to give a delta), so
    every href not in it is gone; otherwise only `changed` and `deleted` are news and the rest stands.
    `cursor`: what to pass next time (None: the store has no incremental state)."""

    changed: dict[str, str] = field(default_factory=dict)  # href -> etag
    deleted: frozenset[str] = frozenset()
    cursor: str | None = None
    complete: bool = True


@runtime_checkable
class CalendarStore(Protocol):
    read_only: bool

    def list(self) -> Iterator[tuple[str, str]]:
        """Every item's (href, etag)."""
        ...

    def changes(self, cursor: str | None) -> Changes:
        """Changes since `cursor` (None: a full listing). Stores without a delta return list() as complete."""
        ...

    def get(self, href: str) -> tuple[CalendarItem, str]:
        """One item and its current etag. NotFound when gone."""
        ...

    def get_many(self, hrefs: Iterable[str]) -> Iterator[tuple[str, CalendarItem, str]]:
        """(href, item, etag) for each href that still exists, in any order; gone ones are left out."""
        ...

    def upload(self, item: CalendarItem) -> tuple[str, str]:
        """Creates the item; returns its (href, etag). PreconditionFailed when its UID is already there."""
        ...

    def update(self, href: str, item: CalendarItem, etag: str) -> str:
        """Replaces the item if it is still at `etag`; returns the new etag. PreconditionFailed otherwise."""
        ...

    def delete(self, href: str, etag: str) -> None:
        """Deletes the item if it is still at `etag`. PreconditionFailed otherwise; NotFound when gone."""
        ...

    def close(self) -> None:
        ...


@runtime_checkable
class PreparesWrites(Protocol):
    """A store that can get ready for a pass's writes at once: the engine hands it every item it is about to
    write to it before the first one (the CRM looks up all their addresses in one go rather than item by item)."""

    def prepare(self, items: Iterable[CalendarItem]) -> None:
        ...


class ListingChanges:
    """A mixin for stores with no delta: `changes` is a full listing, `get_many` one `get` at a time."""

    def changes(self, cursor: str | None) -> Changes:
        return Changes(changed=dict(self.list()), complete=True)  # type: ignore[attr-defined]

    def get_many(self, hrefs: Iterable[str]) -> Iterator[tuple[str, CalendarItem, str]]:
        from calendar_sync.errors import NotFound

        for href in hrefs:
            try:
                item, etag = self.get(href)  # type: ignore[attr-defined]
            except NotFound:
                continue
            yield href, item, etag

    def close(self) -> None:
        return None
