"""A store in memory: the reference every other store is held to by the contract tests, and the engine's
test double. It keeps a change log so that `changes(cursor)` behaves like a server with sync-collection."""

import itertools
from collections.abc import Iterable, Iterator

from calendar_sync.errors import CursorInvalid, NotFound, PreconditionFailed, ReadOnly
from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import Changes


class MemoryStore:
    def __init__(self, *, read_only: bool = False, incremental: bool = True) -> None:
        self.read_only = read_only
        self.incremental = incremental
        self.items: dict[str, tuple[CalendarItem, str]] = {}
        self._etags = itertools.count(1)
        self._log: list[tuple[int, str]] = []  # (revision, href) of every write and delete
        self._revision = 0
        self.calls: list[str] = []  # which operations ran, for tests that count round trips

    def _touch(self, href: str) -> str:
        self._revision += 1
        self._log.append((self._revision, href))
        return f'"{next(self._etags)}"'

    def list(self) -> Iterator[tuple[str, str]]:
        self.calls.append("list")
        return iter([(href, etag) for href, (_, etag) in self.items.items()])

    def changes(self, cursor: str | None) -> Changes:
        self.calls.append("changes")
        if cursor is None or not self.incremental:
            return Changes(changed={h: e for h, (_, e) in self.items.items()}, complete=True,
                           cursor=str(self._revision) if self.incremental else None)
        try:
            since = int(cursor)
        except ValueError:
            raise CursorInvalid(f"unknown sync token {cursor!r}") from None
        if since > self._revision:
            raise CursorInvalid(f"unknown sync token {cursor!r}")
        touched = {href for revision, href in self._log if revision > since}
        changed = {href: self.items[href][1] for href in touched if href in self.items}
        return Changes(changed=changed, deleted=frozenset(touched - changed.keys()),
                       cursor=str(self._revision), complete=False)

    def get(self, href: str) -> tuple[CalendarItem, str]:
        self.calls.append("get")
        try:
            return self.items[href]
        except KeyError:
            raise NotFound(f"{href} is gone") from None

    def get_many(self, hrefs: Iterable[str]) -> Iterator[tuple[str, CalendarItem, str]]:
        self.calls.append("get_many")
        for href in hrefs:
            if href in self.items:
                item, etag = self.items[href]
                yield href, item, etag

    def upload(self, item: CalendarItem) -> tuple[str, str]:
        self.calls.append("upload")
        self._writable()
        href = f"{item.uid}.ics"
        if href in self.items:
            raise PreconditionFailed(f"{href} exists already")
        etag = self._touch(href)
        self.items[href] = (item, etag)
        return href, etag

    def update(self, href: str, item: CalendarItem, etag: str) -> str:
        self.calls.append("update")
        self._writable()
        self._check(href, etag)
        new = self._touch(href)
        self.items[href] = (item, new)
        return new

    def delete(self, href: str, etag: str) -> None:
        self.calls.append("delete")
        self._writable()
        self._check(href, etag)
        del self.items[href]
        self._touch(href)

    def close(self) -> None:
        return None

    def _writable(self) -> None:
        if self.read_only:
            raise ReadOnly("this calendar is read-only")

    def _check(self, href: str, etag: str) -> None:
        if href not in self.items:
            raise NotFound(f"{href} is gone")
        if self.items[href][1] != etag:
            raise PreconditionFailed(f"{href} changed since it was read")
