"""The EWS operations of the calendar store that exchangelib's services do not give as we need them, on its
services layer (its envelope, version, HTTP path and error parsing):

  FindCalendar     one IndexedPageItemView page of the calendar folder's items without a CalendarView, which
                   EWS answers with singles and recurring masters only (ItemId with ChangeKey, the item type)
  SyncCalendar     one explicit SyncFolderItems call: (changes, new SyncState, includes the last)
  CreateCalendar   CreateItem of calendar items in the calendar folder, SendMeetingInvitations="SendToNone": the
                   CRM sends its own invitations, and nothing the sync writes may mail an attendee

GetItem, UpdateItem and DeleteItem are exchangelib's own services, called with SendToNone by the store."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exchangelib import CalendarItem as EwsItem
from exchangelib.items import SAVE_ONLY, SEND_TO_NONE
from exchangelib.properties import DistinguishedFolderId, Mailbox
from exchangelib.services import CreateItem
from exchangelib.services.common import EWSAccountService, folder_ids_element
from exchangelib.util import MNS, TNS, create_element

from mailbridge.errors import ProtocolError
from mailbridge.sources.ews.operations import SyncItems, shape_element
from mailbridge.sources.ews.properties import Prop

ITEM_TYPE = Prop("calendar:CalendarItemType")
CHANGE_KINDS = {"Create": "changed", "Update": "changed", "Delete": "deleted"}


def calendar_folder(address: str) -> DistinguishedFolderId:
    return DistinguishedFolderId(id="calendar", mailbox=Mailbox(email_address=address))


@dataclass(frozen=True)
class Listed:
    item_id: str
    change_key: str
    item_type: str  # Single, RecurringMaster, Occurrence, Exception ("" when not given)


def _listed(element: Any) -> Listed:
    item_id = element.find(f"{{{TNS}}}ItemId")
    if item_id is None:
        raise ProtocolError("EWS answered a calendar item without its ItemId")
    kind = element.find(f"{{{TNS}}}CalendarItemType")
    return Listed(item_id.get("Id"), item_id.get("ChangeKey") or "", (kind.text or "") if kind is not None else "")


class FindCalendar(EWSAccountService):
    SERVICE_NAME = "FindItem"
    element_container_name = f"{{{MNS}}}RootFolder"

    def _elem_to_obj(self, elem: Any) -> Any:
        return elem

    @classmethod
    def _get_elements_in_container(cls, container: Any) -> list[Any]:
        return [container]

    def page(self, folder: DistinguishedFolderId, offset: int, size: int) -> tuple[list[Listed], bool]:
        """One page: the items and whether it is the last."""
        payload = create_element("m:FindItem", attrs={"Traversal": "Shallow"})
        payload.append(shape_element("m:ItemShape", [ITEM_TYPE]))
        payload.append(create_element("m:IndexedPageItemView", attrs={
            "MaxEntriesReturned": str(size), "Offset": str(offset), "BasePoint": "Beginning"}))
        payload.append(folder_ids_element(folders=[folder], version=self.account.version, tag="m:ParentFolderIds"))
        [root] = [e for e in self._elems_to_objs(self._get_elements(payload=payload))]
        if isinstance(root, Exception):
            raise root
        found = root.find(f"{{{TNS}}}Items")
        listed = [_listed(e) for e in (found if found is not None else ())]
        return listed, root.get("IncludesLastItemInRange", "true") == "true"


@dataclass(frozen=True)
class SyncPage:
    changes: tuple[tuple[str, Listed], ...]  # ("changed" or "deleted", the item)
    sync_state: str
    includes_last: bool


class SyncCalendar(SyncItems):
    props = (ITEM_TYPE,)

    def page(self, folder: DistinguishedFolderId, sync_state: str | None, max_changes: int) -> SyncPage:
        elements = list(self.call(folder=folder, shape="IdOnly", additional_fields=None, sync_state=sync_state,
                                  ignore=None, max_changes_returned=max_changes, sync_scope="NormalItems"))
        changes: list[tuple[str, Listed]] = []
        for element in elements:
            if isinstance(element, Exception):
                raise element
            kind = CHANGE_KINDS.get(str(element.tag).rsplit("}", 1)[-1])
            if kind == "changed":
                changes.append((kind, _listed(element[0])))
            elif kind == "deleted":
                item_id = element.find(f"{{{TNS}}}ItemId")
                changes.append((kind, Listed(item_id.get("Id"), "", "")))
            # ReadFlagChange: a calendar item's read state is no calendar change
        if not self.sync_state:
            raise ProtocolError("SyncFolderItems answered without a SyncState")
        return SyncPage(tuple(changes), str(self.sync_state), bool(self.includes_last_item_in_range))


class CreateCalendar(CreateItem):
    def create(self, items: Sequence[EwsItem], address: str) -> list[Any]:
        """(id, change key) per item, or the exception object of one that failed."""
        found = self._elems_to_objs(self._chunked_get_elements(
            self.get_payload, items=items, folder=calendar_folder(address), message_disposition=SAVE_ONLY,
            send_meeting_invitations=SEND_TO_NONE))
        return [r if isinstance(r, Exception) else (r.id, r.changekey) for r in found]
