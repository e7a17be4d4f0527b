"""The EWS operations the source and the transport send, one class each, on exchangelib's services layer: its
SOAP envelope, version negotiation, HTTP path and error parsing, with payloads written here (only the properties
we read) and answers handed back as XML elements, which properties.py and the callers read. Nothing is kept in
a library folder or item object.

Per-item errors exchangelib treats as expected (ErrorItemNotFound, ErrorInvalidIdMalformed...) come back as
exception objects among the elements; `run()` raises the first one unless the caller takes them (`tolerate`)."""

from collections.abc import Iterable, Sequence
from typing import Any

from exchangelib.errors import ErrorAccessDenied, ErrorIrresolvableConflict
from exchangelib.properties import DistinguishedFolderId, FolderId, ItemId, Mailbox
from exchangelib.services.common import EWSAccountService, folder_ids_element, item_ids_element
from exchangelib.services.sync_folder_items import SyncFolderItems
from exchangelib.util import MNS, TNS, add_xml_child, create_element

from mailbridge.sources.ews.properties import STATE_PROPS, Prop

Elements = list[Any]  # lxml elements, or exception objects for tolerated per-item errors


def distinguished(name: str, address: str) -> DistinguishedFolderId:
    """A distinguished folder of this mailbox, the mailbox named as a delegate's request must."""
    return DistinguishedFolderId(id=name, mailbox=Mailbox(email_address=address))


def shape_element(tag: str, props: Sequence[Prop]) -> Any:
    element = create_element(tag)
    add_xml_child(element, "t:BaseShape", "IdOnly")
    if props:
        more = create_element("t:AdditionalProperties")
        for prop in props:
            more.append(prop.path())
        element.append(more)
    return element


class _Operation(EWSAccountService):
    """An operation whose response elements are returned as they are."""

    def _elem_to_obj(self, elem: Any) -> Any:
        return elem

    def run(self, payload: Any, tolerate: bool = False) -> Elements:
        found = list(self._elems_to_objs(self._get_elements(payload=payload)))
        return found if tolerate else _raise_first(found)

    def run_chunked(self, payload_func: Any, items: Sequence[Any], **kwargs: Any) -> Elements:
        return list(self._elems_to_objs(self._chunked_get_elements(payload_func, items=items, **kwargs)))


def _raise_first(found: Elements) -> Elements:
    for element in found:
        if isinstance(element, Exception):
            raise element
    return found


class SyncItems(SyncFolderItems):
    """SyncFolderItems with our ItemShape; the change elements (Create, Update, Delete, ReadFlagChange) as XML.
    exchangelib's service keeps the answer's SyncState and IncludesLastItemInRange on itself; sync.py hands them
    on explicitly."""

    props: Sequence[Prop] = STATE_PROPS

    def _elem_to_obj(self, elem: Any) -> Any:
        return elem

    def get_payload(self, folder: Any, shape: Any, additional_fields: Any, sync_state: str | None, ignore: Any,
                    max_changes_returned: int, sync_scope: str) -> Any:
        payload = create_element("m:SyncFolderItems")
        payload.append(shape_element("m:ItemShape", self.props))
        payload.append(folder_ids_element(folders=[folder], version=self.account.version, tag="m:SyncFolderId"))
        if sync_state:
            add_xml_child(payload, "m:SyncState", sync_state)
        add_xml_child(payload, "m:MaxChangesReturned", max_changes_returned)
        add_xml_child(payload, "m:SyncScope", sync_scope)
        return payload


class GetItems(_Operation):
    SERVICE_NAME = "GetItem"
    element_container_name = f"{{{MNS}}}Items"

    def fetch(self, ids: Iterable[str], props: Sequence[Prop]) -> Elements:
        """Item elements, in batches of `chunk_size`; an item gone meanwhile is an exception object instead."""
        return self.run_chunked(self.get_payload, [ItemId(id=i) for i in ids], props=props)

    def get_payload(self, items: Sequence[ItemId], props: Sequence[Prop]) -> Any:
        payload = create_element("m:GetItem")
        payload.append(shape_element("m:ItemShape", props))
        payload.append(item_ids_element(items=items, version=self.account.version))
        return payload


