"""Response shapes: which properties of an item or a folder an answer carries (BaseShape IdOnly, Default or
AllProperties, plus the AdditionalProperties a client names), written in the schema's element order.

What the fake knows of an item: its id, folder, class, subject, received time, size, categories, attachments
flag, conversation, follow-up flag, MIME content, Message-ID, read state, and two MAPI properties by tag,
PidTagLastVerbExecuted (0x1081, how Exchange's own IMAP server tells \\Answered) and PidTagFlagStatus (0x1090).
A property a client names that the fake does not hold is left out, as Exchange leaves out a property an item
lacks."""

import base64
import datetime as dt
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tests.fakes.ews.mailbox import FakeFolder, FakeItem, FakeMailbox
from tests.fakes.ews.soap import Node, schema_error, t, text_of

LAST_VERB, FLAG_STATUS = 0x1081, 0x1090
ITEM_DEFAULT = frozenset({"item:ItemId", "item:ParentFolderId", "item:ItemClass", "item:Subject",
                          "item:DateTimeReceived", "item:Size", "item:HasAttachments", "message:InternetMessageId",
                          "message:IsRead"})
ITEM_ALL = ITEM_DEFAULT | {"item:Categories", "item:ConversationId", "item:Flag", "message:ConversationIndex",
                           "message:ConversationTopic"}
FOLDER_DEFAULT = frozenset({"folder:FolderId", "folder:DisplayName", "folder:TotalCount", "folder:ChildFolderCount",
                            "folder:UnreadCount"})
FOLDER_ALL = FOLDER_DEFAULT | {"folder:ParentFolderId", "folder:FolderClass"}
BASE_SHAPES = ("IdOnly", "Default", "AllProperties")


@dataclass(frozen=True)
class Shape:
    base: str
    fields: frozenset[str]
    extended: tuple[tuple[int, str], ...]  # (property tag, property type) in the order asked

    @classmethod
    def of(cls, element: Element | None) -> "Shape":
        if element is None:
            raise schema_error("the shape element is missing")
        base = text_of(element.find(t("BaseShape")))
        if base not in BASE_SHAPES:
            raise schema_error(f"BaseShape {base!r} is not one of {', '.join(BASE_SHAPES)}")
        fields: set[str] = set()
        extended: list[tuple[int, str]] = []
        more = element.find(t("AdditionalProperties"))
        for prop in more if more is not None else ():
            if prop.tag == t("FieldURI"):
                fields.add(prop.get("FieldURI", ""))
            elif prop.tag == t("ExtendedFieldURI") and prop.get("PropertyTag"):
                extended.append((int(prop.get("PropertyTag", "0"), 0), prop.get("PropertyType", "")))
        return cls(base, frozenset(fields), tuple(extended))

    def item_fields(self) -> frozenset[str]:
        base = {"IdOnly": frozenset({"item:ItemId"}), "Default": ITEM_DEFAULT, "AllProperties": ITEM_ALL}[self.base]
        return base | self.fields | {"item:ItemId"}

    def folder_fields(self) -> frozenset[str]:
        base = {"IdOnly": frozenset({"folder:FolderId"}), "Default": FOLDER_DEFAULT,
                "AllProperties": FOLDER_ALL}[self.base]
        return base | self.fields | {"folder:FolderId"}


