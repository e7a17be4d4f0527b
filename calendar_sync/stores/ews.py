"""An Exchange calendar through EWS as a CalendarStore, on the mailbox's own EWS session (mailbridge's
EwsSession: its login, TLS, throttling policy and error translation).

  href   the ItemId of the single item or the recurring master
  etag   its ChangeKey. Exchange gives a master and all its occurrences one ChangeKey, and a change of the master
         or of any occurrence changes it (OccurrenceItemIdType.ChangeKey), so a moved or deleted occurrence is a
         new etag of its series without anything added.
  list   FindItem on the calendar folder without a CalendarView: singles and masters, never occurrences
  changes  SyncFolderItems with the stored SyncState as the cursor (None: from scratch, a complete listing); a
         refused state is CursorInvalid (mailbridge's translation of ErrorInvalidSyncStateData). Should an
         occurrence or exception ever be reported, it counts as a change of its master.
  get    GetItem of the master, then of the exceptions its ModifiedOccurrences name; DeletedOccurrences are EXDATEs
  write  CreateItem, then each override as UpdateItem and each EXDATE as DeleteItem on its OccurrenceItemId. An
         update checks the ChangeKey (PreconditionFailed) and writes with ConflictResolution NeverOverwrite, so a
         change between the check and the write is ErrorIrresolvableConflict, PreconditionFailed too. DeleteItem
         ignores a ChangeKey (Exchange does, a known EWS behaviour), so delete checks it first; the item goes to
         Deleted Items. Every write says SendToNone: the sync never mails an attendee.

A series update rewrites the master's pattern and times, which drops its exceptions in Exchange, and writes
every override and EXDATE again: the result is the item given, whatever the exceptions were before."""

from __future__ import annotations  # the class defines `list`, which would shadow the builtin in annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from exchangelib import Account
from exchangelib import CalendarItem as EwsItem
from exchangelib.errors import (
    ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange,
    ErrorCalendarOccurrenceIsDeletedFromRecurrence,
    ErrorInvalidIdMalformed,
    ErrorIrresolvableConflict,
    ErrorItemNotFound,
)
from exchangelib.items import MOVE_TO_DELETED_ITEMS, NEVER_OVERWRITE, SAVE_ONLY, SEND_TO_NONE, SPECIFIED_OCCURRENCE_ONLY
from exchangelib.properties import ItemId, OccurrenceItemId, RecurringMasterItemId
from exchangelib.services import DeleteItem, GetItem, UpdateItem

from calendar_sync.errors import ItemBroken, NotFound, PreconditionFailed
from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import Changes
from calendar_sync.stores.ews_convert import MASTER_WRITES, OVERRIDE_WRITES, plan, read_paths, to_icalendar
from calendar_sync.stores.ews_operations import CreateCalendar, FindCalendar, Listed, SyncCalendar, calendar_folder
from mailbridge.sources.ews.session import EwsSession
from mailbridge.sources.ews.settings import EwsSettings

T = TypeVar("T")
GONE = (ErrorItemNotFound, ErrorInvalidIdMalformed)
PAGE = 200  # FindItem page size
OCCURRENCE_TYPES = ("Occurrence", "Exception")