class SetCategories(_Operation):
    """UpdateItem setting item:Categories of each item to the list given (SaveOnly, AutoResolve). An item this
    login may not change is an exception object among the answers, like one that is gone."""

    SERVICE_NAME = "UpdateItem"
    element_container_name = f"{{{MNS}}}Items"
    ERRORS_TO_CATCH_IN_RESPONSE = (*_Operation.ERRORS_TO_CATCH_IN_RESPONSE, ErrorAccessDenied,
                                   ErrorIrresolvableConflict)

    def update(self, changes: Sequence[tuple[str, str, str | None, Sequence[str]]]) -> Elements:
        """`changes`: (item element's local name, id, change key, categories)."""
        return self.run_chunked(self.get_payload, changes)

    def get_payload(self, items: Sequence[tuple[str, str, str | None, Sequence[str]]]) -> Any:
        payload = create_element("m:UpdateItem", attrs={"MessageDisposition": "SaveOnly",
                                                        "ConflictResolution": "AutoResolve"})
        changes = create_element("m:ItemChanges")
        for kind, item_id, change_key, categories in items:
            change = create_element("t:ItemChange")
            change.append(ItemId(id=item_id, changekey=change_key).to_xml(version=self.account.version))
            updates = create_element("t:Updates")
            setter = create_element("t:SetItemField")
            setter.append(create_element("t:FieldURI", attrs={"FieldURI": "item:Categories"}))
            holder, listed = create_element(f"t:{kind}"), create_element("t:Categories")
            for name in categories:
                add_xml_child(listed, "t:String", name)
            holder.append(listed)
            setter.append(holder)
            updates.append(setter)
            change.append(updates)
            changes.append(change)
        payload.append(changes)
        return payload


class GetFolders(_Operation):
    SERVICE_NAME = "GetFolder"
    element_container_name = f"{{{MNS}}}Folders"

    def get(self, folder: FolderId, props: Sequence[Prop]) -> Any:
        payload = create_element("m:GetFolder")
        payload.append(shape_element("m:FolderShape", props))
        payload.append(folder_ids_element(folders=[folder], version=self.account.version))
        return self.run(payload)[0]


class FindFolders(_Operation):
    """One page of a parent's child folders: the RootFolder element (paging attributes, then t:Folders)."""

    SERVICE_NAME = "FindFolder"
    element_container_name = f"{{{MNS}}}RootFolder"

    @classmethod
    def _get_elements_in_container(cls, container: Any) -> list[Any]:
        return [container]

    def page(self, parent: FolderId, props: Sequence[Prop], offset: int, size: int) -> Any:
        payload = create_element("m:FindFolder", attrs={"Traversal": "Shallow"})
        payload.append(shape_element("m:FolderShape", props))
        payload.append(create_element("m:IndexedPageFolderView", attrs={
            "MaxEntriesReturned": str(size), "Offset": str(offset), "BasePoint": "Beginning"}))
        payload.append(folder_ids_element(folders=[parent], version=self.account.version, tag="m:ParentFolderIds"))
        return self.run(payload)[0]


class SendMime(_Operation):
    """CreateItem of one message from its MIME, sent with MessageDisposition SendAndSaveCopy and the copy saved
    in Sent Items. Recipients beyond the MIME's own headers go in as Bcc."""

    SERVICE_NAME = "CreateItem"
    element_container_name = f"{{{MNS}}}Items"

    def send(self, mime_base64: str, address: str, extra_bcc: Sequence[str]) -> Elements:
        payload = create_element("m:CreateItem", attrs={"MessageDisposition": "SendAndSaveCopy"})
        saved = create_element("m:SavedItemFolderId")
        saved.append(distinguished("sentitems", address).to_xml(version=self.account.version))
        payload.append(saved)
        items, message = create_element("m:Items"), create_element("t:Message")
        mime = create_element("t:MimeContent", attrs={"CharacterSet": "UTF-8"})
        mime.text = mime_base64
        message.append(mime)
        if extra_bcc:
            bcc = create_element("t:BccRecipients")
            for recipient in extra_bcc:
                bcc.append(Mailbox(email_address=recipient).to_xml(version=self.account.version))
            message.append(bcc)
        items.append(message)
        payload.append(items)
        return self.run(payload)


def local_name(element: Any) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


def child(element: Any, name: str) -> Any:
    return element.find(f"{{{TNS}}}{name}")