def with_thread_headers(item: FakeItem) -> bytes:
    """The MIME Exchange gives out: the message as stored, with Thread-Topic and Thread-Index (its conversation)
    added when the sender's program did not write them."""
    raw = item.raw
    if b"\nthread-index:" in b"\n" + raw.lower() or not (b"\r\n\r\n" in raw or b"\n\n" in raw):
        return raw
    topic = item.subject.removeprefix("RE: ").removeprefix("Re: ")
    return (f"Thread-Topic: {topic}\r\nThread-Index: {base64.b64encode(item.conversation_index).decode()}\r\n"
            .encode() + raw)


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def item_node(item: FakeItem, shape: Shape) -> Node:
    if item.appointment is not None:  # a calendar item writes itself (calendar.py)
        return item.appointment.node(item, shape)
    fields = shape.item_fields()
    node = Node("t:Message")
    if "item:MimeContent" in fields:
        node.child("t:MimeContent", base64.b64encode(with_thread_headers(item)).decode(), CharacterSet="UTF-8")
    node.child("t:ItemId", Id=item.id, ChangeKey=item.change_key)
    if "item:ParentFolderId" in fields:
        node.child("t:ParentFolderId", Id=item.folder_id, ChangeKey="AQAAAA==")
    if "item:ItemClass" in fields:
        node.child("t:ItemClass", item.item_class)
    if "item:Subject" in fields:
        node.child("t:Subject", item.subject)
    if "item:DateTimeReceived" in fields:
        node.child("t:DateTimeReceived", _time(item.received))
    if "item:Size" in fields:
        node.child("t:Size", str(len(item.raw)))
    if "item:Categories" in fields and item.categories:
        categories = node.child("t:Categories")
        for name in item.categories:
            categories.child("t:String", name)
    if "item:HasAttachments" in fields:
        node.child("t:HasAttachments", "true" if b"content-disposition: attachment" in item.raw.lower() else "false")
    for tag, kind in shape.extended:
        value = {LAST_VERB: item.last_verb, FLAG_STATUS: 2 if item.flagged else None}.get(tag)
        if value is not None:
            prop = node.child("t:ExtendedProperty")
            prop.child("t:ExtendedFieldURI", PropertyTag=f"0x{tag:x}", PropertyType=kind or "Integer")
            prop.child("t:Value", str(value))
    if "item:ConversationId" in fields:
        node.child("t:ConversationId", Id="AAQkA" + base64.b64encode(item.conversation_index[6:22]).decode())
    if "item:Flag" in fields:
        flag = node.child("t:Flag")
        flag.child("t:FlagStatus", "Flagged" if item.flagged else "NotFlagged")
        if item.flagged:
            flag.child("t:StartDate", _time(item.received))
            flag.child("t:DueDate", _time(item.received))
    if "message:ConversationIndex" in fields:
        node.child("t:ConversationIndex", base64.b64encode(item.conversation_index).decode())
    if "message:ConversationTopic" in fields:
        node.child("t:ConversationTopic", item.subject)
    if "message:InternetMessageId" in fields and item.message_id:
        node.child("t:InternetMessageId", item.message_id)
    if "message:IsRead" in fields:
        node.child("t:IsRead", "true" if item.is_read else "false")
    return node


def folder_node(box: FakeMailbox, folder: FakeFolder, shape: Shape) -> Node:
    fields = shape.folder_fields()
    node = Node("t:Folder")
    node.child("t:FolderId", Id=folder.id, ChangeKey=folder.change_key)
    if "folder:ParentFolderId" in fields and folder.parent_id:
        node.child("t:ParentFolderId", Id=folder.parent_id, ChangeKey="AQAAAA==")
    if "folder:FolderClass" in fields:
        node.child("t:FolderClass", "IPF.Appointment" if folder.distinguished == "calendar" else "IPF.Note")
    if "folder:DisplayName" in fields:
        node.child("t:DisplayName", folder.name)
    items = [i for i in box.items.values() if i.folder_id == folder.id]
    if "folder:TotalCount" in fields:
        node.child("t:TotalCount", str(len(items)))
    if "folder:ChildFolderCount" in fields:
        node.child("t:ChildFolderCount", str(len(box.children(folder.id))))
    if "folder:DistinguishedFolderId" in fields and folder.distinguished:
        node.child("t:DistinguishedFolderId", folder.distinguished)
    if "folder:UnreadCount" in fields:
        node.child("t:UnreadCount", str(sum(not i.is_read for i in items)))
    return node