class EwsCalendarStore:
    read_only = False

    def __init__(self, settings: EwsSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._session = EwsSession(settings, sleep=sleep)
        self._session.open()

    def close(self) -> None:
        self._session.close()

    def _call(self, action: str, step: Callable[[Account], T]) -> T:
        return self._session.call(action, step)

    @property
    def _folder(self) -> Any:
        return calendar_folder(self.settings.address)

    # -- reading ---------------------------------------------------------------------------------------------------
    def list(self) -> Iterator[tuple[str, str]]:
        def step(account: Account) -> list[tuple[str, str]]:
            found, offset = [], 0
            while True:
                page, last = FindCalendar(account=account).page(self._folder, offset, PAGE)
                found.extend((i.item_id, i.change_key) for i in page if i.item_type not in OCCURRENCE_TYPES)
                offset += len(page)
                if last or not page:
                    return found

        return iter(self._call("listing the calendar", step))

    def changes(self, cursor: str | None) -> Changes:
        changed: dict[str, str] = {}
        deleted: set[str] = set()
        state, occurrences = cursor, []
        while True:
            page = self._call("syncing the calendar", lambda account, s=state: SyncCalendar(account=account).page(
                self._folder, s, self.settings.max_changes))
            for kind, listed in page.changes:
                if kind == "deleted":
                    changed.pop(listed.item_id, None)
                    deleted.add(listed.item_id)
                elif listed.item_type in OCCURRENCE_TYPES:
                    occurrences.append(listed)
                else:
                    deleted.discard(listed.item_id)
                    changed[listed.item_id] = listed.change_key
            state = page.sync_state
            if page.includes_last:
                break
        changed.update(self._masters_of(occurrences))
        if cursor is None:  # from scratch: what was created and deleted again within the listing is no news
            return Changes(changed=changed, cursor=state, complete=True)
        return Changes(changed=changed, deleted=frozenset(deleted - changed.keys()), cursor=state, complete=False)

    def _masters_of(self, occurrences: list[Listed]) -> dict[str, str]:
        if not occurrences:
            return {}

        def step(account: Account) -> list[Any]:
            ids = [RecurringMasterItemId(id=o.item_id) for o in occurrences]
            return list(GetItem(account=account).call(items=ids, additional_fields=None, shape="IdOnly"))

        return {m.id: m.changekey for m in self._call("finding series", step) if not isinstance(m, Exception)}

    def get(self, href: str) -> tuple[CalendarItem, str]:
        for _, item, etag in self._read([href]):
            return item, etag
        raise NotFound(f"calendar item {href} is gone")

    def get_many(self, hrefs: Iterable[str]) -> Iterator[tuple[str, CalendarItem, str]]:
        wanted = list(dict.fromkeys(hrefs))
        for start in range(0, len(wanted), self.settings.fetch_batch_size):
            yield from self._read(wanted[start:start + self.settings.fetch_batch_size])

    def _read(self, hrefs: list[str]) -> list[tuple[str, CalendarItem, str]]:
        def step(account: Account) -> list[tuple[str, Any, list[Any]]]:
            masters = list(GetItem(account=account).call(items=[ItemId(id=h) for h in hrefs],
                                                         additional_fields=read_paths(), shape="IdOnly"))
            found = [(h, m) for h, m in zip(hrefs, masters, strict=True) if _present(m)]
            exception_ids = [o.id for _, m in found for o in (m.modified_occurrences or ())]
            fetched = list(GetItem(account=account).call(items=[ItemId(id=i) for i in exception_ids],
                                                         additional_fields=read_paths(), shape="IdOnly")
                           ) if exception_ids else []
            by_id = {e.id: e for e in fetched if _present(e)}
            return [(h, m, [by_id[o.id] for o in (m.modified_occurrences or ()) if o.id in by_id])
                    for h, m in found]

        out = []
        for href, master, exceptions in self._call("reading calendar items", step):
            try:
                item = to_icalendar(master, exceptions)
            except ItemBroken as exc:
                raise ItemBroken(f"calendar item {href}: {exc.detail}", reason=exc.reason) from exc
            out.append((href, item, master.changekey))
        return out

    def _change_key(self, href: str) -> str:
        def step(account: Account) -> str:
            [found] = GetItem(account=account).call(items=[ItemId(id=href)], additional_fields=None, shape="IdOnly")
            if not _present(found):
                raise NotFound(f"calendar item {href} is gone")
            return str(found.changekey)

        return self._call("reading a calendar item", step)

    # -- writing ---------------------------------------------------------------------------------------------------
    def upload(self, item: CalendarItem) -> tuple[str, str]:
        writes = plan(item)

        def step(account: Account) -> Any:
            [created] = CreateCalendar(account=account).create([writes.master], self.settings.address)
            if isinstance(created, Exception):
                raise created
            return created

        href, change_key = self._call("creating a calendar item", step)
        if writes.overrides or writes.deleted:
            change_key = self._occurrences(href, change_key, writes.overrides, writes.deleted)
        return href, change_key

    def update(self, href: str, item: CalendarItem, etag: str) -> str:
        writes = plan(item)
        if self._change_key(href) != etag:
            raise PreconditionFailed(f"calendar item {href} changed since it was read")
        master = writes.master
        master._id = ItemId(id=href, changekey=etag)

        def step(account: Account) -> str:
            master.account = account
            [(_, change_key)] = self._written(lambda: UpdateItem(account=account).call(
                items=[(master, list(MASTER_WRITES))], conflict_resolution=NEVER_OVERWRITE,
                message_disposition=SAVE_ONLY, send_meeting_invitations_or_cancellations=SEND_TO_NONE,
                suppress_read_receipts=True), href)
            return str(change_key)

        change_key = self._call("updating a calendar item", step)
        if writes.overrides or writes.deleted:
            change_key = self._occurrences(href, change_key, writes.overrides, writes.deleted)
        return change_key

    def _occurrences(self, href: str, change_key: str, overrides: dict[int, EwsItem], deleted: list[int]) -> str:
        """Writes the overrides and deletes the EXDATE instances of the series `href`; its new ChangeKey."""
        for index, override in sorted(overrides.items()):
            override._id = OccurrenceItemId(id=href, changekey=change_key, instance_index=index)

            def step(account: Account, override: EwsItem = override) -> str:
                override.account = account
                [(_, new_key)] = self._written(lambda: UpdateItem(account=account).call(
                    items=[(override, list(OVERRIDE_WRITES))], conflict_resolution=NEVER_OVERWRITE,
                    message_disposition=SAVE_ONLY, send_meeting_invitations_or_cancellations=SEND_TO_NONE,
                    suppress_read_receipts=True), href)
                return str(new_key)

            change_key = self._call("updating an occurrence", step)
        if deleted:
            ids = [OccurrenceItemId(id=href, changekey=change_key, instance_index=i) for i in sorted(deleted)]
            self._call("deleting occurrences", lambda account: self._written(lambda: DeleteItem(
                account=account).call(items=ids, delete_type=MOVE_TO_DELETED_ITEMS,
                                      send_meeting_cancellations=SEND_TO_NONE,
                                      affected_task_occurrences=SPECIFIED_OCCURRENCE_ONLY,
                                      suppress_read_receipts=True), href))
            change_key = self._change_key(href)  # DeleteItem answers no ChangeKey
        return change_key

    def delete(self, href: str, etag: str) -> None:
        if self._change_key(href) != etag:
            raise PreconditionFailed(f"calendar item {href} changed since it was read")
        self._call("deleting a calendar item", lambda account: self._written(lambda: DeleteItem(
            account=account).call(items=[ItemId(id=href, changekey=etag)], delete_type=MOVE_TO_DELETED_ITEMS,
                                  send_meeting_cancellations=SEND_TO_NONE,
                                  affected_task_occurrences=SPECIFIED_OCCURRENCE_ONLY,
                                  suppress_read_receipts=True), href))

    @staticmethod
    def _written(write: Callable[[], Iterable[Any]], href: str) -> list[Any]:
        """The answers of one write. The errors that say something about the item, whether exchangelib raises
        them or hands them back among the answers, come out as ours; an occurrence deleted already is what a
        deletion wanted."""
        try:
            results = list(write())
        except (ErrorIrresolvableConflict, *GONE, ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange) as exc:
            results = [exc]
        for result in results:
            if isinstance(result, ErrorIrresolvableConflict):
                raise PreconditionFailed(f"calendar item {href} changed while it was written")
            if isinstance(result, GONE):
                raise NotFound(f"calendar item {href} is gone")
            if isinstance(result, ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange):
                raise ItemBroken(f"an override of {href} is not an occurrence of its series",
                                 reason="bad_recurrence_id")
            if isinstance(result, Exception) and not isinstance(result, ErrorCalendarOccurrenceIsDeletedFromRecurrence):
                raise result
        return results


def _present(found: Any) -> bool:
    """A GetItem answer that is an item; gone ones (not found, a malformed id) are not. Other errors raise."""
    if isinstance(found, GONE):
        return False
    if isinstance(found, Exception):
        raise found
    return True
