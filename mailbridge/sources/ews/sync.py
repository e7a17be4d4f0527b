"""One SyncFolderItems call, explicit: the changes of a folder since a sync state (None: from the beginning), at
most `max_changes` (1 to 512) of them, the new sync state and whether they include the last change
(IncludesLastItemInRange). The caller decides what to do with the state: keep it with the data the changes
produced, and call again with it while the answer is not the last. Nothing is kept between calls."""

from dataclasses import dataclass
from typing import Any

from exchangelib import Account
from exchangelib.properties import FolderId
from exchangelib.util import TNS

from mailbridge.errors import ProtocolError
from mailbridge.sources.ews.operations import SyncItems, local_name
from mailbridge.sources.ews.properties import ItemState, item_id_of, item_state
from mailbridge.sources.ews.settings import MAX_CHANGES

CREATE, UPDATE, READ_FLAG_CHANGE, DELETE = "create", "update", "read_flag_change", "delete"
_KINDS = {"Create": CREATE, "Update": UPDATE, "ReadFlagChange": READ_FLAG_CHANGE, "Delete": DELETE}


@dataclass(frozen=True)
class ItemChange:
    kind: str  # CREATE, UPDATE, READ_FLAG_CHANGE or DELETE
    item_id: str
    state: ItemState | None = None  # CREATE and UPDATE: the item's properties as we asked for them
    is_read: bool | None = None  # READ_FLAG_CHANGE: the new read state


@dataclass(frozen=True)
class SyncPage:
    changes: tuple[ItemChange, ...]
    sync_state: str
    includes_last: bool


def _change(element: Any) -> ItemChange:
    try:
        return _read_change(element)
    except (ValueError, IndexError) as exc:  # found by tests/fuzz: no item element, no ItemId, a bad date or tag
        raise ProtocolError(f"SyncFolderItems answered a change we cannot read: {exc}"[:300]) from exc


def _read_change(element: Any) -> ItemChange:
    kind = _KINDS.get(local_name(element))
    if kind is None:
        raise ProtocolError(f"SyncFolderItems answered an unknown change {local_name(element)!r}")
    if kind in (CREATE, UPDATE):
        state = item_state(element[0])  # the item's element: Message, MeetingRequest, PostItem...
        return ItemChange(kind, state.item_id, state)
    item_id, _ = item_id_of(element)
    if kind == READ_FLAG_CHANGE:
        read = element.find(f"{{{TNS}}}IsRead")
        return ItemChange(kind, item_id, is_read=read is not None and (read.text or "").strip() == "true")
    return ItemChange(kind, item_id)


def sync_folder_items(account: Account, folder: FolderId, sync_state: str | None, max_changes: int) -> SyncPage:
    if not 1 <= max_changes <= MAX_CHANGES:
        raise ValueError(f"MaxChangesReturned must be 1..{MAX_CHANGES}, not {max_changes}")
    service = SyncItems(account=account)
    elements = list(service.call(folder=folder, shape="IdOnly", additional_fields=None, sync_state=sync_state,
                                 ignore=None, max_changes_returned=max_changes, sync_scope="NormalItems"))
    for element in elements:
        if isinstance(element, Exception):
            raise element
    if not service.sync_state:
        raise ProtocolError("SyncFolderItems answered without a SyncState")
    return SyncPage(tuple(_change(e) for e in elements), str(service.sync_state),
                    bool(service.includes_last_item_in_range))
